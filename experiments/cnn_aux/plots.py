"""The cnn_aux experiment's figures."""

from __future__ import annotations

import numpy as np

from jaxdl.reporting import io, plots


def aux_curves(path, lams, record_steps, train_ce, eval_steps, eval_ce, eval_acc, iterations, spike_factor,
               target_acc, censored_at, title) -> None:
    """cnn_aux: train CE (smoothed), held-out CE and accuracy per λ (median band); every seed's held-out CE
    at λ = 0 and the largest λ with spike starts marked; iterations to the target, one line per seed.
    train_ce: [λ, seeds, R]; eval_ce, eval_acc: [λ, seeds, E]; iterations: [λ, seeds]."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from jaxdl.analysis import curves as curves_lib

    colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(lams)))
    fig, axes = plt.subplots(2, 3, figsize=(16, 9), layout="constrained")
    for i, lam in enumerate(lams):
        label = f"λ = {lam:g}" + (" (no branch)" if lam == 0 else "")
        plots.median_band(axes[0, 0], record_steps, train_ce[i], label, colors[i])
        plots.median_band(axes[0, 1], eval_steps, eval_ce[i], label, colors[i])
        plots.median_band(axes[0, 2], eval_steps, 100 * eval_acc[i], label, colors[i])
    axes[0, 0].set_title("train CE (batch CE, trailing moving median)")
    axes[0, 1].set_title("held-out CE")
    axes[0, 2].set_title("held-out accuracy")
    axes[0, 2].axhline(100 * target_acc, color="k", ls=":", lw=1, label=f"target {target_acc:.0%}")
    lo = np.nanpercentile(100 * eval_acc[:, :, len(eval_steps) // 5:], 1)
    axes[0, 2].set_ylim(max(lo - 1, 0), 100)
    for ax in axes[0, :2]:
        ax.set_yscale("log")
    for ax, ylabel in zip(axes[0], ("train CE (log)", "held-out CE (log)", "held-out accuracy (%)"), strict=True):
        ax.set_ylabel(ylabel)
        ax.legend(title="median, 25-75% band", fontsize=8)
    # Seed k has the same initial weights and batches at every λ: one colour per seed in both panels, keyed by
    # a colour bar (a legend of 32 seeds at --scale=full would cover the curves).
    seeds = eval_ce.shape[1]
    seed_cmap = plt.get_cmap("turbo", seeds)
    for ax, i in ((axes[1, 0], list(lams).index(0.0)), (axes[1, 1], len(lams) - 1)):
        starts = curves_lib.spike_starts(eval_ce[i], spike_factor)
        for s, curve in enumerate(eval_ce[i]):
            ax.plot(eval_steps, curve, lw=0.9, alpha=0.8, color=seed_cmap(s))
            ax.plot(eval_steps[starts[s]], curve[starts[s]], "v", color=seed_cmap(s), ms=7)
        ax.set_yscale("log")
        ax.set_ylabel("held-out CE (log)")
        ax.set_title(f"held-out CE, every seed, λ = {lams[i]:g}: {starts.sum() / len(starts):.2f} spikes/run (▼)")
    seed_key = plt.cm.ScalarMappable(plt.Normalize(-0.5, seeds - 0.5), seed_cmap)
    bar = fig.colorbar(seed_key, ax=list(axes[1, :2]), location="bottom", shrink=0.5, aspect=40,
                       label="seed (the same initial weights and batches at every λ)")
    bar.ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax = axes[1, 2]
    for s in range(iterations.shape[1]):
        ax.plot(range(len(lams)), iterations[:, s], "o-", color="0.5", alpha=0.6, ms=4)
    ax.plot(range(len(lams)), np.median(iterations, 1), "s-", color="C3", lw=2.5, ms=8, label="median")
    ax.axhline(censored_at, color="k", ls=":", lw=1, label="never reached (censored)")
    ax.set_xticks(range(len(lams)), [f"{lam:g}" for lam in lams])
    ax.set(xlabel="λ (weight of the auxiliary L2 loss)", ylabel=f"iterations to {target_acc:.0%} held-out acc")
    ax.set_title(f"iterations to {target_acc:.0%} held-out accuracy, one line per seed")
    ax.legend(fontsize=8)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    for ax in list(axes[0]) + list(axes[1, :2]):
        ax.set_xlabel("iteration")
    plots.plain_log_ticks(*axes.flat)
    fig.suptitle(title, fontsize=13)
    io.save_figure(fig, path)
