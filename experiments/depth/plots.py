"""Figures of experiments.depth: per-layer gradient norms over training (depth x activation heatmaps),
plain vs residual training curves and first/last block gradient ratios."""

from __future__ import annotations

import numpy as np

from jaxdl.reporting import io
from jaxdl.reporting.plots import median_band, plain_log_ticks


def layer_heatmaps(path, by_depth: dict, arms) -> None:
    """One panel per (depth, arm): log10 of the median (over seeds, at the arm's best lr) gradient norm of
    each hidden layer (rows, input side at the bottom) at each record step (columns). by_depth: depth ->
    {"layer_norms": log10 norms [arms, lrs, seeds, records, layers], "best": [arms], "steps": [records]}."""
    import matplotlib.pyplot as plt

    depths = list(by_depth)
    fig, axes = plt.subplots(len(depths), len(arms), figsize=(3.6 * len(arms), 1.0 + 1.9 * len(depths)),
                             squeeze=False, sharex=True, layout="constrained")
    for row, d in zip(axes, depths, strict=True):
        mm = by_depth[d]
        for a, ax in enumerate(row):
            grid = np.nanmedian(mm["layer_norms"][a, mm["best"][a]], axis=0).T  # [layers, records]
            steps = mm["steps"]
            im = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis", vmin=-12, vmax=1,
                           extent=(steps[0], steps[-1], 0.5, d + 0.5), interpolation="nearest")
            if d == depths[0]:
                ax.set_title(f"{arms[a][0]}\n({arms[a][1]})", fontsize=10)
            if a == 0:
                ax.set_ylabel(f"{d} layers: layer")
            if d == depths[-1]:
                ax.set_xlabel("step")
    fig.colorbar(im, ax=axes, label="log10 |dL/d layer|, median over seeds (clipped to [-12, 1])", shrink=0.6)
    fig.suptitle("Per-layer gradient norm through training, each arm at its best lr (input layer at the bottom)")
    io.save_figure(fig, path)


def _plain_vs_residual(by: dict, norms, depths, key: str, ylabel: str, title: str, **axes_kw):
    """by[norm, depth][key] (median and IQR over seeds), plain vs residual, one panel per (norm, depth)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(norms), len(depths), figsize=(4.5 * len(depths), 3.6 * len(norms)), squeeze=False)
    for row, norm in zip(axes, norms, strict=True):
        for ax, d in zip(row, depths, strict=True):
            m = by[norm, d]
            for arm, label, color in ((0, "plain", "C3"), (1, "residual", "C0")):
                median_band(ax, m["steps"], m[key][arm], label, color)
            ax.set(title=f"{d} layers, {'BN' if norm == 'bn' else 'no BN'}", xlabel="step", ylabel=ylabel, **axes_kw)
            plain_log_ticks(ax)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig, axes


def resnet_curves(path, by: dict, norms, depths) -> None:
    """Training loss (median and IQR over seeds), plain vs residual, one panel per (norm, depth)."""
    fig, _ = _plain_vs_residual(by, norms, depths, "curve", "batch CE (log)",
                                "Training loss, plain vs residual (median, 25-75% band over seeds)", yscale="log")
    io.save_figure(fig, path)


def resnet_ratios(path, by: dict, norms, depths) -> None:
    """log10(first / last block gradient norm) over training, plain vs residual, one panel per (norm, depth)."""
    fig, axes = _plain_vs_residual(by, norms, depths, "ratio_curve", "log10 first/last block grad",
                                   "First block's gradient norm over the last block's (below 0: the early blocks' "
                                   "gradient is smaller)")
    for ax in axes.flat:
        ax.axhline(0, color="k", lw=0.8)
    io.save_figure(fig, path)
