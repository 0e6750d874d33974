"""Loss landscape of one sigmoid neuron, p = sigmoid(w*x + b), under cross-entropy (CE) and L2 loss.

Tests seed 000, section 1: "the L2 gradient approaches zero for weights and biases far from
equilibrium", "CE approaches a constant gradient as the loss moves away from equilibrium", "L2 loss has
a sharp valley where weight and bias are equal". L2 = (sigmoid(z) - y)^2, CE = binary cross-entropy,
both from jaxdl.losses; every gradient is `jax.grad`, checked against the closed forms.

- 1-D: loss and dL/dz over z in [-10, 10] for y = 1 and y = 0.
- 2-D: loss and |grad L| over a (w, b) grid for a small 1-D dataset; the valley floor and the Hessian
  at the minimum; gradient descent (same learning rate for both losses) from several starts at once.

Default dataset (--x, --y): x = -2, -1, -0.5, 0.5, 1, 2 with labels 0, 0, 1, 0, 1, 1. The two middle
points overlap, so the data are not separable and both losses have a finite minimum inside the grid.
The first of --starts is the "saturated start" reported in the summary.

Command:  .venv/bin/python -m experiments.landscape --out=results/landscape
Runtime:  6 s on 2 idle CPU cores at default flags (8 s of CPU: JAX start-up, two compiles, three figures).
Expected: autodiff matches dCE/dz = sigmoid(z) - y and dL2/dz = 2(sigmoid(z) - y)sigmoid(z)(1 - sigmoid(z))
          to < 1e-6; the largest |dL2/dz| is 8/27 = 0.296 at z = -ln 2 (y = 1); |dCE/dz| -> 1 on the
          wrong side. |grad L2| < 1e-3 on ~39% of the (w, b) grid (all of it worse than predicting 0.5),
          |grad CE| nowhere; |grad CE| levels off at ~1.27 far from the minimum. From the saturated start
          (-8, 0) CE makes 90% of its achievable decrease in 6 steps, L2 not within 5000.
Outputs:  curves.png, surfaces.png, paths.png, summary.json, summary.md in --out.
"""

from __future__ import annotations

import time
from functools import partial

import jaxdl  # noqa: F401  (sets the host device count before jax starts)

# isort: split
import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from jaxdl import cli, io, losses, provenance

LOSSES = ("ce", "l2")
LABELS = {"ce": "CE", "l2": "L2"}
# Distances from the minimum, towards the saturated start, at which |grad L| is reported.
RAY_DISTANCES = (1.0, 2.0, 5.0, 10.0, 20.0, 40.0)
FLAGS = flags.FLAGS


def closed_form_grad(loss: str, z, y):
    """dL/dz of the per-sample loss at z [n] for labels y [n], from the formulas in the seed's course."""
    s = jax.nn.sigmoid(z)
    return s - y if loss == "ce" else 2 * (s - y) * s * (1 - s)


def curve(loss: str, z: jax.Array, y: float):
    """(loss [n], dL/dz [n]) of one sample with label y at every logit in z [n], by vmapped jax.grad."""
    per_sample = jax.value_and_grad(lambda zi: losses.BINARY_LOSSES[loss](zi, jnp.asarray(y, zi.dtype)))
    return jax.vmap(per_sample)(z)


def neuron_loss(loss: str, params: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean loss of the neuron with params [2] = (w, b) on the dataset x [m], y [m]."""
    return losses.BINARY_LOSSES[loss](params[0] * x + params[1], y)


def surface(loss: str, w: jax.Array, b: jax.Array, x, y):
    """(loss [len(b), len(w)], |grad L| [len(b), len(w)]) over the (w, b) grid; rows are b."""
    value_grad = jax.value_and_grad(lambda p: neuron_loss(loss, p, x, y))
    ww, bb = jnp.meshgrid(w, b)
    value, grad = jax.vmap(value_grad)(jnp.stack([ww.ravel(), bb.ravel()], -1))
    return value.reshape(ww.shape), jnp.linalg.norm(grad, axis=-1).reshape(ww.shape)


def descend(loss: str, starts: jax.Array, x, y, lr: float, steps: int):
    """Full-batch gradient descent from every start [s, 2] at once.

    Returns (path [s, steps + 1, 2], loss [s, steps + 1]); entry t is before step t.
    """
    value_grad = jax.value_and_grad(lambda p: neuron_loss(loss, p, x, y))

    def run(start):
        def step(p, _):
            value, grad = value_grad(p)
            return p - lr * grad, (p, value)

        last, (path, values) = jax.lax.scan(step, start, None, length=steps)
        return jnp.concatenate([path, last[None]]), jnp.concatenate([values, value_grad(last)[0][None]])

    return jax.vmap(run)(starts)


def minimum(loss: str, start: jax.Array, x, y, iters: int = 50):
    """(params [2], loss, Hessian eigenvalues [2]) at the minimum nearest `start`, by Newton's method.

    Started from the grid's best point, which already lies in the minimum's basin; Newton then removes
    the grid's discretisation error so the Hessian is read at the minimum itself.
    """
    f = lambda p: neuron_loss(loss, p, x, y)

    def newton(p, _):
        return p - jnp.linalg.solve(jax.hessian(f)(p), jax.grad(f)(p)), None

    p = jax.lax.scan(newton, start, None, length=iters)[0]
    return p, f(p), jnp.linalg.eigvalsh(jax.hessian(f)(p))


def steps_to_progress(values: np.ndarray, floor: float, fraction: float) -> np.ndarray:
    """[s] first step at which each loss curve values [s, T] has made `fraction` of its possible
    decrease (start -> floor); -1 where it never does."""
    target = values[:, :1] - fraction * (values[:, :1] - floor)
    reached = values <= target
    return np.where(reached.any(1), reached.argmax(1), -1)


def valley_floor(loss_grid: np.ndarray, w: np.ndarray, b: np.ndarray, ceiling: float):
    """Line b = slope * w + intercept through the per-w minimum over b of loss_grid [len(b), len(w)].

    Uses only columns whose minimum is inside the grid and below `ceiling` (the loss of a constant 0.5
    prediction): elsewhere the "floor" is the edge of a plateau, not a valley.
    Returns (slope, intercept, columns used).
    """
    rows = loss_grid.argmin(0)
    inside = (rows > 0) & (rows < len(b) - 1) & (loss_grid.min(0) < ceiling)
    if inside.sum() < 2:
        return float("nan"), float("nan"), int(inside.sum())
    slope, intercept = np.polyfit(w[inside], b[rows[inside]], 1)
    return float(slope), float(intercept), int(inside.sum())


def _pair(text: str) -> tuple[float, float]:
    w, b = text.split(":")
    return float(w), float(b)


def define_flags() -> None:
    # Defined only when run as a program, so tests can import this module's functions next to other
    # experiments without absl duplicate-flag errors.
    flags.DEFINE_string("out", "results/landscape", "Directory for figures and summaries.")
    cli.define_list("x", "0.5,1,1.5,2,2.5,3", "Inputs of the 2-D dataset (one feature each).")
    cli.define_list("y", "0,0,1,0,1,1", "Labels (0 or 1) of the 2-D dataset, one per --x.")
    flags.DEFINE_float("z_limit", 10.0, "1-D curves span z in [-z_limit, z_limit].")
    flags.DEFINE_integer("z_points", 2001, "Points on the 1-D z grid.")
    flags.DEFINE_float("grid_limit", 10.0, "The (w, b) grid spans [-grid_limit, grid_limit]^2.")
    flags.DEFINE_integer("grid_points", 201, "Points per axis of the (w, b) grid.")
    flags.DEFINE_float("grad_tol", 1e-3, "|grad L| below this counts as flat (a stall for GD).")
    cli.define_list("starts", "-8:0,-6:6,6:-8,0:8,3:3", "GD starting points w:b; the first is the "
                    "saturated start of the summary.", cast=_pair, kind="a w:b pair, e.g. -8:0")
    flags.DEFINE_float("lr", 1.0, "Gradient-descent learning rate (the same for both losses).")
    flags.DEFINE_integer("gd_steps", 5000, "Gradient-descent steps per start.")
    flags.DEFINE_float("progress", 0.9, "Convergence = this fraction of the start-to-minimum loss decrease.")
    for name in ("z_points", "grid_points", "gd_steps"):
        cli.positive(name)
    for name in ("z_limit", "grid_limit", "grad_tol", "lr"):
        flags.register_validator(name, lambda v: v > 0, message=f"--{name} must be > 0")
    flags.register_validator("progress", lambda v: 0 < v < 1, message="--progress must be in (0, 1)")
    # Validators get the raw text (flags cannot be read mid-parse); define_list reports malformed items.
    flags.register_validator("y", lambda t: set(t.replace(" ", "").split(",")) <= {"0", "1", "0.0", "1.0"},
                             message="--y: every label must be 0 or 1")
    flags.register_multi_flags_validator(
        ["x", "y"], lambda d: len(d["x"].split(",")) == len(d["y"].split(",")),
        message="--x and --y must have the same number of items (one label per input)")


@partial(jax.jit, static_argnums=(0, 7))
def analyse(loss: str, z, x, y, axis, starts, lr, steps: int) -> dict:
    """Every array for one loss, in one compiled program (op by op it is ~190 small CPU compiles).

    z [n] 1-D grid; x, y [m] dataset; axis [g] grid of w and of b; starts [s, 2].
    """
    out = {"curves": {}, "closed": {}}
    for label in (1, 0):
        out["curves"][label] = curve(loss, z, label)
        out["closed"][label] = closed_form_grad(loss, z, label)
    value, grad_norm = surface(loss, axis, axis, x, y)
    best = jnp.unravel_index(jnp.argmin(value), value.shape)
    p_min, l_min, eig = minimum(loss, jnp.stack([axis[best[1]], axis[best[0]]]), x, y)
    # Along a ray from the minimum towards the saturated start: does |grad L| die out or level off?
    u = (starts[0] - p_min) / jnp.linalg.norm(starts[0] - p_min)
    grad_norm_at = jax.vmap(lambda p: jnp.linalg.norm(jax.grad(neuron_loss, 1)(loss, p, x, y)))
    return out | {
        "grid": (value, grad_norm), "min": (p_min, l_min, eig),
        "gd": descend(loss, starts, x, y, lr, steps),
        "ray": grad_norm_at(p_min + jnp.asarray(RAY_DISTANCES)[:, None] * u),
        "start_grad": grad_norm_at(starts),
        "chance": losses.BINARY_LOSSES[loss](jnp.zeros_like(y), y),  # the loss of predicting 0.5
    }


def compute(cfg: dict) -> dict:
    """Every number and array of the experiment, for the flag values in cfg: {field: {loss: ...}}."""
    z = jnp.linspace(-cfg["z_limit"], cfg["z_limit"], cfg["z_points"])
    x, y = jnp.asarray(cfg["x"], jnp.float32), jnp.asarray(cfg["y"], jnp.float32)
    axis = jnp.linspace(-cfg["grid_limit"], cfg["grid_limit"], cfg["grid_points"])
    starts = jnp.asarray(cfg["starts"], jnp.float32)
    by_loss = {loss: jax.device_get(analyse(loss, z, x, y, axis, starts, cfg["lr"], cfg["gd_steps"]))
               for loss in LOSSES}
    res = {field: {loss: by_loss[loss][field] for loss in LOSSES} for field in by_loss[LOSSES[0]]}
    return res | {"z": np.asarray(z), "axis": np.asarray(axis)}


def summarise(cfg: dict, res: dict) -> dict:
    z, axis = res["z"], res["axis"]
    out = {"dataset": {"x": cfg["x"], "y": cfg["y"]}, "one_d": {}, "two_d": {}}
    y1_l2_grad = res["curves"]["l2"][1][1]
    peak = int(np.argmax(np.abs(y1_l2_grad)))
    at = {f"{v:g}": int(np.argmin(np.abs(z - v))) for v in (-cfg["z_limit"], 0.0, cfg["z_limit"])}
    out["one_d"] = {
        "max_abs_err_vs_closed_form": {
            loss: max(float(np.max(np.abs(res["curves"][loss][label][1] - res["closed"][loss][label])))
                      for label in (1, 0))
            for loss in LOSSES},
        "max_abs_dl2_dz_y1": float(np.abs(y1_l2_grad[peak])),
        "argmax_abs_dl2_dz_y1": float(z[peak]),
        "abs_dl_dz_y1": {loss: {zv: float(abs(res["curves"][loss][1][1][i])) for zv, i in at.items()}
                         for loss in LOSSES},
    }
    chance = {loss: float(res["chance"][loss]) for loss in LOSSES}
    for loss in LOSSES:
        value, grad_norm = res["grid"][loss]
        flat = grad_norm < cfg["grad_tol"]
        p_min, l_min, eig = res["min"][loss]
        l_min = float(l_min)
        path_values = res["gd"][loss][1]
        steps = steps_to_progress(path_values, l_min, cfg["progress"])
        slope, intercept, cols = valley_floor(value, axis, axis, chance[loss])
        out["two_d"][loss] = {
            "flat_fraction": float(flat.mean()),
            "flat_and_worse_than_chance_fraction": float((flat & (value > chance[loss])).mean()),
            "minimum": {"w": float(p_min[0]), "b": float(p_min[1]), "loss": l_min,
                        "hessian_eigenvalues": eig.tolist(), "condition_number": float(eig[1] / eig[0])},
            "valley_floor": {"slope": slope, "intercept": intercept, "columns_inside_grid": cols},
            "grad_norm_along_ray_from_minimum": dict(
                zip(map(str, RAY_DISTANCES), res["ray"][loss].tolist(), strict=True)),
            "gd": [{"start": list(s), "initial_grad_norm": float(res["start_grad"][loss][i]),
                    "steps_to_progress": int(steps[i]), "final_loss": float(path_values[i, -1])}
                   for i, s in enumerate(cfg["starts"])],
        }
    out["claims"] = claims(cfg, out)
    return out


def claims(cfg: dict, s: dict) -> list[dict]:
    """The seed's statements next to our numbers, each with a verdict."""
    d1, ce, l2 = s["one_d"], s["two_d"]["ce"], s["two_d"]["l2"]
    zl = f"{cfg['z_limit']:g}"
    far = str(RAY_DISTANCES[-1])
    sat_ce, sat_l2 = ce["gd"][0], l2["gd"][0]

    def floor_text(d):
        v = d["valley_floor"]
        if v["columns_inside_grid"] < 2:
            return "no valley floor inside the grid"
        return f"b = {v['slope']:.2f} w {'-' if v['intercept'] < 0 else '+'} {abs(v['intercept']):.2f}"

    def steps_text(g):
        return f"{g['steps_to_progress']}" if g["steps_to_progress"] >= 0 else f"> {cfg['gd_steps']}"

    return [
        {"claim": "The L2 gradient approaches zero for weights and biases far from equilibrium.",
         "measurement": (f"1-D, y=1: |dL2/dz| = {d1['abs_dl_dz_y1']['l2']['-' + zl]:.1e} at z=-{zl} (wrong "
                         f"side) but also {d1['abs_dl_dz_y1']['l2'][zl]:.1e} at z=+{zl} (right side). 2-D: "
                         f"|grad L2| < {cfg['grad_tol']:g} on {l2['flat_fraction']:.0%} of the grid "
                         f"({l2['flat_and_worse_than_chance_fraction']:.0%} of the grid is both flat and worse than "
                         f"predicting 0.5); |grad L2| = {l2['grad_norm_along_ray_from_minimum'][far]:.1e} at "
                         f"distance {far} from the minimum."),
         "verdict": "supported (on the misclassified side; it also vanishes near the optimum, as CE's does)"},
        {"claim": "CE approaches a constant gradient as the loss moves away from equilibrium.",
         "measurement": (f"1-D, y=1: |dCE/dz| = {d1['abs_dl_dz_y1']['ce']['-' + zl]:.5f} at z=-{zl} "
                         "(limit 1). Along a ray from the minimum to the saturated start, |grad CE| = "
                         + ", ".join(f"{v:.3f}" for v in ce["grad_norm_along_ray_from_minimum"].values())
                         + f" at distances {', '.join(map(str, RAY_DISTANCES))}; "
                         f"|grad CE| < {cfg['grad_tol']:g} on {ce['flat_fraction']:.1%} of the grid."),
         "verdict": "supported"},
        {"claim": "L2 loss has a sharp valley where weight and bias are equal.",
         "measurement": (f"Valley floor (per-w minimum over b): L2 {floor_text(l2)}, CE {floor_text(ce)}. "
                         "Hessian condition number at the minimum (how sharp the valley is): "
                         f"L2 {l2['minimum']['condition_number']:.0f}, CE {ce['minimum']['condition_number']:.0f}."),
         "verdict": ("partly: both losses have a valley, along a line set by the data (the loss depends on "
                     "(w, b) only through w*x_i + b; w = b would be the valley for a single input at x = -1), "
                     "not along w = b here"
                     + (", and L2's is not the sharper one" if l2["minimum"]["condition_number"]
                        <= ce["minimum"]["condition_number"] else "")
                     + "; what sets L2 apart is the plateau around its valley")},
        {"claim": "The L2 gradient has extra extrema and inflection points; the CE gradient is an offset sigmoid.",
         "measurement": (f"dCE/dz = sigmoid(z) - y to {d1['max_abs_err_vs_closed_form']['ce']:.1e}; |dL2/dz| "
                         f"peaks at {d1['max_abs_dl2_dz_y1']:.4f} (8/27 = 0.2963) at z = "
                         f"{d1['argmax_abs_dl2_dz_y1']:.3f} (-ln 2 = -0.693) for y=1, then decays."),
         "verdict": "supported"},
        {"claim": "With L2 the neuron may be unable to learn from a bad start; with CE descent is always possible.",
         "measurement": (f"GD, lr {cfg['lr']:g}, from the saturated start {tuple(cfg['starts'][0])}: CE reaches "
                         f"{cfg['progress']:.0%} of its possible decrease in {steps_text(sat_ce)} steps, L2 in "
                         f"{steps_text(sat_l2)}; initial |grad|: CE {sat_ce['initial_grad_norm']:.2e}, "
                         f"L2 {sat_l2['initial_grad_norm']:.2e}."),
         "verdict": ("supported (L2 is slowed, not stopped: its gradient is tiny but non-zero)"
                     if sat_l2["steps_to_progress"] >= 0 else "supported (L2 stalls within the step budget)")},
    ]


def _markdown(cfg: dict, s: dict, wall_s: float) -> str:
    d1, d2 = s["one_d"], s["two_d"]
    lines = [
        "# Loss landscape of one sigmoid neuron: CE vs L2 (seed 000, section 1)",
        "",
        f"Dataset x = {cfg['x']}, y = {cfg['y']}; grid (w, b) in [-{cfg['grid_limit']:g}, "
        f"{cfg['grid_limit']:g}]^2 at {cfg['grid_points']}^2 points; GD lr {cfg['lr']:g}, {cfg['gd_steps']} "
        f"steps. Wall time {wall_s:.1f} s.",
        "",
        "| quantity | CE | L2 |",
        "|---|---|---|",
        f"| max abs error of jax.grad vs closed-form dL/dz | {d1['max_abs_err_vs_closed_form']['ce']:.1e} | "
        f"{d1['max_abs_err_vs_closed_form']['l2']:.1e} |",
    ]
    zl = f"{cfg['z_limit']:g}"
    for zv in ("-" + zl, "0", zl):
        lines.append(f"| abs dL/dz at z = {zv}, y = 1 | {d1['abs_dl_dz_y1']['ce'][zv]:.2e} | "
                     f"{d1['abs_dl_dz_y1']['l2'][zv]:.2e} |")
    lines += [
        f"| largest abs dL2/dz (y = 1), at z | — | {d1['max_abs_dl2_dz_y1']:.4f} at z = "
        f"{d1['argmax_abs_dl2_dz_y1']:.3f} |",
        f"| grid fraction with abs grad < {cfg['grad_tol']:g} | {d2['ce']['flat_fraction']:.1%} | "
        f"{d2['l2']['flat_fraction']:.1%} |",
        f"| ... and loss worse than predicting 0.5 | {d2['ce']['flat_and_worse_than_chance_fraction']:.1%} | "
        f"{d2['l2']['flat_and_worse_than_chance_fraction']:.1%} |",
    ]
    for key, fmt in (("w", ".3f"), ("b", ".3f"), ("loss", ".4f"), ("condition_number", ".0f")):
        lines.append(f"| minimum: {key} | {d2['ce']['minimum'][key]:{fmt}} | {d2['l2']['minimum'][key]:{fmt}} |")
    lines.append(f"| valley floor b = slope w + c: slope, c | {d2['ce']['valley_floor']['slope']:.2f}, "
                 f"{d2['ce']['valley_floor']['intercept']:.2f} | {d2['l2']['valley_floor']['slope']:.2f}, "
                 f"{d2['l2']['valley_floor']['intercept']:.2f} |")
    for dist in RAY_DISTANCES:
        k = str(dist)
        lines.append(f"| abs grad at distance {dist:g} from the minimum, towards start 1 | "
                     f"{d2['ce']['grad_norm_along_ray_from_minimum'][k]:.2e} | "
                     f"{d2['l2']['grad_norm_along_ray_from_minimum'][k]:.2e} |")
    for i, start in enumerate(cfg["starts"]):
        cells = [d2[loss]["gd"][i]["steps_to_progress"] for loss in LOSSES]
        cells = [str(c) if c >= 0 else f"> {cfg['gd_steps']}" for c in cells]
        lines.append(f"| GD steps to {cfg['progress']:.0%} of the possible decrease from (w, b) = "
                     f"{tuple(start)} | {cells[0]} | {cells[1]} |")
    lines += ["", "## Seed claim vs our measurement", "", "| seed claim | our measurement | verdict |",
              "|---|---|---|"]
    # A bare | would end the table cell: |x| is written \|x\|.
    lines += ["| " + " | ".join(c[k].replace("|", "\\|") for k in ("claim", "measurement", "verdict")) + " |"
              for c in s["claims"]]
    lines += ["", "Figures: `curves.png` (1-D loss and dL/dz), `surfaces.png` (loss and log10 abs grad over "
              "(w, b)), `paths.png` (GD paths on both surfaces).", ""]
    return "\n".join(lines)


def plot(cfg: dict, res: dict, s: dict, out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z, axis = res["z"], res["axis"]
    colors = {"ce": "tab:blue", "l2": "tab:red"}

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for col, label in enumerate((1, 0)):
        for loss in LOSSES:
            value, grad = res["curves"][loss][label]
            axes[0, col].plot(z, value, color=colors[loss], label=f"{LABELS[loss]} loss")
            axes[1, col].plot(z, grad, color=colors[loss], label=f"{LABELS[loss]}: dL/dz (jax.grad)")
            axes[1, col].plot(z[::100], res["closed"][loss][label][::100], "o", ms=3,
                              color=colors[loss], mfc="none", label=f"{LABELS[loss]}: closed form")
        peak = s["one_d"]["argmax_abs_dl2_dz_y1"] * (1 if label == 1 else -1)
        axes[1, col].axvline(peak, color="gray", ls=":", lw=1, label=f"max |dL2/dz| at z = {peak:.2f}")
        axes[0, col].set(title=f"Loss vs logit, label y = {label}", ylabel="loss")
        axes[1, col].set(title=f"Gradient dL/dz, label y = {label}", xlabel="logit z = w·x + b",
                         ylabel="dL/dz")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle("One sigmoid neuron: cross-entropy vs L2 as a function of the logit")
    io.save_figure(fig, out / "curves.png")

    fig, axes = plt.subplots(2, 2, figsize=(12, 10), sharex=True, sharey=True)
    for col, loss in enumerate(LOSSES):
        value, grad_norm = res["grid"][loss]
        p_min = res["min"][loss][0]
        panels = ((value, f"{LABELS[loss]} loss"),
                  (np.log10(np.maximum(grad_norm, 1e-12)), f"log10 |grad {LABELS[loss]}|"))
        for row, (data, name) in enumerate(panels):
            ax = axes[row, col]
            cs = ax.contourf(axis, axis, data, levels=30, cmap="viridis")
            fig.colorbar(cs, ax=ax, label=name)
            ax.contour(axis, axis, grad_norm, levels=[cfg["grad_tol"]], colors="white", linestyles="--")
            ax.plot(*p_min, "r*", ms=12, label=f"minimum ({p_min[0]:.2f}, {p_min[1]:.2f})")
            ax.plot([], [], "w--", label=f"contour |grad| = {cfg['grad_tol']:g}")
            ax.set(title=f"{name} over (w, b)", xlabel="weight w", ylabel="bias b")
            ax.legend(fontsize=8, loc="lower left", facecolor="lightgray")
    fig.suptitle(f"Loss surfaces and gradient norms, dataset x = {cfg['x']}, y = {cfg['y']}")
    io.save_figure(fig, out / "surfaces.png")

    fig, axes = plt.subplots(1, 2, figsize=(13, 7), sharey=True)
    start_colors = plt.cm.tab10(np.arange(len(cfg["starts"])))
    for ax, loss in zip(axes, LOSSES, strict=True):
        value = res["grid"][loss][0]
        cs = ax.contourf(axis, axis, value, levels=30, cmap="Greys")
        fig.colorbar(cs, ax=ax, label=f"{LABELS[loss]} loss")
        path = res["gd"][loss][0]
        for i, start in enumerate(cfg["starts"]):
            steps = s["two_d"][loss]["gd"][i]["steps_to_progress"]
            steps = f"{steps} steps" if steps >= 0 else f"> {cfg['gd_steps']} steps"
            ax.plot(path[i, :, 0], path[i, :, 1], "-", color=start_colors[i], lw=2,
                    label=f"start {tuple(start)}: {steps}")
            ax.plot(*path[i, 0], "o", color=start_colors[i], ms=7)
            ax.plot(*path[i, -1], "X", color=start_colors[i], ms=9, mec="k")
        ax.set(title=f"GD on {LABELS[loss]} (o start, X after {cfg['gd_steps']} steps)", xlabel="weight w",
               ylabel="bias b", xlim=(axis[0], axis[-1]), ylim=(axis[0], axis[-1]))
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
                  title=f"GD steps to {cfg['progress']:.0%} of the possible decrease", title_fontsize=8)
    fig.suptitle(f"Gradient-descent paths, lr {cfg['lr']:g}: L2 crawls across its plateau")
    io.save_figure(fig, out / "paths.png")


def main(argv):
    out = cli.start(argv, FLAGS.out)
    cfg = cli.flag_dict(FLAGS, module=FLAGS.find_module_defining_flag("out"))
    cfg.update(x=cli.parse("x"), y=cli.parse("y"), starts=cli.parse("starts", _pair))
    t0 = time.perf_counter()
    res = compute(cfg)
    compute_s = time.perf_counter() - t0
    s = summarise(cfg, res)
    plot(cfg, res, s, out)
    wall_s = time.perf_counter() - t0
    # Everything here compiles on first use; compile time is inside compute_s.
    s["provenance"] = provenance.collect(cfg, wall_s=wall_s, compute_s=compute_s)
    io.write_json(out / "summary.json", s)
    io.write_text(out / "summary.md", _markdown(cfg, s, wall_s))
    logging.info("wrote %s in %.1f s", out, wall_s)
    for c in s["claims"]:
        print(f"- {c['claim']}\n    {c['measurement']}\n    -> {c['verdict']}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
