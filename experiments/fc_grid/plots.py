"""The fc_grid experiment's figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from jaxdl.reporting import io, plots


def curves(curves_by_cell: dict, max_steps: int, path, title: str = "") -> None:
    """Train accuracy and loss vs iteration; curves_by_cell: cell -> (steps, acc [M, R], loss [M, R])."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.5))
    for cell, (steps, acc, loss) in curves_by_cell.items():
        x = np.maximum(steps, 1)
        plots.median_band(ax_acc, x, 100 * acc, plots.label(cell))
        plots.median_band(ax_loss, x, loss, plots.label(cell))
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


def hidden_gradients(by_cell: dict, path, title: str = "") -> None:
    """Hidden-layer gradient norm (log) and share of flat units over training, median and IQR over seeds;
    by_cell: cell -> (steps, grad_norm [M, R], flat [M, R], dead [M, R])."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for cell, (steps, norm, flat, dead) in by_cell.items():
        x = np.maximum(steps, 1)
        for ax, values in zip(axes, (norm, 100 * flat, 100 * dead), strict=True):
            plots.median_band(ax, x, values, plots.label(cell))
    for ax, name in zip(axes, ("hidden-layer gradient norm (log)", "(unit, point) pairs with act'(z) < 0.01 (%)",
                               "units with act'(z) < 0.01 on every point (%)"), strict=True):
        ax.set(xscale="log", xlabel="iteration (log scale)", ylabel=name)
        ax.grid(alpha=0.3)
        ax.legend(title="median, 25-75% band", fontsize=8)
    axes[0].set_yscale("log")
    fig.suptitle(title or "Hidden-layer gradients over training")
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
    ax.set_xticks(range(len(names)), [plots.label(n) for n in names])
    ax.set_yscale("log")
    ax.set_ylabel("iterations to 100% train accuracy (log)")
    ax.grid(alpha=0.3, axis="y")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.set_title(title or "Iterations to 100% training accuracy, one dot per seed")
    io.save_figure(fig, path)
