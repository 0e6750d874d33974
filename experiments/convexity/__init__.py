"""Is the training loss convex in the parameters? Answers seed 004 Q1-Q2 and the reasons the seed gives.

Models: logistic (no hidden layer), linear1 / linear2 (one / two linear hidden layers of --hidden units),
all ending in one logit z and p = sigmoid(z). Losses: ce, mse ((sigmoid(z) - y)^2) and mse_logit, a
control: (z - y)^2 on the raw logit (least squares, no sigmoid), which separates what the sigmoid does
from what squaring does. Data (--dataset): breast_cancer (569 x 30) or two digits of load_digits,
features standardised. Float64 throughout the probes (experiments/convexity/probes.py says why).

1. Two probes per (model, loss): the smallest Hessian eigenvalue at --points random parameter points
   (exact, or Lanczos above --exact_max_params), and midpoint convexity on --chords random chords, a
   quarter along one coordinate. A violation beyond tolerance proves non-convexity and is saved as a
   witness in summary.json (data.witnesses), re-checkable with `experiments.convexity.probes.recheck`.
2. Curvature in one variable: d2L/dz2 of each loss, of log p, of -log sigmoid(z), and of (u^2 - 1)^2.
3. GD from --seeds initialisations (logistic, each loss, step 1/L on the first --gd_components whitened
   principal components): the spread of final losses, convex vs non-convex loss.
4. Classification: per seed a train/test split (--test_fraction) and one initialisation; logistic,
   linear1 and linear2 trained with Adam on ce and on mse; test accuracy paired by seed.

Command: .venv/bin/python -m experiments.convexity --out=results/convexity
Runtime: ~20 s on 2 CPU cores (CPU default).

Expected (CPU default): logistic + ce and logistic + mse_logit: no violation in 128 exact Hessian probes
and 2048 chords; every other cell not convex, logistic + mse also along single coordinates (123/512
axis-aligned chords); GD reaches the exact minimum of both convex losses from all 32 initialisations
(32/32), while the non-convex mse ends up to 19.5x its best run's loss above it; the linear nets score
0.950-0.965 test accuracy against 0.977 for logistic regression and 0.627 for the majority class.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from experiments.convexity import plots
from experiments.convexity import probes as convexity
from experiments.convexity.probes import LOSS_NAMES, MODELS
from jaxdl.analysis import stats
from jaxdl.experiment import config, entry
from jaxdl.reporting import verdicts
from jaxdl.reporting.summary import Claim, Figure, Summary, Table
from jaxdl.training import engine

THEORY_CONVEX = {("logistic", "ce"), ("logistic", "mse_logit")}  # what convex analysis says
CLASSIFY_MARGIN = 0.02  # two points of test accuracy: ~3 of the 171 breast_cancer test examples
GD_RTOL = 1e-3  # a run "reached the minimum" when its final loss is within this fraction of it


@dataclasses.dataclass(frozen=True)
class Config(config.Common):
    out: str = config.field("results/convexity", "Output directory.")
    seeds: int = config.field(32, "GD initialisations (part 3) and train/test splits (part 4); seed k the same "
                              "everywhere.", lower=1)
    dataset: str = config.field("breast_cancer", "Binary dataset (standardised features).",
                                choices=convexity.DATASETS)
    model: str = config.field("all", "Model, or all.", choices=("all", *MODELS))
    loss: str = config.field("all", "Loss, or all (mse_logit is the no-sigmoid control).", choices=("all", *LOSS_NAMES))
    hidden: int = config.field(8, "Units per linear hidden layer.", lower=1)
    points: int = config.field(128, "Random parameter points for the Hessian probe, per cell.", lower=1)
    chords: int = config.field(2048, "Random chords for the midpoint probe, per cell.", lower=1)
    hessian: str = config.field("auto", "Eigenvalue method; auto = exact up to --exact_max_params parameters, "
                                "else Lanczos.", choices=("auto", "exact", "lanczos"))
    exact_max_params: int = config.field(128, "Largest model for the dense Hessian under --hessian=auto.", lower=1)
    lanczos_iters: int = config.field(30, "Lanczos iterations (HVPs) per point.", lower=1)
    eig_rtol: float = config.field(1e-9, "A min eigenvalue below -eig_rtol * spectral radius is negative.",
                                   lower=0, upper=1, strict=True)
    chord_rtol: float = config.field(1e-10, "A gap above chord_rtol * (|f(a)| + |f(b)| + |f(mid)|) violates.",
                                     lower=0, upper=1, strict=True)
    seed: int = config.field(0, "PRNG seed for the probes' points and chords.", lower=0)
    gd_components: int = config.field(5, "Whitened principal components for the GD runs (part 3).", lower=1)
    gd_steps: int = config.field(1000, "GD steps per initialisation (part 3).", lower=1)
    train_steps: int = config.field(500, "Adam steps per classifier (part 4).", lower=1)
    test_fraction: float = config.field(0.3, "Test share of each split (part 4).", lower=0, upper=1, strict=True)



def run(cfg: Config) -> dict:
    models = list(MODELS) if cfg.model == "all" else [cfg.model]
    # float64 only inside this block: "is this eigenvalue negative?" needs it (experiments/convexity/probes.py).
    with jax.enable_x64(True):
        x, y = convexity.load_dataset(cfg.dataset)
        key, cells = jax.random.key(cfg.seed), []
        for model in models:
            dim = convexity.parametrisation(model, x.shape[1], cfg.hidden)[1].shape[0]
            method = cfg.hessian if cfg.hessian != "auto" else ("exact" if dim <= cfg.exact_max_params else "lanczos")
            probe = convexity.probe_model(model, x, y, jax.random.fold_in(key, MODELS[model]), hidden=cfg.hidden,
                                          points=cfg.points, chords=cfg.chords, method=method,
                                          lanczos_iters=cfg.lanczos_iters, eig_rtol=cfg.eig_rtol,
                                          chord_rtol=cfg.chord_rtol)
            info = {"dataset": cfg.dataset, "hidden": cfg.hidden}
            cells += [convexity.summarise_cell(model, loss, method, probe, info)
                      for loss in (LOSS_NAMES if cfg.loss == "all" else [cfg.loss])]
        keys = engine.seed_keys(cfg.seed_ids)
        out = {"cells": cells, "curvature": convexity.one_d_curvature(), "data": (x.shape, float(y.mean()))}
        out["collapse"] = {c["model"]: convexity.collapse_error(c["model"], x, cfg.hidden, c["_points"][0])
                           for c in cells if c["model"] != "logistic"}
        if "logistic" in models:
            out["gd"] = jax.device_get(convexity.gd_final_losses(
                convexity.whitened_components(x, cfg.gd_components), y, keys, cfg.gd_steps))
            ce = [c for c in cells if (c["model"], c["loss"]) == ("logistic", "ce")]
            if ce:
                out["float32"] = convexity.float32_check(x, y, cfg.hidden, ce[0]["_points"], ce[0]["_relative_min"],
                                                         cfg.eig_rtol)
    if cfg.model == "all":  # float32: accuracy needs no float64
        out["accuracy"] = jax.device_get(convexity.held_out_accuracy(
            np.asarray(x, np.float32), np.asarray(y, np.float32), keys, cfg.hidden, cfg.train_steps,
            int(round(cfg.test_fraction * x.shape[0]))))
    return out


def analyse(cfg: Config, res: dict) -> Summary:
    cells, curv = res["cells"], res["curvature"]
    by = {(c["model"], c["loss"]): c for c in cells}
    linear = [k for k in by if k[0] != "logistic"]
    (n, d), positive = res["data"]

    def cell(model, loss):
        c = by[(model, loss)]
        return f"{model} + {loss}: {'no violation' if c['convex_by_probes'] else 'not convex'}"

    tables = [convexity.probe_table(cells, THEORY_CONVEX), convexity.curvature_table(curv)]
    # Every verdict is a stats.Exact part: a closed form, a curvature computed on a grid, or a witness of the probes
    # (one violation proves "not convex"; none in every probe is what "convex" can mean numerically).
    e, claim = verdicts.exact, verdicts.claim
    convex_in_z = {loss: curv[loss]["min_curvature"] >= 0 for loss in LOSS_NAMES}  # the loss as a function of z
    z = np.linspace(-20, 20, 4001)
    sig = 1 / (1 + np.exp(-z))
    sig_curv = sig * (1 - sig) * (1 - 2 * sig)  # sigmoid''(z), closed form
    claims = [
        claim("ce_convex_from_log", [
            e("arises from the logarithmic terms", curv["neg_log_sigmoid_min_curvature"] >= 0,
              f"each CE term -log sigmoid(z) = softplus(-z) is convex in z (min d2/dz2 = "
              f"{curv['neg_log_sigmoid_min_curvature']:.1e} >= 0; it equals sigmoid'(z))"),
            e("logarithmic functions are convex", curv["log_max_curvature"] >= 0,
              f"log is concave: d2/dp2 log p <= {curv['log_max_curvature']:.3g} on p in [0.01, 0.99]")]),
    ]
    composition = e("the composition of convex functions preserves convexity", curv["composition_curvature_at_0"] >= 0,
                    f"(u^2 - 1)^2 composes two convex functions and has curvature "
                    f"{curv['composition_curvature_at_0']:g} at u = 0 (convex o convex needs a non-decreasing outer "
                    "function)")
    ce_convex = [] if ("logistic", "ce") not in by else [e(
        "CE remains convex", by[("logistic", "ce")]["convex_by_probes"], f"logistic + ce: "
        f"{by[('logistic', 'ce')]['verdict']}; CE is convex in the logit z and z is affine in (w, b): convex o affine")]
    claims.append(claim("ce_convex_by_composition", [composition, *ce_convex]))
    if ("logistic", "ce") in by:
        c = by[("logistic", "ce")]
        claims.append(claim("ce_convex_logistic", [
            e("CE makes logistic regression convex", c["convex_by_probes"],
              f"Hessian = X^T diag(sigmoid'(z)) X / N >= 0; probes: {c['verdict']}")]))
        sums = [by[k] for k in (("logistic", "ce"), ("logistic", "mse_logit")) if k in by]
        claims.append(claim("sum_scale_keep_convexity", [
            e("sums and positive scalings keep convexity", all(x["convex_by_probes"] for x in sums),
              "the training loss is the mean (a sum scaled by 1/N > 0) of per-example losses each convex in (w, b), "
              "and its Hessian sum_i H_i / N is >= 0; probes of the mean: " + "; ".join(
                  f"{x['model']} + {x['loss']}: {x['verdict']}" for x in sums))]))
    convex_loss_cells = [k for k in by if convex_in_z[k[1]]]
    if any(k[0] != "logistic" for k in convex_loss_cells):
        bad = [k for k in convex_loss_cells if not by[k]["convex_by_probes"]]
        claims.append(claim("convex_loss_convex_problem", [
            e("a convex loss gives a convex problem", not bad,
              "losses convex in the network output z: " + ", ".join(
                  f"{loss} (min d2L/dz2 {curv[loss]['min_curvature']:.2g})" for loss in LOSS_NAMES if convex_in_z[loss])
              + "; with a linear hidden layer the problem is not: " + "; ".join(cell(*k) for k in bad[:3])
              + " (witnesses in data.witnesses)")]))
    if ("logistic", "mse") in by:
        c = by[("logistic", "mse")]
        neg = curv["mse"]["negative_for_label1_where"]
        claims.append(claim("mse_not_convex_logistic", [
            e("MSE does not guarantee convexity", not c["convex_by_probes"], f"a witness: {c['verdict']}")],
            context={"witness": c.get("witness", {}).get("chord", {})}))
        claims.append(claim("mse_convex_per_parameter", [
            e("convex in each parameter alone", c["axis_chord_violations"] == 0,
              f"{c['axis_chord_violations']}/{c['axis_chords']} axis-aligned chords violate; already in the one "
              f"variable z, d2MSE/dz2 reaches {curv['mse']['min_curvature']:.3f}"
              + (f" (y = 1: negative for z in [{neg[0]:.2f}, {neg[1]:.2f}])" if neg else "")),
            e("not convex in all parameters together", not c["convex_by_probes"], c["verdict"])]))
        if ("logistic", "mse_logit") in by:
            claims.append(claim("mse_nonconvex_from_squaring", [
                e("squaring the errors prevents convexity", not by[("logistic", "mse_logit")]["convex_by_probes"],
                  f"squaring without the sigmoid is convex ({cell('logistic', 'mse_logit')}, Hessian 2 X^T X / N "
                  f">= 0); with it, {cell('logistic', 'mse')}: the sigmoid is the cause, not the squaring")]))
    if "mse_logit" in convex_in_z:
        claims.append(claim("mse_is_convex_quadratic", [
            e("a quadratic, convex", convex_in_z["mse_logit"],
              f"(u - y)^2 has d2/du2 = {curv['mse_logit']['min_curvature']:.3g} >= 0 in its argument u (computed as "
              f"the mse_logit control's curvature); composed with the sigmoid, as the seed's networks use it, "
              f"d2MSE/dz2 reaches {curv['mse']['min_curvature']:.3f}")]))
    if linear and cfg.loss == "all":  # "none of the losses": only with every loss probed
        claims.append(claim("none_convex_linear_hidden", [
            e("none guarantees convexity", all(not by[k]["convex_by_probes"] for k in linear),
              "witnesses: " + "; ".join(cell(*k) for k in linear))]))
    if linear:
        err = max(res["collapse"].values())
        claims.append(claim("linear_net_is_linear_map", [
            e("a linear transformation", err < 1e-9, f"the network's logit equals x W1...Wk + c to {err:.1e} "
              "(relative); linear in x, but z = x W1 W2 is not affine in the parameters, which is what makes the "
              "loss non-convex")]))
    controls = [cell(*k) for k in linear if k[1] == "mse_logit"]
    if controls and "ce" in convex_in_z:
        claims.append(claim("ce_nonconvex_from_sigmoid", [
            e("the sigmoid is not convex", sig_curv.min() < 0 < sig_curv.max(),
              f"sigmoid''(z) = s(1 - s)(1 - 2s) spans {sig_curv.min():.3f} to {sig_curv.max():.3f} on z in [-20, 20]"),
            e("therefore CE is not convex", not convex_in_z["ce"],
              f"CE is convex in z (min d2CE/dz2 = {curv['ce']['min_curvature']:.1e}) and logistic + ce is convex; "
              f"without any sigmoid {'; '.join(controls)}: the product of weights is the cause")]))
    mse = [k for k in linear if k[1] == "mse"]
    if mse:
        claims.append(claim("mse_linear_net_convex", [
            e("MSE with a linear network is convex", all(by[k]["convex_by_probes"] for k in mse),
              "witnesses: " + "; ".join(cell(*k) for k in mse))]))
    figures = [
        Figure("min_eigenvalues.png", plots.min_eigenvalues, (
            {f"{c['model']}\n{c['loss']}": c["_relative_min"] for c in cells}, cfg.eig_rtol,
            f"Smallest Hessian eigenvalue at {cfg.points} random points per cell ({cfg.dataset})"),
            caption="min Hessian eigenvalue per point"),
        Figure("chords.png", plots.chord_excess, (cells,), caption="loss minus chord"),
    ]
    if "gd" in res:
        claims.append(gd_claim(cfg, res["gd"], tables, figures))
    if "accuracy" in res:
        claims.append(classify_claim(cfg, res["accuracy"], tables, figures, positive))
    notes = []
    if "float32" in res:
        f32 = res["float32"]
        notes.append(f"Why float64: at the same {f32['points']} points, logistic + ce in float32 moves min eig / "
                     f"radius by up to {f32['max_abs_float32_error']:.1e} (tolerance {cfg.eig_rtol:g}); points read "
                     f"as negative: float64 {f32['points_below_tol']['float64']}, float32 "
                     f"{f32['points_below_tol']['float32']}.")
    notes.append("Each 'not convex' cell's witness is in summary.json (data.witnesses; parameters in ravel_pytree "
                 "order); `experiments.convexity.probes.recheck(w)` re-evaluates it from scratch under jax.enable_x64.")
    return Summary("convexity", "Is the training loss convex in the parameters? (seed 004, questions 1 and 2)",
                   f"Data: {cfg.dataset} ({n} examples x {d} standardised features, {positive:.0%} positive). Hidden "
                   f"width {cfg.hidden}. Per cell: {cfg.points} random parameter points, {cfg.chords} random chords "
                   f"(a quarter along one coordinate); float64; tolerances {cfg.eig_rtol:g} x spectral radius "
                   f"(eigenvalues), {cfg.chord_rtol:g} x (|f(a)| + |f(b)| + |f(mid)|) (chords).",
                   tables, claims, notes, figures,
                   data={"cells": [{k: v for k, v in c.items() if not k.startswith("_") and k != "witness"}
                                   for c in cells],
                         "witnesses": [c["witness"] for c in cells if "witness" in c]})


def gd_claim(cfg: Config, gd: dict, tables: list, figures: list) -> Claim:
    final = {loss: gd["final"][i] for i, loss in enumerate(LOSS_NAMES)}
    best = {loss: float(gd["minimum"].get(loss, final[loss].min())) for loss in LOSS_NAMES}
    excess = {loss: (final[loss] - best[loss]) / best[loss] for loss in LOSS_NAMES}
    within = {loss: int((excess[loss] <= GD_RTOL).sum()) for loss in LOSS_NAMES}
    tables.append(Table(f"GD from {cfg.seeds} initialisations: logistic regression, {cfg.gd_steps} steps at 1/L",
                        ["loss", "convex", "minimum", "final loss: min", "median", "max",
                         f"runs within {GD_RTOL:g} (relative) of the minimum"],
                        [[loss, ("logistic", loss) in THEORY_CONVEX,
                          {"value": best[loss], "exact": loss in gd["minimum"]},
                          final[loss].min(), float(np.median(final[loss])), final[loss].max(), within[loss]]
                         for loss in LOSS_NAMES],
                        [None, None, lambda m: f"{m['value']:.5g} ({'exact' if m['exact'] else 'best run'})", ".5g",
                         ".5g", ".5g"],
                        note=f"Features: the first {cfg.gd_components} principal components of {cfg.dataset}, "
                        "whitened (x^T x / N = I, so 1/L is known; a linear change of features keeps convexity)."))
    figures.append(Figure("gd_spread.png", plots.strips, (
        {loss: np.maximum(excess[loss], 1e-12) for loss in LOSS_NAMES}, "(final - minimum) / minimum (symlog)",
        f"GD from {cfg.seeds} initialisations, one dot per seed"), {"symlog": 1e-6, "hline": GD_RTOL},
        "GD final losses"))
    convex = [loss for loss in LOSS_NAMES if ("logistic", loss) in THEORY_CONVEX]
    ok = all(within[loss] == cfg.seeds for loss in convex)
    # A maximum over every run: every start of a convex loss must end at its global minimum.
    return verdicts.claim("convex_gd_global_minimum", [verdicts.exact(
        "every start reaches the global minimum", ok, "max over runs: " + ", ".join(
            f"{loss} {within[loss]}/{cfg.seeds} runs within {GD_RTOL:g} of the minimum" for loss in LOSS_NAMES)
        + f"; the non-convex mse ends up to {excess['mse'].max():.3g}x its best run's loss above it")],
        context={"within": within, "max_excess": {loss: float(excess[loss].max()) for loss in LOSS_NAMES}})


def classify_claim(cfg: Config, acc: dict, tables: list, figures: list, positive: float) -> Claim:
    losses, majority = ("ce", "mse"), max(positive, 1 - positive)
    tables.append(Table(f"Test accuracy over {cfg.seeds} train/test splits (Adam, {cfg.train_steps} steps)",
                        ["model", *[f"{loss}: median (IQR)" for loss in losses]],
                        [[m, *[stats.median_iqr(acc[m][i]) for i in range(2)]] for m in MODELS],
                        [None, *["{median:.3f} ({q25:.3f}-{q75:.3f})"] * 2]))
    figures.append(Figure("accuracy.png", plots.strips, (
        {f"{m}\n{loss}": acc[m][i] for m in MODELS for i, loss in enumerate(losses)}, "test accuracy",
        f"Test accuracy, one dot per seed ({cfg.dataset})"), caption="test accuracy"))
    medians = [float(np.median(acc[m][i])) for m in ("linear1", "linear2") for i in range(2)]
    low, high = min(medians), max(medians)
    # "Cannot classify" is a claim about ability: tested against the majority class (what a net that cannot
    # tell the classes apart achieves), not against logistic regression; that gap is reported beside it.
    parts = {(m, loss): stats.paired(acc[m][i], np.full_like(acc[m][i], majority), claimed_sign=-1,
                                     margin=CLASSIFY_MARGIN)
             for m in ("linear1", "linear2") for i, loss in enumerate(losses)}
    gaps = {(m, loss): float(np.median(acc[m][i] - acc["logistic"][i])) for m in ("linear1", "linear2")
            for i, loss in enumerate(losses)}
    return verdicts.claim("linear_net_cannot_classify", [
        (f"{m} + {loss}: test accuracy minus the majority class, {p.describe()}, δ {CLASSIFY_MARGIN:g} → "
         f"{p.verdict}", p)
        for (m, loss), p in parts.items()],
        note=f"median test accuracy of the linear nets {low:.3f}-{high:.3f}, logistic regression "
             f"{float(np.median(acc['logistic'])):.3f} (median paired gap to it {min(gaps.values()):+.3f} to "
             f"{max(gaps.values()):+.3f}), the majority class alone {majority:.3f}: they classify, with the same "
             "function class as logistic regression",
        context={"median_gap_to_logistic": {f"{m}+{loss}": g for (m, loss), g in gaps.items()}})


main = entry.main(Config, run, analyse, name="convexity")
