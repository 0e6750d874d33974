"""The landscape experiment's figures."""

from __future__ import annotations

import numpy as np

from jaxdl.reporting import io

_NEURON_COLORS = {"ce": "tab:blue", "l2": "tab:red"}


def neuron_curves(path, z, curves, closed, l2_peak: float) -> None:
    """Loss and dL/dz vs the logit for y = 1 and 0; curves[loss][label] = (loss, grad), closed[loss][label]."""
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt

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
