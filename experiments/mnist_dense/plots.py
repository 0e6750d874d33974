"""The mnist_dense experiment's figures."""

from __future__ import annotations

import numpy as np

from jaxdl.reporting import io, plots


def config_heatmap(path, rows, lrs, batch_sizes, best_index, title) -> None:
    """mnist_dense: validation accuracy at early stop (mean ± std) and the early-stopping epoch (median,
    range) over lr x batch size. rows: batch-major, each {"best_val" [seeds], "stop" [seeds]}."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    cell = lambda fn: np.array([[fn(rows[b * len(lrs) + i]) for b in range(len(batch_sizes))]  # noqa: E731
                                for i in range(len(lrs))])
    acc_mean = cell(lambda r: 100 * np.mean(r["best_val"]))
    acc_std = cell(lambda r: 100 * np.std(r["best_val"], ddof=1))
    ep_med, ep_lo, ep_hi = (cell(lambda r, f=f: f(r["stop"])) for f in (np.median, np.min, np.max))  # noqa: B023
    width = 2.2 + 1.5 * len(batch_sizes)
    fig, axes = plt.subplots(1, 2, figsize=(2 * width + 1, 1.0 + 0.75 * len(lrs)))
    best_i, best_b = best_index % len(lrs), best_index // len(lrs)
    panels = ((axes[0], acc_mean, "viridis", "validation accuracy (%) at early stop, mean ± std",
               lambda i, b: f"{acc_mean[i, b]:.2f}\n± {acc_std[i, b]:.2f}"),
              (axes[1], ep_med, "magma", "early-stopping epoch, median (range)",
               lambda i, b: f"{ep_med[i, b]:g}\n({ep_lo[i, b]:.0f}-{ep_hi[i, b]:.0f})"))
    for ax, values, cmap, label, text in panels:
        # Accuracy from the grid's worst (at most 10 points below the best) so small gaps stay visible.
        vmin = max(np.nanmin(values), np.nanmax(values) - 10) if values is acc_mean else 0
        im = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto", vmin=vmin, vmax=np.nanmax(values))
        for i in range(len(lrs)):
            for b in range(len(batch_sizes)):
                ax.text(b, i, text(i, b), ha="center", va="center", fontsize=9,
                        color="white" if im.norm(values[i, b]) < 0.55 else "black")
        ax.add_patch(Rectangle((best_b - 0.5, best_i - 0.5), 1, 1, fill=False, ec="red", lw=2.5))
        ax.set_xticks(range(len(batch_sizes)), [str(b) for b in batch_sizes])
        ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
        ax.set_xlabel("batch size")
        ax.set_ylabel("learning rate")
        ax.set_title(label, fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.85, label=label.split(",")[0])
    fig.suptitle(title + " (red: best)", fontsize=11)
    fig.tight_layout()
    io.save_figure(fig, path)


def config_curves(path, entries, title) -> None:
    """mnist_dense: validation accuracy and loss and train loss by epoch (median band over seeds), each
    run's early-stopping epoch marked. entries: [(label, {"val_acc" [S, E+1], "val_loss" [S, E+1],
    "train_loss" [S, E], "stop" [S]})]."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for k, (label, r) in enumerate(entries):
        epochs, color = np.arange(r["val_acc"].shape[1]), f"C{k}"
        plots.median_band(axes[0], epochs[1:], 100 * r["val_acc"][:, 1:], label, color)
        plots.median_band(axes[1], epochs[1:], r["val_loss"][:, 1:], label, color)
        plots.median_band(axes[2], epochs[1:], r["train_loss"], label, color)
        axes[0].plot(r["stop"], 100 * r["val_acc"][np.arange(len(r["stop"])), r["stop"]], "v", color=color, ms=6)
    top = np.concatenate([r["val_acc"][:, 1:] for _, r in entries])
    axes[0].set_ylim(100 * np.nanpercentile(top, 2) - 0.5, 100 * np.nanmax(top) + 0.5)
    axes[0].set_title("validation accuracy (%), ▼ each run's early-stopping epoch", fontsize=10)
    axes[1].set_title("validation loss (CE)", fontsize=10)
    axes[2].set_title("training loss (CE, mean over the epoch's batches)", fontsize=10)
    axes[2].set_yscale("log")
    plots.plain_log_ticks(axes[2])
    for ax, ylabel in zip(axes, ("validation accuracy (%)", "validation CE", "training CE (log)"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(title="median over seeds, 25-75% band", fontsize=8, title_fontsize=8)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    io.save_figure(fig, path)
