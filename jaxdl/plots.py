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


def hidden_gradients(by_cell: dict, path, title: str = "") -> None:
    """Hidden-layer gradient norm (log) and share of flat units over training, median and IQR over seeds;
    by_cell: cell -> (steps, grad_norm [M, R], flat [M, R], dead [M, R])."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for cell, (steps, norm, flat, dead) in by_cell.items():
        x = np.maximum(steps, 1)
        for ax, values in zip(axes, (norm, 100 * flat, 100 * dead), strict=True):
            median_band(ax, x, values, _label(cell))
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


def aux_curves(path, lams, record_steps, train_ce, eval_steps, eval_ce, eval_acc, iterations, spike_factor,
               target_acc, censored_at, title) -> None:
    """cnn_aux: train CE (smoothed), held-out CE and accuracy per λ (median band); every seed's held-out CE
    at λ = 0 and the largest λ with spike starts marked; iterations to the target, one line per seed.
    train_ce: [λ, seeds, R]; eval_ce, eval_acc: [λ, seeds, E]; iterations: [λ, seeds]."""
    from jaxdl import curves as curves_lib

    colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(lams)))
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    for i, lam in enumerate(lams):
        label = f"λ = {lam:g}" + (" (no branch)" if lam == 0 else "")
        median_band(axes[0, 0], record_steps, train_ce[i], label, colors[i])
        median_band(axes[0, 1], eval_steps, eval_ce[i], label, colors[i])
        median_band(axes[0, 2], eval_steps, 100 * eval_acc[i], label, colors[i])
    axes[0, 0].set_title("train CE (batch CE, trailing moving median)")
    axes[0, 1].set_title("held-out CE")
    axes[0, 2].set_title("held-out accuracy")
    axes[0, 2].axhline(100 * target_acc, color="k", ls=":", lw=1, label=f"target {target_acc:.0%}")
    lo = np.nanpercentile(100 * eval_acc[:, :, len(eval_steps) // 5:], 1)
    axes[0, 2].set_ylim(max(lo - 1, 0), 100)
    for ax in axes[0, :2]:
        ax.set_yscale("log")
    for ax in axes[0]:
        ax.legend(title="median, 25-75% band", fontsize=8)
    for ax, i in ((axes[1, 0], list(lams).index(0.0)), (axes[1, 1], len(lams) - 1)):
        starts = curves_lib.spike_starts(eval_ce[i], spike_factor)
        for s, curve in enumerate(eval_ce[i]):
            (line,) = ax.plot(eval_steps, curve, lw=0.9, alpha=0.8)
            ax.plot(eval_steps[starts[s]], curve[starts[s]], "v", color=line.get_color(), ms=7)
        ax.set_yscale("log")
        ax.set_title(f"held-out CE, every seed, λ = {lams[i]:g}: {starts.sum() / len(starts):.2f} spikes/run (▼)")
    ax = axes[1, 2]
    for s in range(iterations.shape[1]):
        ax.plot(range(len(lams)), iterations[:, s], "o-", color="0.5", alpha=0.6, ms=4)
    ax.plot(range(len(lams)), np.median(iterations, 1), "s-", color="C3", lw=2.5, ms=8, label="median")
    ax.axhline(censored_at, color="k", ls=":", lw=1, label="never reached (censored)")
    ax.set_xticks(range(len(lams)), [f"λ = {lam:g}" for lam in lams])
    ax.set_title(f"iterations to {target_acc:.0%} held-out accuracy, one line per seed")
    ax.legend(fontsize=8)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    for ax in list(axes[0]) + list(axes[1, :2]):
        ax.set_xlabel("iteration")
    fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    io.save_figure(fig, path)


# -- one sigmoid neuron (experiments/landscape.py) ------------------------------------------------------
_NEURON_COLORS = {"ce": "tab:blue", "l2": "tab:red"}


def neuron_curves(path, z, curves, closed, l2_peak: float) -> None:
    """Loss and dL/dz vs the logit for y = 1 and 0; curves[loss][label] = (loss, grad), closed[loss][label]."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for col, label in enumerate((1, 0)):
        for loss, color in _NEURON_COLORS.items():
            value, grad = curves[loss][label]
            axes[0, col].plot(z, value, color=color, label=f"{loss.upper()} loss")
            axes[1, col].plot(z, grad, color=color, label=f"{loss.upper()}: dL/dz (jax.grad)")
            axes[1, col].plot(z[::100], closed[loss][label][::100], "o", ms=3, color=color, mfc="none",
                              label=f"{loss.upper()}: closed form")
        peak = l2_peak if label == 1 else -l2_peak
        axes[1, col].axvline(peak, color="gray", ls=":", lw=1, label=f"max |dL2/dz| at z = {peak:.2f}")
        axes[0, col].set(title=f"Loss vs logit, label y = {label}", ylabel="loss")
        axes[1, col].set(title=f"Gradient dL/dz, label y = {label}", xlabel="logit z = w·x + b", ylabel="dL/dz")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle("One sigmoid neuron: cross-entropy vs L2 as a function of the logit")
    io.save_figure(fig, path)


def neuron_surfaces(path, axis, grid, minima, grad_tol: float) -> None:
    """Loss and log10 |grad| over the (w, b) grid per loss; grid[loss] = (loss, |grad|), minima[loss] = (w, b)."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 10), sharex=True, sharey=True)
    for col, loss in enumerate(_NEURON_COLORS):
        value, grad_norm = grid[loss]
        p_min = minima[loss]
        panels = ((value, f"{loss.upper()} loss"),
                  (np.log10(np.maximum(grad_norm, 1e-12)), f"log10 |grad {loss.upper()}|"))
        for row, (data, name) in enumerate(panels):
            ax = axes[row, col]
            cs = ax.contourf(axis, axis, data, levels=30, cmap="viridis")
            fig.colorbar(cs, ax=ax, label=name)
            ax.contour(axis, axis, grad_norm, levels=[grad_tol], colors="white", linestyles="--")
            ax.plot(*p_min, "r*", ms=12, label=f"minimum ({p_min[0]:.2f}, {p_min[1]:.2f})")
            ax.plot([], [], "w--", label=f"contour |grad| = {grad_tol:g}")
            ax.set(title=f"{name} over (w, b)", xlabel="weight w", ylabel="bias b")
            ax.legend(fontsize=8, loc="lower left", facecolor="lightgray")
    fig.suptitle("Loss surfaces and gradient norms of one sigmoid neuron")
    io.save_figure(fig, path)


def neuron_paths(path, axis, grid, gd, starts, fixed_steps, far_starts, far_steps, max_steps: int) -> None:
    """GD paths from the fixed starts on each loss surface (gd[loss] = (path [s, T, 2], values)), and the
    random far starts coloured by whether each reached the goal within max_steps."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 7), sharey=True)
    colors = plt.cm.tab10(np.arange(len(starts)))
    for ax, loss in zip(axes, _NEURON_COLORS, strict=True):
        cs = ax.contourf(axis, axis, grid[loss][0], levels=30, cmap="Greys")
        fig.colorbar(cs, ax=ax, label=f"{loss.upper()} loss")
        reached = far_steps[loss] >= 0
        ax.scatter(*far_starts[reached].T, s=12, marker="o", color="tab:green", label="far start: reached")
        ax.scatter(*far_starts[~reached].T, s=18, marker="x", color="tab:red", label="far start: never reached")
        for i, start in enumerate(starts):
            n = fixed_steps[loss][i]
            ax.plot(*gd[loss][0][i].T, "-", color=colors[i], lw=2,
                    label=f"start {start}: {n if n >= 0 else f'> {max_steps}'} steps")
            ax.plot(*gd[loss][0][i, -1], "X", color=colors[i], ms=9, mec="k")
        ax.set(title=f"GD on {loss.upper()} (X: after {max_steps} steps)", xlabel="weight w", ylabel="bias b",
               xlim=(axis[0], axis[-1]), ylim=(axis[0], axis[-1]))
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
                  title="steps to the progress goal", title_fontsize=8)
    fig.suptitle("Gradient-descent paths (the same learning rate for both losses)")
    io.save_figure(fig, path)


# -- convexity probes (experiments/convexity.py) --------------------------------------------------------
def strips(values_by_name: dict, path, ylabel: str, title: str, *, symlog: float | None = None,
           hline: float | None = None, colors: dict | None = None) -> None:
    """One jittered strip of dots per name (e.g. one dot per seed or point); symlog: linear threshold."""
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(values_by_name) + 2), 5))
    rng = np.random.default_rng(0)
    for i, (name, values) in enumerate(values_by_name.items()):
        values = np.asarray(values, float)
        ax.scatter(i + rng.uniform(-0.25, 0.25, values.size), values, s=8, alpha=0.6,
                   color=(colors or {}).get(name))
    if hline is not None:
        ax.axhline(hline, color="k", ls="--", lw=1)
    if symlog is not None:
        ax.set_yscale("symlog", linthresh=symlog)
        if all(np.nanmin(np.asarray(v, float)) >= 0 for v in values_by_name.values()):
            ax.set_ylim(bottom=0)
    ax.set_xticks(range(len(values_by_name)), list(values_by_name), fontsize=8)
    ax.set(ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    io.save_figure(fig, path)


def chord_excess(cells, path) -> None:
    """f minus its chord along each (model, loss) cell's most violating chord: above 0 = not convex."""
    models = list(dict.fromkeys(c["model"] for c in cells))
    loss_names = list(dict.fromkeys(c["loss"] for c in cells))
    fig, axes = plt.subplots(len(models), len(loss_names), figsize=(4.2 * len(loss_names), 3.2 * len(models)),
                             squeeze=False)
    t = np.linspace(0.0, 1.0, 101)
    for c in cells:
        ax = axes[models.index(c["model"]), loss_names.index(c["loss"])]
        f_line = c["_along_chord"]
        ax.plot(t, f_line - ((1 - t) * f_line[0] + t * f_line[-1]),
                color="tab:green" if c["convex_by_probes"] else "tab:red")
        ax.axhline(0, color="k", lw=0.8)
        ax.set(title=f"{c['model']} + {c['loss']}", xlabel="t along chord a -> b", ylabel="f(t) - chord(t)")
        ax.grid(alpha=0.3)
    fig.suptitle("Loss minus its chord along each cell's most violating chord (above 0 = not convex)")
    fig.tight_layout()
    io.save_figure(fig, path)


def config_heatmap(path, rows, lrs, batch_sizes, best_index, title) -> None:
    """mnist_dense: validation accuracy at early stop (mean ± std) and the early-stopping epoch (median,
    range) over lr x batch size. rows: batch-major, each {"best_val" [seeds], "stop" [seeds]}."""
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
        fig.colorbar(im, ax=ax, shrink=0.85)
    fig.suptitle(title + " (red: best)", fontsize=11)
    fig.tight_layout()
    io.save_figure(fig, path)


def config_curves(path, entries, title) -> None:
    """mnist_dense: validation accuracy and loss and train loss by epoch (median band over seeds), each
    run's early-stopping epoch marked. entries: [(label, {"val_acc" [S, E+1], "val_loss" [S, E+1],
    "train_loss" [S, E], "stop" [S]})]."""
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for k, (label, r) in enumerate(entries):
        epochs, color = np.arange(r["val_acc"].shape[1]), f"C{k}"
        median_band(axes[0], epochs[1:], 100 * r["val_acc"][:, 1:], label, color)
        median_band(axes[1], epochs[1:], r["val_loss"][:, 1:], label, color)
        median_band(axes[2], epochs[1:], r["train_loss"], label, color)
        axes[0].plot(r["stop"], 100 * r["val_acc"][np.arange(len(r["stop"])), r["stop"]], "v", color=color, ms=6)
    top = np.concatenate([r["val_acc"][:, 1:] for _, r in entries])
    axes[0].set_ylim(100 * np.nanpercentile(top, 2) - 0.5, 100 * np.nanmax(top) + 0.5)
    axes[0].set_title("validation accuracy (%), ▼ each run's early-stopping epoch", fontsize=10)
    axes[1].set_title("validation loss (CE)", fontsize=10)
    axes[2].set_title("training loss (CE, mean over the epoch's batches)", fontsize=10)
    axes[2].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(title="median over seeds, 25-75% band", fontsize=8, title_fontsize=8)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    io.save_figure(fig, path)


# -- model zoo (experiments/svhn_zoo.py) ------------------------------------------------------------------
def zoo_curves(path, rows, title: str) -> None:
    """One panel per model: its training loss (batch CE, trailing mean over ~5% of its run) vs epochs,
    median and range over seeds, on its own axes, so a model that barely moves is as readable as one
    that learns; the panel title carries its test accuracy."""
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
    """Gradient norm per residual block at initialisation, with and without skips (jaxdl.skips.measure)."""
    fig, axes = plt.subplots(1, len(by_model), figsize=(6.5 * len(by_model), 4.5), squeeze=False)
    for ax, (name, r) in zip(axes[0], by_model.items(), strict=True):
        for arm, label, color in (("skip", "with skips", "C0"), ("plain", "without", "C3")):
            v = np.asarray(r[f"grad_norms_{arm}"])
            depth = np.arange(1, v.shape[1] + 1)
            ax.plot(depth, np.median(v, 0), "o-", color=color, label=f"{label} (median)")
            ax.fill_between(depth, v.min(0), v.max(0), color=color, alpha=0.2)
        ax.set(yscale="log", xlabel="residual block (input side -> output side)",
               ylabel="|dL/d block parameters| at init", title=f"{name}: {seeds} seeds, range shaded")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Gradient norm per block at initialisation, batch of {batch} training images")
    fig.tight_layout()
    io.save_figure(fig, path)
