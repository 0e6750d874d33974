"""Figure helpers shared by the experiments (each experiment draws its own figures in experiments/<name>/plots.py).
The backend is the entry point's choice (runtime.configure sets Agg unless MPLBACKEND is given)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from jaxdl.reporting import io


def label(cell) -> str:
    return "-".join(map(str, cell)) if isinstance(cell, tuple) else str(cell)


def median_band(ax, steps, values, label, color=None):
    """Median over models with the 25-75% band. values: [models, records]."""
    q25, med, q75 = np.nanpercentile(values, [25, 50, 75], axis=0)
    (line,) = ax.plot(steps, med, label=label, color=color, lw=1.8)
    ax.fill_between(steps, q25, q75, color=line.get_color(), alpha=0.2, lw=0)


def decision_boundaries(panels: dict, x, y, path, title: str = "") -> None:
    """panels: name -> (predict_proba callable on [K, 2] points, subtitle). x: [N, 2], y: [N]."""
    n = len(panels)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False)
    lo, hi = x.min(0) - 0.2, x.max(0) + 0.2
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    for ax, (name, (predict, subtitle)) in zip(axes.flat, panels.items(), strict=False):
        p = np.asarray(predict(grid)).reshape(gx.shape)
        cs = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.75)
        ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.2)
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=14, linewidths=0.4)
        ax.set_title(f"{label(name)}\n{subtitle}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.colorbar(cs, ax=axes, shrink=0.8, label="P(class 1)")
    fig.suptitle(title or "Decision boundaries (black line: P = 0.5)")
    io.save_figure(fig, path)
