"""Loss landscape of one sigmoid neuron under CE and L2: answers seed 000 §1 (valley, plateau, gradient shape).

p = sigmoid(w*x + b); L2 = (p - y)^2, CE = binary cross-entropy (jaxdl.training.losses); every gradient is
`jax.grad`, checked against the closed forms (experiments/landscape/neuron.py).

- 1-D: loss, dL/dz and d2L/dz2, d3L/dz3 over z in [-z_limit, z_limit] for y = 1 and y = 0; the extrema
  and inflection points of each gradient curve are counted as sign changes of d2L/dz2 and d3L/dz3.
- 2-D: loss and |grad L| over a (w, b) grid for a small 1-D dataset (--x, --y; default x = 0.5, 1, ...,
  3 with labels 0, 0, 1, 0, 1, 1: not separable, so both losses have a finite minimum inside the grid);
  the valley floor and Newton's minimum with its Hessian; gradient descent (the same learning rate for
  both losses) from the fixed --starts (figure) and from --seeds random far starts, seed k a uniform
  direction at a distance in --far from the origin, the same start for both losses (paired by seed).

Command: .venv/bin/python -m experiments.landscape --out=results/landscape
Runtime: ~4 s on 2 CPU cores (CPU default).

Expected (CPU default): ‖dL2/dz‖ peaks at 0.2963 (8/27); the L2 gradient curve has 1 extremum and 2
inflection points per label, CE's 0 and 1; ‖grad L2‖ < 0.001 on 39.2% of the (w, b) grid, ‖grad CE‖
nowhere, levelling off at 1.27; from 64 random far starts L2 needs more GD steps than CE to 90% of the
possible decrease in every seed, and 34 of 64 L2 runs never get there in 5000 steps.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from experiments.landscape import neuron, plots
from experiments.landscape.neuron import LOSSES
from jaxdl.analysis import stats
from jaxdl.experiment import config, entry
from jaxdl.reporting import verdicts
from jaxdl.reporting.summary import Censored, Figure, Summary, Table, censored_if
from jaxdl.training import engine

RAY = (1.0, 2.0, 5.0, 10.0, 20.0, 40.0)  # distances from the minimum at which |grad L| is reported
DERIVATIVE_RTOL = 1e-4  # |d^k L/dz^k| below this fraction of its maximum is rounding, not a sign


@dataclasses.dataclass(frozen=True)
class Config(config.Common):
    out: str = config.field("results/landscape", "Output directory.")
    seeds: int = config.field(64, "Random far starts for gradient descent (seed k: the same start for both "
                              "losses).", lower=1)
    x: tuple[float, ...] = config.field((0.5, 1.0, 1.5, 2.0, 2.5, 3.0), "Inputs of the 2-D dataset.")
    y: tuple[float, ...] = config.field((0.0, 0.0, 1.0, 0.0, 1.0, 1.0), "Labels of the 2-D dataset, one per "
                                        "--x.", choices=(0.0, 1.0))
    z_limit: float = config.field(10.0, "1-D curves span z in [-z_limit, z_limit].", lower=0, strict=True)
    z_points: int = config.field(2001, "Points on the 1-D z grid.", lower=3)
    grid_limit: float = config.field(10.0, "The (w, b) grid spans [-grid_limit, grid_limit]^2.", lower=0,
                                     strict=True)
    grid_points: int = config.field(201, "Points per axis of the (w, b) grid.", lower=3)
    grad_tol: float = config.field(1e-3, "|grad L| below this counts as flat.", lower=0, strict=True)
    starts: tuple[str, ...] = config.field(("-8:0", "-6:6", "6:-8", "0:8", "3:3"), "Fixed GD starts w:b for "
                                           "the figure; the first also sets the ray of the gradient table.")
    far: tuple[float, ...] = config.field((6.0, 10.0), "Distance range from the origin of the random far "
                                          "starts: min,max.", lower=0, strict=True)
    lr: float = config.field(1.0, "Gradient-descent learning rate (the same for both losses).", lower=0,
                             strict=True)
    gd_steps: int = config.field(5000, "Gradient-descent steps per start.", lower=1)
    progress: float = config.field(0.9, "Convergence = this fraction of the start-to-minimum loss decrease.",
                                   lower=0, upper=1, strict=True)

    def validate(self):
        if len(self.x) != len(self.y):
            raise flags.ValidationError("--x and --y must have the same number of items (one label per input)")
        if len(self.far) != 2 or self.far[0] > self.far[1]:
            raise flags.ValidationError(f"--far={self.far}: give two distances min,max with min <= max")
        try:
            parse_starts(self.starts)
        except ValueError:
            raise flags.ValidationError(f"--starts={','.join(self.starts)}: every item must be a w:b pair, "
                                        "e.g. -8:0") from None


def parse_starts(items) -> list[tuple[float, float]]:
    pairs = [tuple(float(v) for v in s.split(":")) for s in items]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(items)
    return pairs



def run(cfg: Config) -> dict:
    z = jnp.linspace(-cfg.z_limit, cfg.z_limit, cfg.z_points)
    x, y = jnp.asarray(cfg.x, jnp.float32), jnp.asarray(cfg.y, jnp.float32)
    axis = jnp.linspace(-cfg.grid_limit, cfg.grid_limit, cfg.grid_points)
    far = neuron.far_starts(engine.seed_keys(cfg.seed_ids), cfg.far)
    starts = jnp.asarray(parse_starts(cfg.starts), jnp.float32)
    args = (z, x, y, axis, starts, far, cfg.lr, cfg.gd_steps, jnp.asarray(RAY))
    by_loss = {loss: jax.device_get(neuron.landscape(loss, *args)) for loss in LOSSES}
    res = {field: {loss: by_loss[loss][field] for loss in LOSSES} for field in by_loss[LOSSES[0]]}
    return res | {"z": np.asarray(z), "axis": np.asarray(axis), "far_starts": np.asarray(far)}


def analyse(cfg: Config, res: dict) -> Summary:
    z, axis, far_n = res["z"], res["axis"], cfg.seeds
    grad1 = {loss: res["curves"][loss][1][1].astype(float) for loss in LOSSES}
    err = {loss: max(float(np.abs(res["curves"][loss][t][1] - res["closed"][loss][t]).max()) for t in (1, 0))
           for loss in LOSSES}
    peak = int(np.argmax(np.abs(grad1["l2"])))
    cnt = {loss: {t: neuron.extrema_and_inflections(z, res["derivatives"][loss][t], DERIVATIVE_RTOL) for t in (1, 0)}
           for loss in LOSSES}  # {loss: {label: (extrema z, inflection z)}} of each gradient curve dL/dz
    mins = {loss: dict(zip(("p", "loss", "eig"), res["min"][loss], strict=True)) for loss in LOSSES}
    chance = {loss: float(res["chance"][loss]) for loss in LOSSES}
    flat = {loss: res["grid"][loss][1] < cfg.grad_tol for loss in LOSSES}
    flat_frac = {loss: float(flat[loss].mean()) for loss in LOSSES}
    floor = {loss: neuron.valley_floor(res["grid"][loss][0], axis, axis, chance[loss]) for loss in LOSSES}
    cond = {loss: float(mins[loss]["eig"][1] / mins[loss]["eig"][0]) for loss in LOSSES}
    steps = {loss: neuron.steps_to_progress(res["far"][loss]["values"], float(mins[loss]["loss"]), cfg.progress)
             for loss in LOSSES}
    censored = {loss: np.where(steps[loss] >= 0, steps[loss], cfg.gd_steps + 1).astype(float) for loss in LOSSES}
    acc = {loss: res["far"][loss]["accuracy"] for loss in LOSSES}
    fixed = {loss: neuron.steps_to_progress(res["gd"][loss][1], float(mins[loss]["loss"]), cfg.progress)
             for loss in LOSSES}
    ray = {loss: res["ray"][loss].astype(float) for loss in LOSSES}
    # Where the 1-D L2 gradient (y = 1) is below grad_tol: the wrong side (z < a) and the right side (z > b).
    small = np.abs(grad1["l2"]) < cfg.grad_tol
    wrong_end = float(z[:peak][small[:peak]].max()) if small[:peak].any() else None
    right_start = float(z[peak:][small[peak:]].min()) if small[peak:].any() else None
    l2_loss_there = float(res["curves"]["l2"][1][0][np.argmin(np.abs(z - right_start))]) if right_start else None

    def steps_or_bound(s):  # a start that never got there: more than gd_steps
        return int(s) if s >= 0 else Censored(cfg.gd_steps + 1)

    def zs(v):
        return [float(t) for t in v]

    tables = [
        Table("1-D: one sample, as a function of the logit z", ["quantity", "CE", "L2"], [
            ["max abs error of jax.grad vs the closed-form dL/dz", err["ce"], err["l2"]],
            *[[f"abs dL/dz at z = {v:g}, y = 1", abs(float(grad1["ce"][i])), abs(float(grad1["l2"][i]))]
              for v, i in ((zv, int(np.argmin(np.abs(z - zv)))) for zv in (-cfg.z_limit, 0.0, cfg.z_limit))],
            ["largest abs dL/dz (y = 1)", float(np.abs(grad1["ce"]).max()), float(np.abs(grad1["l2"][peak]))],
            *[[f"gradient curve y = {t}: extrema at z (d2L/dz2 changes sign)", zs(cnt["ce"][t][0]), zs(cnt["l2"][t][0])]
              for t in (1, 0)],
            *[[f"gradient curve y = {t}: inflection points at z (d3L/dz3 changes sign)", zs(cnt["ce"][t][1]),
               zs(cnt["l2"][t][1])] for t in (1, 0)],
        ], [None, ".3g", ".3g"], note=f"L2 (y = 1) peaks at z = {float(z[peak]):.3f} (-ln 2 = -0.693), value "
           f"{float(np.abs(grad1['l2'][peak])):.4f} (8/27 = 0.2963). A sign change is counted where "
           f"|d^k L/dz^k| exceeds {DERIVATIVE_RTOL:g} of its maximum on both sides (float32 rounding in the tails)."),
        Table("2-D: the neuron on the dataset, over (w, b)", ["quantity", "CE", "L2"], [
            [f"grid fraction with abs grad < {cfg.grad_tol:g}", flat_frac["ce"], flat_frac["l2"]],
            ["... and loss worse than predicting 0.5", *[float((flat[lo] & (res["grid"][lo][0] > chance[lo])).mean())
                                                         for lo in LOSSES]],
            ["minimum (w, b)", *[[float(mins[lo]["p"][0]), float(mins[lo]["p"][1])] for lo in LOSSES]],
            ["minimum loss", *[float(mins[lo]["loss"]) for lo in LOSSES]],
            ["Hessian condition number at the minimum", cond["ce"], cond["l2"]],
            ["valley floor b = slope w + c: slope, c", *[[float(floor[lo][0]), float(floor[lo][1])] for lo in LOSSES]],
            *[[f"abs grad at distance {d:g} from the minimum, towards {cfg.starts[0]}", ray["ce"][i], ray["l2"][i]]
              for i, d in enumerate(RAY)],
            *[[f"GD steps to {cfg.progress:.0%} of the possible decrease from {s}", steps_or_bound(fixed["ce"][i]),
               steps_or_bound(fixed["l2"][i])] for i, s in enumerate(cfg.starts)],
            [f"{far_n} far starts: median GD steps to {cfg.progress:.0%} ('>=': a lower bound, runs censored at "
             f"{cfg.gd_steps + 1})", *[censored_if(m["median"], m["median_bound"] == ">=")
                                       for m in (stats.median_ci(censored[lo], steps[lo] < 0) for lo in LOSSES)]],
            [f"{far_n} far starts: runs never reaching {cfg.progress:.0%}",
             *[int((steps[lo] < 0).sum()) for lo in LOSSES]],
            [f"{far_n} far starts: median final training accuracy", *[float(np.median(acc[lo])) for lo in LOSSES]],
        ], [None, ".3g", ".3g"], note=f"Dataset x = {list(cfg.x)}, y = {list(cfg.y)}; GD lr {cfg.lr:g}, "
           f"{cfg.gd_steps} steps; far starts at distance {cfg.far[0]:g}-{cfg.far[1]:g} from the origin."),
    ]

    # -- claims: every verdict from a decided part (stats.Exact: computed facts; stats.paired/sign_share) ------
    never = {lo: steps[lo] < 0 for lo in LOSSES}
    log_steps = {lo: np.log2(np.maximum(censored[lo], 1)) for lo in LOSSES}
    l2_ext, ce_ext = [len(cnt["l2"][t][0]) for t in (1, 0)], [len(cnt["ce"][t][0]) for t in (1, 0)]
    l2_inf, ce_inf = [len(cnt["l2"][t][1]) for t in (1, 0)], [len(cnt["ce"][t][1]) for t in (1, 0)]
    kinds = {"minimum": len(cnt["l2"][1][0]), "maximum": len(cnt["l2"][0][0])}  # y = 1 dips, y = 0 peaks
    nan_or = lambda v: float("nan") if v is None else v  # noqa: E731
    valley = {lo: not np.isnan(floor[lo][0]) for lo in LOSSES}
    e, c = verdicts.exact, verdicts.compare
    claims = [
        verdicts.claim("l2_sharp_valley", [
            e("a valley", valley["l2"], f"L2's valley floor is the line b = {floor['l2'][0]:.2f} w "
              f"{floor['l2'][1]:+.2f} (condition number at the minimum L2 {cond['l2']:.0f}, CE {cond['ce']:.0f})"),
            e("where weight and bias are equal", abs(floor["l2"][0] - 1) < 0.1,
              f"the floor's slope is {floor['l2'][0]:.2f}, not 1: the loss depends on (w, b) only through w x_i + b, "
              "so the data set the line")]),
        verdicts.claim("ce_valley_no_plateau", [
            e("a similar valley", valley["ce"],
              f"CE's valley floor is b = {floor['ce'][0]:.2f} w {floor['ce'][1]:+.2f}"),
            e("no plateau far from the minimum", flat_frac["ce"] == 0 and ray["ce"][-1] >= ray["ce"][0],
              f"‖grad CE‖ < {cfg.grad_tol:g} on {flat_frac['ce']:.1%} of the grid (L2 {flat_frac['l2']:.1%}); "
              f"‖grad CE‖ at distance {RAY[-1]:g} from the minimum {ray['ce'][-1]:.3g}")]),
        verdicts.claim("l2_grad_extra_extrema", [
            e("additional inflection points", all(a > b for a, b in zip(l2_inf, ce_inf, strict=True)),
              f"sign changes of d3L/dz3 on z in ±{cfg.z_limit:g}: L2's gradient curves {l2_inf} (y = 1, 0) vs CE's "
              f"{ce_inf}"),
            e("local minima and maxima", kinds["minimum"] > 0 and kinds["maximum"] > 0 and not any(ce_ext),
              f"sign changes of d2L/dz2: L2's gradient curves have {l2_ext} extrema (y = 1, 0: "
              f"{kinds['minimum']} minimum, {kinds['maximum']} maximum: one per curve) vs CE's {ce_ext}")]),
        verdicts.claim("ce_grad_offset_sigmoid", [
            e("an offset sigmoid", err["ce"] < 1e-5, f"jax.grad of CE equals sigmoid(z) - y to {err['ce']:.1e} at "
              f"{cfg.z_points} points, both labels")]),
        verdicts.claim("l2_gradient_vanishes", [
            e("far from equilibrium (1-D)", wrong_end is not None,
              f"for y = 1, ‖dL2/dz‖ < {cfg.grad_tol:g} for z < {nan_or(wrong_end):.2f} (the misclassified side); "
              f"it is also < {cfg.grad_tol:g} for z > {nan_or(right_start):.2f}, where the loss is already < "
              f"{nan_or(l2_loss_there):.1e} (the optimum, not far from it)"),
            e("far from equilibrium (2-D)", ray["l2"][-1] < cfg.grad_tol,
              f"‖grad L2‖ at distance {RAY[-1]:g} from the minimum towards {cfg.starts[0]}: {ray['l2'][-1]:.1e}")],
            context={"wrong_side_below": wrong_end, "right_side_above": right_start}),
        verdicts.claim("l2_neuron_stalls", [
            c(f"log2 GD steps to {cfg.progress:.0%} of the possible decrease, L2 minus CE, {far_n} far starts",
              log_steps["l2"], log_steps["ce"], +1, stats.ITERATION_MARGIN_LOG2, " log2", 1,
              a_censored=never["l2"], b_censored=never["ce"])],
            note=f"{int(never['l2'].sum())} of {far_n} L2 runs never get there in {cfg.gd_steps} steps (CE: "
                 f"{int(never['ce'].sum())}): slowed, and stopped within the budget in those runs"),
        verdicts.claim("ce_gradient_constant", [
            e("a constant gradient away from equilibrium", abs(ray["ce"][-1] - ray["ce"][-2]) < 0.01 * ray["ce"][-1],
              f"2-D ‖grad CE‖ along the ray {', '.join(f'{v:.3f}' for v in ray['ce'])} at distances "
              f"{', '.join(f'{d:g}' for d in RAY)}"),
            e("gradient descent always possible", abs(float(grad1["ce"][0])) > 0.99,
              f"‖dCE/dz‖ -> 1 on the wrong side ({abs(float(grad1['ce'][0])):.5f} at z = -{cfg.z_limit:g})")]),
        verdicts.claim("l2_far_init_mislabels", [
            c(f"final training accuracy after {cfg.gd_steps} steps, L2 below CE, {far_n} far starts (how often)",
              acc["l2"], acc["ce"], -1, stats.SHARE_MARGIN, how=stats.sign_share)],
            note=f"L2 worse in {int((acc['l2'] < acc['ce']).sum())}, better in {int((acc['l2'] > acc['ce']).sum())}, "
                 f"tied in {int((acc['l2'] == acc['ce']).sum())}; a risk is a claim about how often, so the sign "
                 "test on untied seeds decides (the median difference is 0 from the ties alone)"),
        verdicts.claim("ce_more_robust", [
            c(f"reached {cfg.progress:.0%} of the possible decrease within {cfg.gd_steps} steps, CE but not L2 "
              f"(how often), {far_n} far starts", (~never["ce"]).astype(float), (~never["l2"]).astype(float), +1,
              stats.SHARE_MARGIN, how=stats.sign_share)],
            note="part 1's argument (a far start stalls L2, not CE) measured where part 1 makes it; fc_grid's "
                 "learning-rate table is context"),
    ]

    starts = parse_starts(cfg.starts)
    figures = [
        Figure("curves.png", plots.neuron_curves, (z, res["curves"], res["closed"], float(z[peak])),
               caption="1-D loss and dL/dz"),
        Figure("surfaces.png", plots.neuron_surfaces, (axis, res["grid"], {lo: mins[lo]["p"] for lo in LOSSES},
                                                       cfg.grad_tol), caption="loss and log10 |grad| over (w, b)"),
        Figure("paths.png", plots.neuron_paths, (axis, res["grid"], res["gd"], starts, fixed, res["far_starts"],
                                                 steps, cfg.gd_steps), caption="GD paths"),
    ]
    return Summary("landscape", "Loss landscape of one sigmoid neuron: CE vs L2 (seed 000, section 1)",
                   f"One sigmoid neuron; dataset x = {list(cfg.x)}, y = {list(cfg.y)}; (w, b) grid "
                   f"[-{cfg.grid_limit:g}, {cfg.grid_limit:g}]^2 at {cfg.grid_points}^2 points; GD lr {cfg.lr:g}, "
                   f"{cfg.gd_steps} steps from {len(starts)} fixed and {far_n} random far starts.",
                   tables, claims, figures=figures,
                   data={"far_steps": {lo: steps[lo].tolist() for lo in LOSSES},
                         "far_accuracy": {lo: acc[lo].tolist() for lo in LOSSES}})


main = entry.main(Config, run, analyse, name="landscape")
