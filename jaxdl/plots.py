"""Figures shared by the experiments. matplotlib with the Agg backend: no display needed."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxdl import io  # noqa: E402


def _label(cell) -> str:
    return "-".join(map(str, cell)) if isinstance(cell, tuple) else str(cell)


def median_band(ax, steps, values, label, color=None):
    """Median over models with the 25-75% band. values: [models, records]."""
    q25, med, q75 = np.nanpercentile(values, [25, 50, 75], axis=0)
    (line,) = ax.plot(steps, med, label=label, color=color, lw=1.8)
    ax.fill_between(steps, q25, q75, color=line.get_color(), alpha=0.2, lw=0)


def curves(curves_by_cell: dict, max_steps: int, path, title: str = "") -> None:
    """Train accuracy and loss vs iteration; curves_by_cell: cell -> (steps, acc [M, R], loss [M, R])."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.5))
    for cell, (steps, acc, loss) in curves_by_cell.items():
        x = np.maximum(steps, 1)
        median_band(ax_acc, x, 100 * acc, _label(cell))
        median_band(ax_loss, x, loss, _label(cell))
    for ax, name in ((ax_acc, "train accuracy (%)"), (ax_loss, "train loss")):
        ax.set_xscale("log")
        ax.set_xlim(1, max_steps)
        ax.set_xlabel("iteration (log scale)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(title="median, 25-75% band")
    ax_loss.set_yscale("log")
    fig.suptitle(title or "Training curves at each cell's best learning rate")
    io.save_figure(fig, path)


def iteration_distributions(iters_by_cell: dict, max_steps: int, path, title: str = "") -> None:
    """One strip + box per cell of iterations to 100%; censored models drawn at the max as crosses."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = list(iters_by_cell)
    rng = np.random.default_rng(0)
    for i, name in enumerate(names):
        it = np.asarray(iters_by_cell[name], dtype=float)
        censored = it >= max_steps
        jitter = rng.uniform(-0.15, 0.15, size=it.size)
        ax.scatter(i + jitter[~censored], it[~censored], s=10, alpha=0.6)
        if censored.any():
            ax.scatter(i + jitter[censored], it[censored], marker="x", color="k", s=14,
                       label="never reached (censored)" if i == 0 or not ax.get_legend_handles_labels()[0]
                       else None)
        ax.boxplot([it], positions=[i], widths=0.5, showfliers=False)
    ax.set_xticks(range(len(names)), [_label(n) for n in names])
    ax.set_yscale("log")
    ax.set_ylabel("iterations to 100% train accuracy (log)")
    ax.grid(alpha=0.3, axis="y")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.set_title(title or "Iterations to 100% training accuracy, one dot per seed")
    io.save_figure(fig, path)


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
        ax.set_title(f"{_label(name)}\n{subtitle}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.colorbar(cs, ax=axes, shrink=0.8, label="P(class 1)")
    fig.suptitle(title or "Decision boundaries (black line: P = 0.5)")
    io.save_figure(fig, path)
