"""The fc_grid experiment's figures."""

from __future__ import annotations

import numpy as np

from jaxdl.reporting import io, plots


def curves(path, curves_by_cell: dict, max_steps: int, title: str = "") -> None:
    """Train accuracy and loss vs iteration; curves_by_cell: cell -> (steps, acc [M, R], loss [M, R])."""
    import matplotlib.pyplot as plt

    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for cell, (steps, acc, loss) in curves_by_cell.items():
        x = np.maximum(steps, 1)
        plots.median_band(ax_acc, x, 100 * acc, plots.label(cell))
        plots.median_band(ax_loss, x, loss, plots.label(cell))
    for ax, name in ((ax_acc, "train accuracy (%)"), (ax_loss, "train loss (log)")):
        ax.set_xscale("log")
        ax.set_xlim(1, max_steps)
        ax.set_xlabel("iteration (log scale)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(title="median, 25-75% band")
    ax_loss.set_yscale("log")
    plots.plain_log_ticks(ax_acc, ax_loss)
    fig.suptitle(title or "Training curves at each cell's best learning rate")
    io.save_figure(fig, path)


def hidden_gradients(path, by_cell: dict, title: str = "") -> None:
    """Hidden-layer gradient norm (log) and share of flat and of dead units over training, median and IQR over
    seeds; by_cell: cell -> (steps, grad_norm [M, R], flat [M, R], dead [M, R]). Shares on a 0-100% axis."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), layout="constrained")
    for cell, (steps, norm, flat, dead) in by_cell.items():
        x = np.maximum(steps, 1)
        for ax, values in zip(axes, (norm, 100 * flat, 100 * dead), strict=True):
            plots.median_band(ax, x, values, plots.label(cell))
    for ax, name in zip(axes, ("hidden-layer gradient norm (log)", "(unit, point) pairs with act'(z) < 0.01 (%)",
                               "dead units: act'(z) < 0.01 on every point (%)"), strict=True):
        ax.set(xscale="log", xlabel="iteration (log scale)", ylabel=name)
        ax.grid(alpha=0.3)
        ax.legend(title="median, 25-75% band", fontsize=8)
    axes[0].set_yscale("log")
    for ax in axes[1:]:
        ax.set_ylim(-2, 102)
    if not any(np.nanmax(dead) > 0 for *_, dead in by_cell.values()):
        axes[2].text(0.5, 0.5, "no dead unit in any cell, seed or record (0% throughout)", transform=axes[2].transAxes,
                     ha="center", va="center", fontsize=10, bbox={"facecolor": "white", "edgecolor": "0.7"})
    plots.plain_log_ticks(*axes)
    fig.suptitle(title or "Hidden-layer gradients over training")
    io.save_figure(fig, path)


def iteration_distributions(path, iters_by_cell: dict, max_steps: int, title: str = "") -> None:
    """One strip + box per cell of iterations to 100%; censored models drawn at the max as crosses."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    names = list(iters_by_cell)
    rng = np.random.default_rng(0)
    for i, name in enumerate(names):
        it = np.asarray(iters_by_cell[name], dtype=float)
        censored = it >= max_steps
        jitter = rng.uniform(-0.15, 0.15, size=it.size)
        # One colour: the cell is on the x axis.
        ax.scatter(i + jitter[~censored], it[~censored], s=10, alpha=0.6, color="C0",
                   label="one seed" if i == 0 else None)
        if censored.any():
            ax.scatter(i + jitter[censored], it[censored], marker="x", color="k", s=14,
                       label="never reached (censored)" if "never reached (censored)" not in
                       ax.get_legend_handles_labels()[1] else None)
        ax.boxplot([it], positions=[i], widths=0.5, showfliers=False, medianprops={"color": "k"})
    ax.set_xticks(range(len(names)), [plots.label(n) for n in names])
    ax.set_yscale("log")
    plots.plain_log_ticks(ax)
    ax.set_xlabel("cell (activation-loss)")
    ax.set_ylabel("iterations to 100% train accuracy (log)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, title="box: median, quartiles", title_fontsize=8)
    ax.set_title(title or "Iterations to 100% training accuracy, one dot per seed")
    io.save_figure(fig, path)
