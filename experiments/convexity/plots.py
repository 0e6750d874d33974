"""The convexity experiment's figures."""

from __future__ import annotations

import math

import numpy as np

from jaxdl.reporting import io

_VERDICT_COLORS = {True: "tab:green", False: "tab:red"}


def _strip_axes(names, ylabel: str, title: str, xlabel: str | None):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names) + 2), 5), layout="constrained")
    ax.set_xticks(range(len(names)), list(names), fontsize=8)
    # Names are "model\nloss" (one strip per cell) or a loss name alone.
    ax.set(xlabel=xlabel or ("model, loss" if all("\n" in n for n in names) else "loss"), ylabel=ylabel,
           title=title)
    ax.grid(alpha=0.3)
    return fig, ax


def _jitter(rng, i: int, n: int):
    return i + rng.uniform(-0.25, 0.25, n)


def _symlog(ax, linthresh: float, lo: float, hi: float) -> None:
    """Symlog y axis labelled at 0 and every third decade (one label per decade crowds the axis: ~24 ticks
    from -1 to 1e-5 with linthresh 1e-12); minor ticks unlabelled."""
    from matplotlib.ticker import LogFormatterSciNotation, NullFormatter, SymmetricalLogLocator

    ax.set_yscale("symlog", linthresh=linthresh)
    ax.yaxis.set_major_locator(SymmetricalLogLocator(linthresh=linthresh, base=1000))
    ax.yaxis.set_major_formatter(LogFormatterSciNotation(base=10, linthresh=linthresh))
    ax.yaxis.set_minor_formatter(NullFormatter())
    pad = lambda v: 0.0 if v == 0 else math.copysign(10 ** (math.log10(abs(v)) + 0.5), v)  # noqa: E731
    ax.set_ylim(min(pad(lo), 0.0), max(pad(hi), 0.0))


def strips(path, values_by_name: dict, ylabel: str, title: str, *, symlog: float | None = None,
           hline: float | None = None, xlabel: str | None = None) -> None:
    """One jittered strip of dots per name (e.g. one dot per seed or point), all in one colour (the name is on
    the x axis); symlog: linear threshold; hline: a dashed reference line."""
    fig, ax = _strip_axes(values_by_name, ylabel, title, xlabel)
    rng = np.random.default_rng(0)
    for i, values in enumerate(values_by_name.values()):
        values = np.asarray(values, float)
        ax.scatter(_jitter(rng, i, values.size), values, s=8, alpha=0.6, color="C0")
    if hline is not None:
        ax.axhline(hline, color="k", ls="--", lw=1, label=f"{hline:g}")
        ax.legend(fontsize=8, title="dashed line", title_fontsize=8)
    if symlog is not None:
        finite = np.concatenate([np.asarray(v, float).ravel() for v in values_by_name.values()])
        finite = finite[np.isfinite(finite)]
        _symlog(ax, symlog, min(finite.min(), hline if hline is not None else 0.0),
                max(finite.max(), hline if hline is not None else 0.0))
    io.save_figure(fig, path)


def min_eigenvalues(path, values_by_name: dict, tol: float, title: str) -> None:
    """Smallest Hessian eigenvalue over the spectral radius, one dot per random point, coloured by its sign at
    the tolerance: >= 0, in [-tol, 0) (zero within tolerance) or < -tol (negative curvature at that point).
    values_by_name: "model\nloss" -> [points]."""
    from matplotlib.lines import Line2D

    fig, ax = _strip_axes(values_by_name, "min eigenvalue / spectral radius (symlog)", title, None)
    rng = np.random.default_rng(0)
    classes = (("tab:blue", "≥ 0", lambda v: v >= 0),
               ("0.55", f"in [-{tol:g}, 0): zero within tolerance", lambda v: (v < 0) & (v >= -tol)),
               ("tab:red", f"< -{tol:g}: negative curvature", lambda v: v < -tol))
    all_values = []
    for i, values in enumerate(values_by_name.values()):
        values = np.asarray(values, float)
        all_values.append(values)
        x = _jitter(rng, i, values.size)
        for color, _, member in classes:
            keep = member(values)
            ax.scatter(x[keep], values[keep], s=8, alpha=0.6, color=color)
    ax.axhline(-tol, color="k", ls="--", lw=1)
    ax.axhline(0, color="k", lw=0.6)
    handles = [Line2D([], [], ls="", marker="o", color=color, label=name) for color, name, _ in classes]
    handles.append(Line2D([], [], ls="--", color="k", lw=1, label=f"-tol = -{tol:g}"))
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1),
              title="each point's min eigenvalue", title_fontsize=8)
    values = np.concatenate(all_values)
    values = values[np.isfinite(values)]
    _symlog(ax, tol * 1e-3, min(values.min(), -tol), max(values.max(), 0.0))
    io.save_figure(fig, path)


def chord_excess(path, cells) -> None:
    """f minus its chord along each (model, loss) cell's most violating chord: above 0 = not convex."""
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(c["model"] for c in cells))
    loss_names = list(dict.fromkeys(c["loss"] for c in cells))
    fig, axes = plt.subplots(len(models), len(loss_names), figsize=(4.2 * len(loss_names), 3.2 * len(models)),
                             squeeze=False, layout="constrained")
    t = np.linspace(0.0, 1.0, 101)
    for c in cells:
        ax = axes[models.index(c["model"]), loss_names.index(c["loss"])]
        f_line = c["_along_chord"]
        convex = bool(c["convex_by_probes"])
        ax.plot(t, f_line - ((1 - t) * f_line[0] + t * f_line[-1]), color=_VERDICT_COLORS[convex],
                label="probes: no violation" if convex else "probes: not convex")
        ax.axhline(0, color="k", lw=0.8)
        ax.set(title=f"{c['model']} + {c['loss']}", xlabel="t along chord a -> b", ylabel="f(t) - chord(t)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Loss minus its chord along each cell's most violating chord (above 0 = not convex)")
    io.save_figure(fig, path)
