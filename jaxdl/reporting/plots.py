"""Figure helpers shared by the experiments (each experiment draws its own figures in experiments/<name>/plots.py).
The backend is the entry point's choice (runtime.configure sets Agg unless MPLBACKEND is given). Every plotting
function here and in the experiments' plots.py takes the file's path first and imports matplotlib itself: importing an
experiment does not import it, and a run's figures are drawn by jaxdl.reporting.drawing's process (summary.Figure).

Every figure labels both axes of every panel (panels that share an axis may label it once), and wherever colour
tells series apart it has a legend or a colour bar; tests/test_figures.py draws each figure and checks both."""

from __future__ import annotations

import math

import numpy as np

from jaxdl.reporting import io


def label(cell) -> str:
    return "-".join(map(str, cell)) if isinstance(cell, tuple) else str(cell)


def median_band(ax, steps, values, label, color=None):
    """Median over models with the 25-75% band. values: [models, records]."""
    q25, med, q75 = np.nanpercentile(values, [25, 50, 75], axis=0)
    (line,) = ax.plot(steps, med, label=label, color=color, lw=1.8)
    ax.fill_between(steps, q25, q75, color=line.get_color(), alpha=0.2, lw=0)


def _plain_number(x: float) -> str:
    """0.2, 300, 1e-05; powers of ten beyond 1e-3..1e4 as 10^k."""
    k = round(math.log10(x))
    if math.isclose(x, 10.0**k, rel_tol=1e-9) and not -3 <= k <= 4:
        return f"$10^{{{k}}}$"
    return f"{x:g}"


def plain_log_formatter():
    """Log-axis tick labels as plain numbers, never matplotlib's default "6×10⁰" on minor ticks. Which ticks get
    a label stays LogFormatter's choice: every decade, and minor ticks only where the axis spans under a decade
    (so a narrow log axis still has several labels)."""
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        def __call__(self, x, pos=None):
            return _plain_number(x) if x > 0 and super().__call__(x, pos) else ""

    return PlainLogFormatter()


def plain_log_ticks(*axes) -> None:
    """Plain-number labels on every log-scaled x or y axis of these Axes (call after setting the scales)."""
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_major_formatter(plain_log_formatter())
                axis.set_minor_formatter(plain_log_formatter())


def boundary_grid(x, size: int = 200):
    """The dense grid a decision-boundary panel is drawn on, around points x [N, 2]: (gx, gy) [size, size] and
    the same points as a float32 [size * size, 2] array to evaluate a model on."""
    lo, hi = x.min(0) - 0.2, x.max(0) + 0.2
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], size), np.linspace(lo[1], hi[1], size))
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


def decision_boundaries(path, panels: dict, x, y, title: str = "") -> None:
    """panels: name -> (P(class 1) on boundary_grid(x)'s points [K], subtitle). x: [N, 2], y: [N]."""
    import matplotlib.pyplot as plt

    n = len(panels)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False, sharex=True, sharey=True,
                             layout="constrained")
    gx, gy, _ = boundary_grid(x)
    for ax, (name, (p, subtitle)) in zip(axes.flat, panels.items(), strict=False):
        p = np.asarray(p).reshape(gx.shape)
        cs = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.75)
        ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.2)
        # Points in the same colour map as the probabilities: class 0 at 0 (blue), class 1 at 1 (red).
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", vmin=0, vmax=1, edgecolors="k", s=14, linewidths=0.4)
        ax.set_title(f"{label(name)}\n{subtitle}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.supxlabel("input x1")
    fig.supylabel("input x2")
    fig.colorbar(cs, ax=axes, shrink=0.8, label="P(class 1); points: their class (0 blue, 1 red)")
    fig.suptitle(title or "Decision boundaries (black line: P = 0.5)")
    io.save_figure(fig, path)
