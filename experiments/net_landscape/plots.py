"""Figures of experiments.net_landscape: 1-D curves (interpolation and filter-normalised) per family, and per
family the 2-D surfaces of one seed, arms side by side on shared colour scales."""

from __future__ import annotations

import numpy as np

from jaxdl.reporting import io
from jaxdl.reporting.plots import median_band

_TITLES = {"fc": "FC grid (2-16-1 MLP)", "cnn": "cnn_aux CNN", "resnet": "ResNet (BN)"}


def lines(path, fams, kind: str) -> None:
    """One panel per family, every arm's median (25-75% band over seeds) loss curve, log scale.
    kind "interp": along θ0 + t (θ1 - θ0); kind "surface": the β = 0 row of the 2-D surface (1-D, filter-
    normalised). fams: [(family name, arms, seeds per arm, {"t", "interp", "axis", "row": the surface's
    β = 0 row [models, points]})]."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(fams), figsize=(5.2 * len(fams), 4.2), squeeze=False)
    for ax, (family, arms, seeds, p) in zip(axes[0], fams, strict=True):
        if kind == "interp":
            x, y = p["t"], p["interp"]
            for v, name in ((0, "θ0 (init)"), (1, "θ1 (trained)")):
                ax.axvline(v, color="gray", lw=0.8, ls=":")
                ax.annotate(name, (v, 1.0), xycoords=("data", "axes fraction"), fontsize=7, ha="center", va="bottom")
            xlabel = "t: weights θ0 + t (θ1 - θ0)"
        else:
            x, y = p["axis"], p["row"]
            ax.axvline(0, color="gray", lw=0.8, ls=":")
            xlabel = "α: weights θ1 + α d1 (filter-normalised)"
        for a, arm in enumerate(arms):
            median_band(ax, x, np.maximum(y[a * seeds:(a + 1) * seeds], 1e-8), arm, f"C{a}")
        ax.set(yscale="log", xlabel=xlabel, ylabel="loss on the evaluation set (log)", title=_TITLES[family])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Loss along the line from initial to trained weights (Goodfellow et al.)" if kind == "interp"
                 else "Loss along one filter-normalised random direction (Li et al.), median and 25-75% over seeds")
    fig.tight_layout()
    io.save_figure(fig, path)


def surfaces(path, family: str, arms, axis, surface, grad_norm, plane_ratio, ratio_axis, ratio, grad_tol: float,
             ratio_tol: float, which: str) -> None:
    """Rows: log10 loss contours; log10 |grad L| (where recorded); λmin/|λmax| of the Hessian in the plane
    (finite differences); Li et al.'s Lanczos map (where computed). One column per arm, each row on one colour
    scale with its colour bar. surface, grad_norm [arms, N, N]; plane_ratio [arms, N-2, N-2]; ratio [arms, K, K]."""
    import matplotlib.pyplot as plt

    rows = [("log10 loss", np.log10(np.maximum(surface, 1e-8)), axis, "viridis", None)]
    if grad_norm is not None:
        rows.append(("log10 |grad L|", np.log10(np.maximum(grad_norm, 1e-12)), axis, "magma", np.log10(grad_tol)))
    rows.append(("λmin/|λmax| (plane)", np.clip(plane_ratio, -1, 1), axis[1:-1], "coolwarm_r",
                 -ratio_tol))
    if ratio is not None:
        rows.append(("λmin/|λmax| (Lanczos)", np.clip(ratio, -1, 1), ratio_axis, "coolwarm_r",
                     -ratio_tol))
    fig, axes = plt.subplots(len(rows), len(arms), figsize=(3.9 * len(arms) + 1.2, 3.4 * len(rows)), squeeze=False,
                             layout="constrained")
    for r, (name, values, ax_values, cmap, line) in enumerate(rows):
        ratio_row = name.startswith("λmin")
        lo, hi = (-1.0, 1.0) if ratio_row else (float(np.nanmin(values)), float(np.nanmax(values)))
        levels = np.linspace(lo, hi if hi > lo else lo + 1e-6, 21)
        for a, arm in enumerate(arms):
            ax = axes[r, a]
            cs = ax.contourf(ax_values, ax_values, values[a], levels=levels, cmap=cmap, extend="neither")
            if line is not None and np.nanmin(values[a]) < line < np.nanmax(values[a]):
                ax.contour(ax_values, ax_values, values[a], levels=[line], colors="k", linewidths=0.8)
            ax.plot(0, 0, "w*", ms=9, mec="k")
            ax.set(xlabel="α (direction d1)", ylabel="β (direction d2)", title=f"{arm}" if r == 0 else None)
        label = name + (f" (black: {line:.3g})" if line is not None else "")
        fig.colorbar(cs, ax=axes[r].tolist(), label=label, shrink=0.9)
    fig.suptitle(f"{_TITLES[family]}: landscape around the trained weights (★), {which}\n"
                 "filter-normalised directions shared across arms")
    io.save_figure(fig, path)
