"""Every figure of every experiment, drawn from small synthetic inputs of the shapes each analyse() passes: every
panel labels its x and y axes (panels sharing an axis may label it once; image panels and colour bars are
exempt), wherever colour tells series apart each colour is keyed by a legend or a colour bar, and no log axis
ticks "6×10⁰". The checks are also run on deliberately bad figures, so they can fail."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex, to_rgb  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from experiments.cnn_aux import plots as cnn_aux  # noqa: E402
from experiments.convexity import plots as convexity  # noqa: E402
from experiments.depth import plots as depth  # noqa: E402
from experiments.fc_grid import plots as fc_grid  # noqa: E402
from experiments.landscape import plots as landscape  # noqa: E402
from experiments.mnist_dense import plots as mnist_dense  # noqa: E402
from experiments.svhn_zoo import plots as svhn_zoo  # noqa: E402
from jaxdl.reporting import io  # noqa: E402
from jaxdl.reporting import plots as shared  # noqa: E402

RNG = np.random.default_rng(0)
CELLS = (("sigmoid", "l2"), ("relu", "ce"))


def _decay(models, records, lo=1e-3):
    """[models, records] positive curves falling from ~2 towards lo."""
    return 2.0 * np.exp(-np.linspace(0, np.log(2 / lo), records))[None] * RNG.uniform(0.7, 1.3, (models, 1))


def fc_grid_figures():
    steps = np.arange(0, 101, 10)
    curves = {c: (steps, RNG.uniform(0.5, 1, (3, 11)), _decay(3, 11)) for c in CELLS}
    diag = {c: (steps, _decay(3, 11), RNG.uniform(0, 0.5, (3, 11)), np.zeros((3, 11))) for c in CELLS}
    iters = {c: np.array([5.0, 30, 100, 100]) for c in CELLS}
    x = RNG.normal(size=(12, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    grid = shared.boundary_grid(x)[2]
    panels = {c: (1 / (1 + np.exp(-grid[:, 0] * grid[:, 1])), "seed 0") for c in CELLS}
    return {"fc_grid/curves": lambda p: fc_grid.curves(p, curves, 100),
            "fc_grid/gradients": lambda p: fc_grid.hidden_gradients(p, diag),
            "fc_grid/iterations": lambda p: fc_grid.iteration_distributions(p, iters, 100),
            "fc_grid/boundaries (and xor)": lambda p: shared.decision_boundaries(p, panels, x, y)}


def cnn_aux_figures():
    lams, seeds = [0.0, 0.1, 1.0], 3
    record_steps, eval_steps = np.arange(0, 50, 5), np.arange(0, 50, 10)
    train_ce = np.stack([_decay(seeds, 10, 0.1) for _ in lams])
    eval_ce = np.stack([_decay(seeds, 5, 0.1) for _ in lams])
    eval_acc = np.clip(1 - eval_ce / 3, 0, 1)
    iterations = RNG.integers(10, 60, (len(lams), seeds)).astype(float)
    return {"cnn_aux/curves": lambda p: cnn_aux.aux_curves(p, lams, record_steps, train_ce, eval_steps, eval_ce,
                                                           eval_acc, iterations, 1.5, 0.9, 60, "cnn_aux")}


def convexity_figures():
    cells = [{"model": m, "loss": lo, "convex_by_probes": m == "logistic" and lo != "mse",
              "_along_chord": np.sin(np.linspace(0, np.pi, 101)) * (-1 if m == "logistic" else 1)}
             for m in ("logistic", "linear1") for lo in ("ce", "mse")]
    eig = {f"{c['model']}\n{c['loss']}": RNG.choice([1e-5, -1e-11, -0.1], 8) * RNG.uniform(0.5, 2, 8) for c in cells}
    spread = {lo: np.maximum(RNG.uniform(-1, 1, 6) * 0.1, 1e-12) for lo in ("ce", "mse", "mse_logit")}
    acc = {name: RNG.uniform(0.9, 1, 6) for name in eig}
    return {"convexity/min_eigenvalues": lambda p: convexity.min_eigenvalues(p, eig, 1e-9, "min eig"),
            "convexity/chords": lambda p: convexity.chord_excess(p, cells),
            "convexity/gd_spread": lambda p: convexity.strips(p, spread, "excess", "GD", symlog=1e-6, hline=1e-3),
            "convexity/accuracy": lambda p: convexity.strips(p, acc, "test accuracy", "accuracy")}


def depth_figures():
    arms = (("sigmoid", "glorot_uniform"), ("relu", "he_normal"))
    by_depth = {d: {"layer_norms": RNG.uniform(-12, 1, (len(arms), 2, 3, 6, d)), "best": [0, 1],
                    "steps": np.arange(0, 60, 10)} for d in (2, 4)}
    norms, depths = ("bn", "none"), (8, 14)
    by = {(n, d): {"steps": np.arange(0, 60, 10), "curve": np.stack([_decay(3, 6), _decay(3, 6)]),
                   "ratio_curve": RNG.normal(size=(2, 3, 6))} for n in norms for d in depths}
    return {"depth/mlp_gradients": lambda p: depth.layer_heatmaps(p, by_depth, arms),
            "depth/resnet_curves": lambda p: depth.resnet_curves(p, by, norms, depths),
            "depth/resnet_gradients": lambda p: depth.resnet_ratios(p, by, norms, depths)}


def landscape_figures():
    z = np.linspace(-5, 5, 201)
    sig = 1 / (1 + np.exp(-z))
    curves = {"ce": {1: (-np.log(sig), sig - 1), 0: (-np.log(1 - sig), sig)},
              "l2": {1: ((1 - sig) ** 2, -2 * (1 - sig) * sig * (1 - sig)), 0: (sig**2, 2 * sig * sig * (1 - sig))}}
    closed = {loss: {label: curves[loss][label][1] for label in (0, 1)} for loss in curves}
    axis = np.linspace(-4, 4, 21)
    w, b = np.meshgrid(axis, axis)
    grid = {loss: (w**2 + b**2 + k, np.hypot(w, b) + 1e-3) for k, loss in enumerate(("ce", "l2"))}
    minima = {loss: (0.0, 0.0) for loss in grid}
    starts = [(1.0, 1.0), (-2.0, 3.0)]
    gd = {loss: (np.stack([np.linspace(s, (0, 0), 5) for s in starts]), None) for loss in grid}
    fixed = {loss: [3, -1] for loss in grid}
    far = RNG.uniform(-4, 4, (6, 2))
    far_steps = {loss: np.array([3, -1, 5, -1, 2, 2]) for loss in grid}
    return {"landscape/curves": lambda p: landscape.neuron_curves(p, z, curves, closed, 1.3),
            "landscape/surfaces": lambda p: landscape.neuron_surfaces(p, axis, grid, minima, 0.5),
            "landscape/paths": lambda p: landscape.neuron_paths(p, axis, grid, gd, starts, fixed, far, far_steps, 10)}


def mnist_dense_figures():
    lrs, batch_sizes, seeds, epochs = [0.01, 0.1], [32, 128], 3, 4
    rows = [{"best_val": RNG.uniform(0.9, 0.97, seeds), "stop": RNG.integers(1, epochs + 1, seeds)}
            for _ in range(len(lrs) * len(batch_sizes))]
    entry = {"val_acc": RNG.uniform(0.9, 0.97, (seeds, epochs + 1)), "val_loss": _decay(seeds, epochs + 1, 0.2),
             "train_loss": _decay(seeds, epochs, 0.05), "stop": RNG.integers(1, epochs + 1, seeds)}
    return {"mnist_dense/heatmap": lambda p: mnist_dense.config_heatmap(p, rows, lrs, batch_sizes, 1, "heatmap"),
            "mnist_dense/curves": lambda p: mnist_dense.config_curves(p, [("adam", entry), ("sgd", entry)], "curves")}


def svhn_zoo_figures():
    rows = [{"model": m, "loss_history": _decay(2, 40, 0.5), "epochs": 2, "test_acc": {"per_seed": [0.8, 0.85]}}
            for m in ("cnn", "resnet18")]
    by_model = {m: {"grad_norms_skip": RNG.uniform(0.1, 1, (2, 4)), "grad_norms_plain": RNG.uniform(1e-4, 1e-2, (2, 4))}
                for m in ("resnet18", "resnet34")}
    return {"svhn_zoo/curves": lambda p: svhn_zoo.zoo_curves(p, rows, "zoo"),
            "svhn_zoo/skip_gradients": lambda p: svhn_zoo.block_norms(p, by_model, 2, 16)}


FIGURES = {**fc_grid_figures(), **cnn_aux_figures(), **convexity_figures(), **depth_figures(),
           **landscape_figures(), **mnist_dense_figures(), **svhn_zoo_figures()}


# -- the checks ----------------------------------------------------------------------------------------


def _mappables(ax):
    """Colour-mapped artists: images and collections whose colours come from data through a colour map of more
    than one colour (a contour drawn in one fixed colour is not)."""
    return [m for m in [*ax.images, *ax.collections] if m.get_array() is not None and m.get_cmap().N > 1]


def _colorbars(fig):
    return [ax._colorbar for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]  # set by fig.colorbar


def _chromatic(color) -> bool:
    r, g, b = to_rgb(color)
    return max(r, g, b) - min(r, g, b) > 0.05  # black, white and greys are reference lines, not series


def _series_colors(ax) -> set:
    """Colours of the data series: lines and markers, and scatter points drawn in fixed colours."""
    colors = {to_hex(line.get_color()) for line in ax.lines if line.get_visible()}
    for c in ax.collections:
        if isinstance(c, PathCollection) and c.get_array() is None and len(c.get_offsets()):
            colors |= {to_hex(fc, keep_alpha=False) for fc in c.get_facecolors()}
    return {c for c in colors if _chromatic(c)}


def _legend_colors(legend) -> set:
    colors = set()
    for handle in legend.legend_handles:
        if isinstance(handle, Line2D):
            colors |= {to_hex(handle.get_color()), to_hex(handle.get_markerfacecolor())}
        elif isinstance(handle, PathCollection):
            colors |= {to_hex(fc, keep_alpha=False) for fc in handle.get_facecolors()}
        elif hasattr(handle, "get_facecolor"):
            colors.add(to_hex(handle.get_facecolor(), keep_alpha=False))
    return colors


def _labelled(ax, axis: str) -> bool:
    """ax's x (or y) axis has a label, its own or that of an Axes sharing it, or the figure's sup-label."""
    shared = ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()
    sup = getattr(ax.figure, f"_sup{axis}label", None)
    return (any(getattr(a, f"get_{axis}label")() for a in shared.get_siblings(ax))
            or (sup is not None and bool(sup.get_text())))


def figure_problems(fig) -> list[str]:
    """What a reader could not decode in this figure: unlabelled axes, unkeyed colours, '6×10⁰' log ticks."""
    fig.set_dpi(40)  # tiny: the checks read artists and tick labels, not pixels
    fig.canvas.draw()  # tick labels exist only once drawn
    bars = list(_colorbars(fig))
    bar_axes = {id(b.ax) for b in bars}
    bar_colors = {to_hex(c, keep_alpha=False) for b in bars for c in b.cmap(np.linspace(0, 1, b.cmap.N))}
    bar_cmaps = {b.cmap.name for b in bars}
    legend_colors = set().union(*(_legend_colors(lg) for lg in fig.legends))
    series = [(ax, _series_colors(ax)) for ax in fig.axes if id(ax) not in bar_axes]
    # Colour encodes something when the figure draws series in more than one colour (one per panel, too).
    figure_is_coloured = len(set().union(*(colors for _, colors in series))) > 1
    problems = []
    for ax, colors in series:
        name = ax.get_title() or f"axes {fig.axes.index(ax)}"
        if not ax.axison and not ax.has_data():
            continue  # an empty slot of a grid
        if not any(isinstance(im, AxesImage) for im in ax.images):
            problems += [f"{name}: no {axis} label" for axis in "xy" if not _labelled(ax, axis)]
        legend = ax.get_legend()
        keyed = legend_colors | (_legend_colors(legend) if legend else set()) | bar_colors
        if figure_is_coloured and colors - keyed:
            problems.append(f"{name}: colours {sorted(colors - keyed)} in no legend or colour bar")
        for m in _mappables(ax):
            if m.get_cmap().name not in bar_cmaps and legend is None:
                problems.append(f"{name}: colour map {m.get_cmap().name} without a colour bar or legend")
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                ticks = [t.get_text() for t in axis.get_ticklabels(which="both")]
                problems += [f"{name}: log tick {t!r}" for t in ticks if "times" in t or "×" in t]
    return problems


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plots functions hand to io.save_figure, kept open instead of saved."""
    figures = []
    monkeypatch.setattr(io, "save_figure", lambda fig, path: figures.append(fig))
    yield figures
    for fig in figures:
        plt.close(fig)


@pytest.mark.parametrize("name", FIGURES)
def test_figure_is_readable(name, drawn, tmp_path):
    FIGURES[name](tmp_path / "figure.png")
    assert len(drawn) == 1
    assert figure_problems(drawn[0]) == []


def test_fc_grid_dead_share_says_when_it_is_zero_throughout(drawn, tmp_path):
    FIGURES["fc_grid/gradients"](tmp_path / "figure.png")
    dead_share = drawn[0].axes[2]
    assert dead_share.get_ylim()[1] >= 100  # a share on its whole range, not ±0.04 around a flat zero
    assert any("0% throughout" in t.get_text() for t in dead_share.texts)


def test_min_eigenvalues_coloured_by_sign_with_readable_ticks(drawn, tmp_path):
    values = {"logistic\nmse": np.array([1e-5, 2e-5, -0.3]), "linear1\nce": np.array([-1e-11, -0.5])}
    convexity.min_eigenvalues(tmp_path / "figure.png", values, 1e-9, "min eig")
    ax = drawn[0].axes[0]
    assert figure_problems(drawn[0]) == []
    colour_of = {}
    for c in ax.collections:
        faces = np.broadcast_to(c.get_facecolors(), (len(c.get_offsets()), 4))  # one colour for all, or each
        for (_, v), fc in zip(c.get_offsets(), faces, strict=True):
            colour_of[float(v)] = to_hex(fc, keep_alpha=False)
    assert colour_of[1e-5] == colour_of[2e-5] == to_hex("tab:blue")  # positive: not the negative colour
    assert colour_of[-0.3] == colour_of[-0.5] == to_hex("tab:red")
    assert colour_of[-1e-11] not in (to_hex("tab:blue"), to_hex("tab:red"))
    assert len([t for t in ax.get_yticklabels() if t.get_text()]) <= 12


def _bad_figures():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [1, 2], color="C0")
    ax.plot([1, 2], [2, 1], color="C1")  # two coloured series, no legend, no labels
    yield fig, ["no x label", "no y label", "in no legend"]
    fig, axes = plt.subplots(1, 2)
    for ax, color in zip(axes, ("tab:green", "tab:red"), strict=True):  # colour means something across panels
        ax.plot([1, 2], [1, 2], color=color)
        ax.set(xlabel="x", ylabel="y")
    yield fig, ["in no legend"]
    fig, ax = plt.subplots()
    ax.contourf(np.arange(9.0).reshape(3, 3), cmap="viridis")
    ax.set(xlabel="x", ylabel="y")
    yield fig, ["colour map viridis"]
    fig, ax = plt.subplots()
    ax.plot([2, 9], [2, 9])
    ax.set(xscale="log", xlabel="x", ylabel="y")  # under a decade: matplotlib labels minor ticks "3×10⁰"
    yield fig, ["log tick"]


def test_checks_catch_bad_figures():
    for fig, expected in _bad_figures():
        problems = " | ".join(figure_problems(fig))
        plt.close(fig)
        for text in expected:
            assert text in problems, (expected, problems)
