r"""Exact loss landscapes of the suite's real networks, every surface point a model on the engine's model axis.

Seed 000 §1 argues from one neuron that L2 has plateaus and a sharp valley where CE has neither, and uses
that argument for the networks of §2 and §4; seed 004 Q4 that skip connections make deep nets trainable.
This experiment trains the networks themselves (each through its own experiment's builders: the same data,
widths, optimiser and seed keys) and measures their landscapes around the trained weights:

  fc      the FC grid's 2-16-1 MLPs, sigmoid/ReLU x L2/CE (experiments/fc_grid);
  cnn     cnn_aux's CNN without (λ = 0) and with the auxiliary L2 branch (experiments/cnn_aux);
  resnet  plain vs residual ResNet-20 with BN, the deepest CPU-default depth of experiments/depth.

Instruments (jaxdl.analysis.surfaces; every point of every net one member of one engine call, sharded over
the devices, one compiled program per family and probe, never a Python loop over points):
  2-D surfaces  L(θ + α d1 + β d2) on an NxN grid over [-limit, limit]^2, d1, d2 Gaussian directions
                filter-normalised as Li et al. 2018 define them (each filter scaled to its weights' norm;
                biases and BN parameters not moved), drawn from the seed id alone, so seed k's surfaces in
                two arms share their random draw; the 1-D curve is the surface's β = 0 row.
  interpolation Goodfellow et al. 2015: L along θ(t) = θ0 + t (θ1 - θ0), t in [-0.5, 1.5], θ0 the initial
                and θ1 the trained weights; "rise" = the largest increase of the loss along t in [0, 1]
                (0: it falls monotonically).
  curvature     top Hessian eigenvalue λmax (sharpness) and smallest eigenvalue at θ1 by Lanczos on
                Hessian-vector products (jaxdl.analysis.hessian); Li et al.'s map of λmin/|λmax| over the
                surface (`ratio_families`: Lanczos at every point of a ratio_points grid), and, for every
                family, the same ratio of the Hessian restricted to the plane, by finite differences of the
                surface (a negative one proves negative curvature of the full Hessian: a lower bound on
                Li et al.'s share). "non-convex share": points with ratio < -ratio_tol.
  flatness      (fc, where gradients are recorded at every point) share of points with |grad L| < grad_tol,
                and plateau share: flat and worse than a constant prediction (L2 0.25, CE ln 2).
Every comparison is paired by seed (`verdicts.compare`, the one rule), A minus B with the direction the
hypothesis names: L2 - CE flatter / plateau-ridden and sharper at the minimum (seed 000 §1's argument),
branch - none and residual - plain smoother and flatter (Li et al.'s finding for skips). These are new
findings, not seed statements: the summary names the statements they bear on; the audit is untouched.

Command:
    python -m experiments.net_landscape
Runtime: ~4 min on 2 CPU cores (CPU default): 224 s in the committed run (compile 39 s);
surfaces use flax's convolutions (the engine runs them one point at a time on CPU), Hessian-vector
products the same nets with matmul convolutions.
Accelerator (--scale=full: 51x51 surfaces for every family, 16 seeds for the FC grid and 8 for the CNN and
ResNets, ResNet-56 (depth's full preset: svhn_synth 32x32, batch 128, 2000 steps), 512 evaluation images,
Li et al.'s Lanczos map on an 11x11 grid for every family):
    python -m experiments.net_landscape --scale=full
Not run yet (no accelerator was lent to this work). Estimate: the ResNet-56 surfaces dominate, 2,601 points
x 16 nets x 512 images x ~0.25 GFLOP per forward ~ 5e15 FLOPs, its Lanczos map ~121 points x 16 nets x 10
HVPs (~4 forwards each) ~ 1e16: ~15-25 min on an H100 at 10-20 TFLOP/s, plus training (~5 min) and compiles.

Expected (CPU default): no plateau around any trained FC net (flat share 0.2% at most, plateau share 0.0% in
every cell); sigmoid-L2's minimum is sharper than sigmoid-CE's in every seed (median λmax 0.0784 vs 0.0392,
log10 difference 0.285: supported), ReLU-L2's is not (0.022 vs 0.0216: not reproduced); the Hessian in the
plane is non-convex on 72.0% of sigmoid-L2's surface vs 42.0% of sigmoid-CE's (supported). The CNN's branch
(λ = 1) sharpens its minimum, λmax 1.83e+03 vs 24.5 without it (contradicted). ResNet-20: the residual net's
minimum is flatter in every seed (λmax 0.256 vs 3.47: supported); non-convex plane share 8.0% vs 11.1% (not
resolved at 6 seeds).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from experiments.net_landscape import families, plots
from jaxdl.analysis import surfaces
from jaxdl.experiment import config, entry
from jaxdl.reporting import verdicts
from jaxdl.reporting.summary import Figure, Summary, Table
from jaxdl.tasks import classify

FAMILIES = ("fc", "cnn", "resnet")
# (family, arm A, arm B, what A has): every comparison is A - B, paired by seed.
PAIRS = {"fc": ((0, 1, "sigmoid: L2 - CE"), (2, 3, "ReLU: L2 - CE")),
         "cnn": ((1, 0, "branch - none"),),
         "resnet": ((1, 0, "residual - plain"),)}
# The seed statements each family's findings bear on (registry ids; linked, not answered).
BEARS_ON = {"fc": ("l2_gradient_vanishes", "l2_neuron_stalls", "ce_more_robust"),
            "cnn": ("aux_converges_faster", "aux_stabilizes"), "resnet": ("resnet_skips_vanishing",)}
# measure -> (label, hypothesis sign per family (A - B), margin δ, unit). Shares: 2 points of a surface
# in 100 are within one row of a 51x51 grid; eigenvalues and rises: within 25% (log10 1.25) are the same
# curvature at these precisions.
LOG_MARGIN = float(np.log10(1.25))
MEASURES = {
    "flat_share": ("share of the surface with |grad L| < grad_tol", {"fc": 1}, 0.02),
    "plateau_share": ("plateau share (flat and worse than chance)", {"fc": 1}, 0.02),
    "log10_eig_max": ("log10 λmax at the trained weights (sharpness)", {"fc": 1, "cnn": -1, "resnet": -1},
                      LOG_MARGIN),
    "plane_nonconvex": ("non-convex share, Hessian in the plane", {"fc": 1, "cnn": -1, "resnet": -1}, 0.02),
    "hessian_nonconvex": ("non-convex share, full Hessian (Lanczos map)", {"fc": 1, "cnn": -1, "resnet": -1}, 0.02),
    "interp_rise": ("largest rise along the init-to-trained line", {"fc": 1, "cnn": -1, "resnet": -1}, 0.01),
}


@dataclasses.dataclass(frozen=True)
class Config(classify.DataConfig, config.Common):
    out: str = config.field("results/net_landscape", "Output directory.")
    families: tuple[str, ...] = config.field(FAMILIES, "Families to probe.", choices=FAMILIES)
    seeds: int = config.field(8, "Seeds per FC cell (seed k: the same initial weights and directions in "
                              "every cell).", lower=1)
    net_seeds: int = config.field(6, "Seeds per CNN and ResNet arm (the sign test needs 6 to decide).", lower=1)
    fc_lr: float = config.field(3.0, "FC grid: SGD learning rate of every cell (the best of 3 of its 4 cells).",
                                lower=0, strict=True)
    fc_steps: int = config.field(2000, "FC grid: full-batch steps (a multiple of 10).", lower=10)
    cnn_aux_weight: float = config.field(1.0, "CNN: λ of the arm with the branch.", lower=0, strict=True)
    cnn_steps: int = config.field(200, "CNN: training steps (cnn_aux's).", lower=10)
    resnet_depth: int = config.field(20, "ResNet depth, 6n+2 (depth's deepest CPU default).", lower=8)
    resnet_steps: int = config.field(300, "ResNet: training steps (depth's).", lower=5)
    eval_size: int = config.field(64, "CNN and ResNet: training images every point is evaluated on.", lower=1)
    limit: float = config.field(1.0, "Surfaces span [-limit, limit]^2 in filter-normalised units.", lower=0,
                                strict=True)
    fc_points: int = config.field(21, "FC grid: points per axis of its surfaces.", lower=3)
    net_points: int = config.field(11, "CNN and ResNet: points per axis of their surfaces.", lower=3)
    interp_points: int = config.field(21, "Points on the interpolation line, t in [-0.5, 1.5].", lower=5)
    lanczos_iters: int = config.field(10, "Lanczos iterations (Hessian-vector products) per eigenvalue pair.",
                                      lower=2)
    ratio_families: tuple[str, ...] = config.field(("fc",), "Families with Li et al.'s Lanczos map of "
                                                   "λmin/|λmax| over the surface.", choices=FAMILIES, empty_ok=True)
    ratio_points: int = config.field(21, "Points per axis of the Lanczos map.", lower=3)
    ratio_tol: float = config.field(0.1, "A point is non-convex where λmin/|λmax| < -ratio_tol.", lower=0)
    grad_tol: float = config.field(1e-3, "FC grid: |grad L| below this is flat.", lower=0, strict=True)
    direction_seed: int = config.field(0, "Seed of the random directions (with the seed id).", lower=0)
    chunk_steps: int = config.field(500, "Training steps per compiled chunk.", lower=1)

    @classmethod
    def full(cls):
        return cls(scale="full", seeds=16, net_seeds=8, resnet_depth=56, resnet_steps=2000, eval_size=512,
                   fc_points=51, net_points=51, ratio_families=FAMILIES, ratio_points=11, lanczos_iters=20)

    @property
    def net_seed_ids(self):
        return np.arange(self.first_seed, self.first_seed + self.net_seeds)

    def validate(self):
        if self.resnet_depth < 8 or (self.resnet_depth - 2) % 6:
            raise flags.ValidationError(f"--resnet_depth={self.resnet_depth}: must be 6n + 2 (8, 14, 20, 56, ...)")
        if self.fc_steps % 10:
            raise flags.ValidationError("--fc_steps must be a multiple of 10")


def _stack(*trees):
    return jax.tree.map(lambda *x: jnp.concatenate(x), *trees)


def probe(cfg, fam: families.Family) -> dict:
    """Every probe of one family: surfaces and interpolation (one engine call), curvature (another)."""
    n = fam.nets
    points = cfg.fc_points if fam.name == "fc" else cfg.net_points
    axis, coords = surfaces.grid_coords(cfg.limit, points)
    t = np.linspace(-0.5, 1.5, cfg.interp_points, dtype=np.float32)
    seed_of_net = np.tile(fam.seeds, len(fam.arms))
    base = jax.random.PRNGKey(cfg.direction_seed)
    keys = jax.vmap(lambda s: jax.random.fold_in(base, s))(jnp.asarray(seed_of_net))
    direction = jax.jit(jax.vmap(lambda k, p, i: surfaces.filter_normalized(jax.random.fold_in(k, i), p,
                                                                            fam.stacked_axes), (0, 0, None)),
                        static_argnums=2)
    d1, d2 = direction(keys, fam.theta, 1), direction(keys, fam.theta, 2)
    toward_init = jax.tree.map(lambda a, b: a - b, fam.init, fam.theta)
    zeros = jax.tree.map(jnp.zeros_like, fam.theta)
    planes = {"theta": _stack(fam.theta, fam.theta), "d1": _stack(d1, toward_init), "d2": _stack(d2, zeros),
              "aux": _stack(fam.aux, fam.aux)}
    line = np.stack([1 - t, np.zeros_like(t)], 1)  # θ1 + (1 - t)(θ0 - θ1) = θ0 + t (θ1 - θ0)
    which = np.concatenate([np.repeat(np.arange(n), len(coords)), np.repeat(n + np.arange(n), len(t))])
    at = np.concatenate([np.tile(coords, (n, 1)), np.tile(line, (n, 1))])
    got = surfaces.evaluate(fam.loss_fn, planes, which, at, fam.batch, grad=fam.name == "fc")
    split = n * len(coords)
    out = {"axis": axis, "t": t, "surface": got["loss"][:split].reshape(n, points, points),
           "interp": got["loss"][split:].reshape(n, len(t)), "compile_s": got["compile_s"]}
    if "grad_norm" in got:
        out["grad_norm"] = got["grad_norm"][:split].reshape(n, points, points)
    ratio_axis, ratio_coords = surfaces.grid_coords(cfg.limit, cfg.ratio_points) if fam.name in cfg.ratio_families \
        else (np.zeros(0, np.float32), np.zeros((0, 2), np.float32))
    centre = jax.tree.map(lambda x: x[:n], planes)  # the direction planes only
    curv = surfaces.evaluate_plane(fam.hvp_loss, centre, np.concatenate([np.zeros((1, 2), np.float32), ratio_coords]),
                                   fam.batch, curvature_iters=cfg.lanczos_iters, key=base)
    out |= {"loss": curv["loss"][:, 0], "eig_min": curv["eig_min"][:, 0], "eig_max": curv["eig_max"][:, 0],
            "compile_s": out["compile_s"] + curv["compile_s"]}
    if len(ratio_coords):
        k = cfg.ratio_points
        out |= {"ratio_axis": ratio_axis, "ratio": surfaces.eigen_ratio(curv["eig_min"][:, 1:],
                                                                       curv["eig_max"][:, 1:]).reshape(n, k, k)}
    return out


def run(cfg: Config) -> dict:
    out = {}
    for name in cfg.families:
        fam = families.BUILDERS[name](cfg)
        out[name] = {"family": fam, "probe": probe(cfg, fam)}
    out["compile_s"] = sum(v["family"].train.compile_s + v["probe"]["compile_s"] for v in out.values())
    return out


# -- analysis ----------------------------------------------------------------------------------------

def measures(cfg, fam: families.Family, p: dict) -> dict[str, np.ndarray]:
    """measure -> [arms, seeds]."""
    shape = (len(fam.arms), len(fam.seeds))
    spacing = float(p["axis"][1] - p["axis"][0])
    plane_ratio = surfaces.eigen_ratio(*surfaces.plane_curvature(p["surface"], spacing))  # [nets, N-2, N-2]
    inside = (p["t"] >= 0) & (p["t"] <= 1)
    path = p["interp"][:, inside]
    rise = np.max(path - np.minimum.accumulate(path, axis=1), axis=1)
    m = {"loss": p["loss"], "eig_max": p["eig_max"], "eig_min": p["eig_min"],
         "log10_eig_max": np.log10(np.maximum(p["eig_max"], 1e-12)),
         "plane_nonconvex": np.mean(plane_ratio < -cfg.ratio_tol, axis=(1, 2)), "interp_rise": rise}
    if "grad_norm" in p:
        flat = p["grad_norm"] < cfg.grad_tol
        m["flat_share"] = flat.mean(axis=(1, 2))
        m["plateau_share"] = (flat & (p["surface"] > fam.chance[:, None, None])).mean(axis=(1, 2))
    if "ratio" in p:
        m["hessian_nonconvex"] = np.mean(p["ratio"] < -cfg.ratio_tol, axis=(1, 2))
    return {k: np.asarray(v, np.float64).reshape(shape) for k, v in m.items()} | {"plane_ratio": plane_ratio}


def analyse(cfg: Config, out: dict) -> Summary:
    tables, figures, notes, data = [], [], [], {}
    per_arm_rows, compared = [], []
    for name in cfg.families:
        fam, p = out[name]["family"], out[name]["probe"]
        m = measures(cfg, fam, p)
        for a, arm in enumerate(fam.arms):
            per_arm_rows.append([name, arm, float(np.median(m["loss"][a])), float(np.median(m["eig_max"][a])),
                                 float(np.median(m["eig_min"][a] / np.abs(m["eig_max"][a]))),
                                 float(np.median(m["plane_nonconvex"][a])),
                                 float(np.median(m["hessian_nonconvex"][a])) if "hessian_nonconvex" in m else None,
                                 float(np.median(m["flat_share"][a])) if "flat_share" in m else None,
                                 float(np.median(m["plateau_share"][a])) if "plateau_share" in m else None,
                                 float(np.median(m["interp_rise"][a])),
                                 int(fam.train.diverged.reshape(len(fam.arms), -1)[a].sum())])
        for ia, ib, label in PAIRS[name]:
            for key, (what, signs, margin) in MEASURES.items():
                if key not in m or name not in signs:
                    continue
                text, pr = verdicts.compare(f"{name} {label}, {what}", m[key][ia], m[key][ib], signs[name], margin,
                                            "", 1)
                compared.append([name, label, what, float(np.median(m[key][ia])), float(np.median(m[key][ib])),
                                 {"median": pr.median, "lo": pr.ci95[0], "hi": pr.ci95[1]}, pr.fraction_agreeing,
                                 pr.n, margin, "+" if signs[name] > 0 else "-", pr.verdict,
                                 ", ".join(BEARS_ON[name])])
        idx = [a * len(fam.seeds) for a in range(len(fam.arms))]  # the first seed's surfaces in the figures
        figures.append(Figure(f"surfaces_{name}.png", plots.surfaces, (
            fam.name, fam.arms, p["axis"], p["surface"][idx], p["grad_norm"][idx] if "grad_norm" in p else None,
            m["plane_ratio"][idx], p.get("ratio_axis"), p["ratio"][idx] if "ratio" in p else None,
            cfg.grad_tol, cfg.ratio_tol, f"seed {fam.seeds[0]}"), caption=f"{name}: 2-D surfaces"))
        data[name] = {"arms": list(fam.arms), "seeds": fam.seeds.tolist(), "description": fam.description,
                      "per_seed": {k: v.tolist() for k, v in m.items() if k != "plane_ratio"},
                      "axis": p["axis"].tolist(), "t": p["t"].tolist(),
                      "interp_median": np.median(p["interp"].reshape(len(fam.arms), len(fam.seeds), -1), 1).tolist()}
    fams = [(out[n]["family"].name, out[n]["family"].arms, len(out[n]["family"].seeds),
             {**{k: out[n]["probe"][k] for k in ("t", "interp", "axis")},
              "row": out[n]["probe"]["surface"][:, out[n]["probe"]["surface"].shape[1] // 2]}) for n in cfg.families]
    figures[:0] = [Figure("interpolation.png", plots.lines, (fams, "interp"),
                          caption="loss along the initial-to-trained line"),
                   Figure("curves_1d.png", plots.lines, (fams, "surface"), caption="1-D filter-normalised curves")]
    tables.append(Table("Per arm: medians over seeds", ["family", "arm", "loss at θ1", "λmax", "λmin/abs(λmax)",
                                                        "non-convex share (plane)", "non-convex share (Lanczos map)",
                                                        "flat share", "plateau share", "interpolation rise",
                                                        "diverged in training"], per_arm_rows,
                        [None, None, ".3g", ".3g", ".3g", ".1%", ".1%", ".1%", ".1%", ".3g"],
                        note=f"Surfaces over [-{cfg.limit:g}, {cfg.limit:g}]^2 (filter-normalised units). "
                        f"Non-convex: λmin/abs(λmax) < -{cfg.ratio_tol:g}; flat: abs(grad L) < {cfg.grad_tol:g}; "
                        f"λ by Lanczos ({cfg.lanczos_iters} Hessian-vector products) on the evaluation set."))
    tables.append(Table("Paired comparisons (A - B per seed; the one rule)", [
        "family", "A - B", "measure", "median A", "median B", "median paired difference (sign-test 95% CI)",
        "seeds agreeing", "seeds", "δ", "hypothesis sign", "verdict", "bears on (seed statements)"], compared,
        [None, None, None, ".3g", ".3g", "{median:.3g} ({lo:.3g} to {hi:.3g})", ".0%", None, ".3g"],
        note="Hypothesis signs: fc, L2 - CE > 0 (seed 000 §1's argument: L2 plateaus and a sharp valley); cnn "
        "and resnet, A - B < 0 (the branch / the skips smooth and flatten the landscape, Li et al.'s finding for "
        "skips). 'supported' = the CI excludes 0 on the hypothesis' side. These are new findings: the seed "
        "statements named are context, not answered here."))
    setup = "; ".join(f"**{f.name}**: {f.description}, {len(f.seeds)} seeds per arm, evaluated on "
                      f"{len(f.batch[1])} training examples" for f in (out[n]["family"] for n in cfg.families))
    setup += (f". Surfaces: {cfg.fc_points}x{cfg.fc_points} (fc) and {cfg.net_points}x{cfg.net_points} (cnn, "
              f"resnet) points along two filter-normalised random directions, every point of every net a member "
              f"of one engine call per family; interpolation over {cfg.interp_points} points, t in [-0.5, 1.5].")
    notes.append("Seed statements these findings bear on (context; their verdicts are their own experiments'): "
                 + "; ".join(f"{n}: " + ", ".join(f"[`{i}`](../README.md#{i})" for i in BEARS_ON[n])
                             for n in cfg.families) + ".")
    data["compile_s"] = out["compile_s"]
    sharpness = {(r[0], r[1]): r[3] for r in per_arm_rows}  # (family, arm) -> median λmax at the minimum
    headline = "median top Hessian eigenvalue at the trained weights: " + "; ".join(
        " vs ".join(f"{arm} {sharpness[name, arm]:.3g}" for arm in out[name]["family"].arms) for name in cfg.families)
    return Summary("net_landscape", "Loss landscapes of the real networks: L2 vs CE, branch vs none, skips vs none",
                   setup, tables, [], notes, figures, data, headline=headline)


main = entry.main(Config, run, analyse, name="net_landscape")

