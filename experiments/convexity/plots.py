"""The convexity experiment's figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from jaxdl.reporting import io


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
