"""The svhn_zoo experiment's figures."""

from __future__ import annotations

import numpy as np

from jaxdl.reporting import io, plots


def zoo_curves(path, rows, title: str) -> None:
    """One panel per model: its training loss (batch CE, trailing mean over ~5% of its run) vs epochs,
    median and range over seeds, on its own axes, so a model that barely moves is as readable as one
    that learns; the panel title carries its test accuracy."""
    import matplotlib.pyplot as plt

    cols = min(3, len(rows))
    nrows = -(-len(rows) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.4 * nrows), squeeze=False)
    for ax, r in zip(axes.flat, rows, strict=False):
        hist = np.asarray(r["loss_history"], np.float64)
        k = max(1, hist.shape[1] // 20)
        smooth = np.array([np.convolve(h, np.ones(k) / k, mode="valid") for h in hist])
        epochs = r["epochs"] * (np.arange(hist.shape[1]) + 1) / hist.shape[1]
        x = epochs[k - 1:]
        ax.plot(x, np.median(smooth, 0), color="C0", lw=1.8)
        ax.fill_between(x, smooth.min(0), smooth.max(0), color="C0", alpha=0.25, lw=0)
        ax.axhline(np.log(10), color="k", ls=":", lw=1, label="chance (ln 10)")
        acc = 100 * np.asarray(r["test_acc"]["per_seed"])
        ax.set(title=f"{r['model']}: test {acc.mean():.1f}% ({len(acc)} seeds)", xlabel="epochs",
               ylabel="training CE (smoothed)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.flat[len(rows):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    io.save_figure(fig, path)


def block_norms(path, by_model: dict, seeds: int, batch: int) -> None:
    """Gradient norm per residual block at initialisation, with and without skips (skips.measure)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(by_model), figsize=(6.5 * len(by_model), 4.5), squeeze=False)
    for ax, (name, r) in zip(axes[0], by_model.items(), strict=True):
        for arm, label, color in (("skip", "with skips", "C0"), ("plain", "without", "C3")):
            v = np.asarray(r[f"grad_norms_{arm}"])
            depth = np.arange(1, v.shape[1] + 1)
            ax.plot(depth, np.median(v, 0), "o-", color=color, label=f"{label} (median)")
            ax.fill_between(depth, v.min(0), v.max(0), color=color, alpha=0.2)
        ax.set(yscale="log", xlabel="residual block (input side -> output side)",
               ylabel="|dL/d block parameters| at init (log)", title=f"{name}: {seeds} seeds, range shaded")
        plots.plain_log_ticks(ax)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # blocks are whole numbers
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Gradient norm per block at initialisation, batch of {batch} training images")
    fig.tight_layout()
    io.save_figure(fig, path)
