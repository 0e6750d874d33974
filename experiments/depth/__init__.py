r"""Gradient flow with depth: vanishing gradients and skip connections measured in deep nets as they train.

Seed 000 §2 says "ReLU does not have a vanishing gradient"; seed 004 Q4 that residual connections "help
mitigate the vanishing gradient problem and enable training of very deep networks". A vanishing gradient
is a property of depth: the first layers' gradient shrinking against the last ones' as layers are added
(Hochreiter 1991; Glorot & Bengio 2010). Two parts, every model trained by the engine, seeds and learning
rates on the model axis, every step recording each layer's (block's) gradient norm:

1. MLP depth sweep: width 64, 2 to 16 hidden layers (32 at --scale=full), no normalisation, plain SGD,
   on real digits. Four arms, the activation a per-model choice (one program per depth): sigmoid and
   tanh with Glorot uniform (their customary initialisation, and Keras' default), ReLU with He normal
   (its customary one), and ReLU with Glorot uniform: the shared-initialisation control, where seed k
   starts ReLU and sigmoid from identical weights. Per layer: gradient norm, flat units (act'(z) <
   0.01: saturated sigmoid/tanh, inactive ReLU), dead units (flat on a whole batch).
2. Plain vs residual: He et al. 2016's CIFAR nets (6n+2 layers, widths 16/32/64, option-A shortcuts,
   SGD momentum 0.9), the shortcut a per-model switch (plain and residual of one depth share one
   program and their initial weights), with BatchNorm as in the paper and without it (the control:
   framework-default LeCun initialisation, where each plain ReLU layer halves the signal, so a
   vanishing gradient is expected at initialisation).

Verdicts, paired by seed (`stats.paired`; margins beside their constants):
  relu_no_vanishing_gradient   log2(first / last hidden layer's gradient norm), median over the record
      steps, ReLU minus sigmoid at each arm's best lr, at every depth, with both initialisations; the
      verdict at the deepest depth; dead ReLU units reported with their own numbers.
  resnet_skips_vanishing       (a) mitigates: log10(first / last block's gradient norm) through training,
      residual minus plain; (b) enables training: log2 training loss at the budget, residual minus
      plain; both at the deepest depth, with and without BN; the parts combined (`stats.combine`).
  degradation (He et al.'s finding, a table): deepest vs shallowest plain net, deepest plain vs residual,
      deepest vs shallowest residual net.
CIFAR-10 is not available offline: He et al.'s numbers are quoted beside ours as theirs, not reproduced.

Command:
    python -m experiments.depth
Accelerator (--scale=full: MLP depths 2-32 on mnist5k, 3000 steps, 16 seeds; ResNet-20/56/110 on 32x32
svhn_synth, a SYNTHETIC stand-in, 50,000 images, widths 16/32/64, batch 128, 2000 steps, 6 seeds; pass
--resnet_dataset=cifar10 where tfds has it prepared):
    python -m experiments.depth --scale=full
Not run yet (no accelerator was lent to this work). Expected runtime, an estimate: the ResNets are ~1.6e16
training FLOPs (3 x forward x images, 24 models per depth and norm); 16-64-channel convolutions keep an H100
far below its peak, so at 10-20 TFLOP/s about 15-25 min, plus compiles and generating svhn_synth once.

Runtime: ~5 min on 2 CPU cores (CPU default): 286 s in the committed run, 115 s of it compiling ten
programs.

Expected (CPU default): log2(first / last hidden layer's gradient norm) through training, sigmoid -2.8,
-13.1 and -29.9 at 4, 8 and 16 layers, ReLU (He init) 1.1, 1.2 and 1.1: relu_no_vanishing_gradient
supported at 16 layers with both initialisations (at 2 layers neither vanishes: not reproduced). ReLU with
Glorot init at 16 layers starts at -4.1 and trains in 38% of runs. Deep sigmoid nets stay at chance (loss
2.306 at 8 and 16 layers). Dead ReLU units at 16 layers: 8.2% of hidden units (11.6% with Glorot), in 100% of
runs. Plain vs residual at 20 layers, with BN: training loss 0.180 plain vs 0.012 residual, plain-8 0.031
(degradation reproduced: plain-20 above plain-8, 2.8 log2, and above residual-20); residual-20 vs
residual-8 not resolved. Without BN plain-20 stays at chance (2.303) with a first/last block gradient of
0.000294 through training (residual 1.32). resnet_skips_vanishing partly supported: mitigates vanishing
gradients only where there is one (no BN: supported; with BN 1.46 vs 0.899: not reproduced), enables
training of deep nets supported with and without BN.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from absl import flags

from experiments.depth import plots as depth_plots
from experiments.depth import tasks as depth
from jaxdl.analysis import curves, stats
from jaxdl.data import IMAGE_DATASETS, batching
from jaxdl.experiment import config, entry
from jaxdl.models.cifar_resnet import blocks_for
from jaxdl.reporting import verdicts
from jaxdl.reporting.summary import Claim, Figure, Summary, Table, censored_if
from jaxdl.tasks import classify
from jaxdl.training import engine, grid

# The four MLP arms: (activation, initialisation). Sigmoid and tanh at Glorot uniform are both their
# customary initialisation and the shared control's; ReLU appears under each.
ARMS = (("sigmoid", "glorot_uniform"), ("tanh", "glorot_uniform"), ("relu", "he_normal"), ("relu", "glorot_uniform"))
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INIT_NAMES = ("glorot_uniform", "he_normal")
# ReLU vs sigmoid pairs: (label, ReLU arm, sigmoid arm).
RELU_PAIRS = (("customary init", 2, 0), ("shared init", 3, 0))
# A vanishing gradient shrinks the first layers' share by factors that compound with depth (a sigmoid's
# slope is at most 1/4 per layer); first/last ratios within 2x of each other are the same gradient flow.
RATIO_MARGIN_LOG2 = 1.0
RATIO_MARGIN_LOG10 = float(np.log10(2.0))
# Training losses within 10% of each other are the same trainability at a fixed budget; He et al.'s
# degradation (plain-56 vs plain-20) is a gap of several points of training error, far larger.
LOSS_MARGIN_LOG2 = float(np.log2(1.1))
# He et al. 2016, CIFAR-10 (Table 6, test error %, and §4.2's training-error observation).
HE_TEST_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43}
NORMS = ("bn", "none")


@dataclasses.dataclass(frozen=True)
class Config(classify.DataConfig, config.Common):
    out: str = config.field("results/depth", "Output directory.")
    parts: tuple[str, ...] = config.field(("mlp", "resnet"), "Which parts to run.", choices=("mlp", "resnet"))
    # -- MLP depth sweep
    mlp_dataset: str = config.field("digits", "Dataset of the MLP sweep (jaxdl.data).", choices=IMAGE_DATASETS)
    mlp_depths: tuple[int, ...] = config.field((2, 4, 8, 16), "Hidden layers of the MLPs.", lower=2)
    mlp_width: int = config.field(64, "Units per hidden layer.", lower=1)
    mlp_lr: tuple[float, ...] = config.field((0.03, 0.1, 0.3), "SGD learning rates (each arm's best is used).",
                                             lower=0, strict=True)
    mlp_batch_size: int = config.field(64, "MLP minibatch size.", lower=1)
    mlp_steps: int = config.field(1000, "MLP training steps (the fixed budget).", lower=1)
    mlp_record_every: int = config.field(10, "Record every this many MLP steps.", lower=1)
    target_acc: float = config.field(0.9, "Trainability target: smoothed batch training accuracy.", lower=0, upper=1)
    # -- plain vs residual
    resnet_dataset: str = config.field("digits", "Dataset of the ResNets (jaxdl.data).", choices=IMAGE_DATASETS)
    train_size: int = config.field(0, "ResNet training examples (0 = the whole split).", lower=0)
    resnet_depths: tuple[int, ...] = config.field((8, 14, 20), "ResNet depths, 6n+2.", lower=8)
    resnet_widths: tuple[int, ...] = config.field((16, 32, 64), "Widths of the three stages.", lower=1)
    norms: tuple[str, ...] = config.field(NORMS, "bn (the paper's) and/or none (the control).", choices=NORMS)
    resnet_seeds: int = config.field(6, "Seeds per ResNet arm (the sign test needs 6 to decide).", lower=1)
    bn_lr: float = config.field(0.1, "SGD+momentum learning rate with BN (He et al.'s).", lower=0, strict=True)
    nobn_lr: float = config.field(0.02, "Learning rate without BN.", lower=0, strict=True)
    nobn_init: str = config.field("lecun_normal", "Kernel initialisation without BN (with BN: He normal).",
                                  choices=tuple(depth.INITS))
    resnet_batch_size: int = config.field(32, "ResNet minibatch size.", lower=1)
    resnet_steps: int = config.field(300, "ResNet training steps (the fixed budget).", lower=1)
    resnet_record_every: int = config.field(5, "Record every this many ResNet steps.", lower=1)
    chunk_steps: int = config.field(500, "Steps per compiled chunk.", lower=1)

    @classmethod
    def full(cls):
        return cls(scale="full", seeds=16, mlp_dataset="mnist5k", mlp_depths=(2, 4, 8, 16, 32),
                   mlp_lr=(0.01, 0.03, 0.1, 0.3), mlp_steps=3000, resnet_dataset="svhn_synth", train_size=50_000,
                   resnet_depths=(20, 56, 110), resnet_seeds=6, resnet_batch_size=128, resnet_steps=2000,
                   resnet_record_every=20, mlp_record_every=20)

    def validate(self):
        for d in self.resnet_depths:
            try:
                blocks_for(d)
            except ValueError as err:
                raise flags.ValidationError(f"--resnet_depths: {err}") from None
        if len(self.resnet_widths) != 3:
            raise flags.ValidationError("--resnet_widths: give three widths, one per stage")
        if self.mlp_steps % self.mlp_record_every or self.resnet_steps % self.resnet_record_every:
            raise flags.ValidationError("--mlp_steps and --resnet_steps must be multiples of their --*_record_every")




def load_train(cfg, name: str, size: int = 0):
    ds = cfg.load(name, "train", **({"size": size} if size else {}))
    mean, std = batching.channel_stats(ds.images)
    return ds, mean, std, {"train": (jnp.asarray(ds.images), jnp.asarray(ds.labels))}


def mlp_grid(cfg) -> tuple[grid.Grid, dict]:
    """Arms x lrs x seeds, with each arm's activation and initialisation as per-model indices."""
    g = grid.Grid(cfg.seed_ids, arm=range(len(ARMS)), lr=cfg.mlp_lr)
    arm = g.hparams["arm"].astype(int)
    act = np.array([ACTIVATIONS.index(a) for a, _ in ARMS])[arm]
    init = np.array([INIT_NAMES.index(i) for _, i in ARMS])[arm]
    return g, {"lr": g.hparams["lr"], "activation": act, "init": init}


def resnet_grid(cfg) -> grid.Grid:
    return grid.Grid(np.arange(cfg.first_seed, cfg.first_seed + cfg.resnet_seeds), skip=(0, 1))


def train(cfg, task, g, hparams, data, steps, record_every, label) -> engine.Result:
    trainer = engine.make_train(task, steps=steps, chunk_steps=cfg.chunk_steps, record_every=record_every,
                                group=cfg.engine_group(engine.default_group()))
    return trainer(g.keys, hparams, data, label=label)


def run(cfg: Config) -> dict:
    out = {"mlp": {}, "resnet": {}}
    if "mlp" in cfg.parts:
        ds, mean, std, data = load_train(cfg, cfg.mlp_dataset)
        g, hp = mlp_grid(cfg)
        for d in cfg.mlp_depths:
            task = depth.mlp_task(depth=d, width=cfg.mlp_width, activations=ACTIVATIONS, inits=INIT_NAMES,
                                  input_shape=ds.shape, num_classes=ds.num_classes, num_train=len(ds),
                                  batch_size=cfg.mlp_batch_size, mean=mean, std=std)
            out["mlp"][d] = train(cfg, task, g, hp, data, cfg.mlp_steps, cfg.mlp_record_every, f"mlp depth {d}")
        out["mlp_data"] = ds.metadata()
    if "resnet" in cfg.parts:
        ds, mean, std, data = load_train(cfg, cfg.resnet_dataset, cfg.train_size)
        g = resnet_grid(cfg)
        for norm in cfg.norms:
            for d in cfg.resnet_depths:
                task = depth.resnet_task(blocks_per_stage=blocks_for(d), widths=cfg.resnet_widths, norm=norm == "bn",
                                         kernel_init="he_normal" if norm == "bn" else cfg.nobn_init,
                                         input_shape=ds.shape, num_classes=ds.num_classes, num_train=len(ds),
                                         batch_size=cfg.resnet_batch_size, mean=mean, std=std)
                lr = np.full(g.size, cfg.bn_lr if norm == "bn" else cfg.nobn_lr, np.float32)
                out["resnet"][norm, d] = train(cfg, task, g, {**g.hparams, "lr": lr}, data, cfg.resnet_steps,
                                               cfg.resnet_record_every, f"resnet-{d} {norm}")
        out["resnet_data"] = ds.metadata()
    results = [*out["mlp"].values(), *out["resnet"].values()]
    out["compile_s"] = sum(r.compile_s for r in results)
    return out


# -- measures per model ------------------------------------------------------------------------------

def final_loss(result: engine.Result, num_classes: int) -> np.ndarray:
    """[models]: mean batch training loss over the last tenth of the records; a diverged model counts as
    chance (ln C: it learned nothing usable), and the tables count them."""
    loss = result.metrics["loss"]
    tail = loss[:, -max(1, loss.shape[1] // 10):]
    return np.where(result.diverged, np.log(num_classes), np.nanmean(tail, axis=1))


def log_ratio(norms: np.ndarray, base: float) -> np.ndarray:
    """log(first / last) of gradient norms [..., parts]: -inf where the first part's gradient is exactly 0
    (floored at 1e-30), NaN where the last one's is (no gradient to compare with) or the model diverged."""
    first, last = norms[..., 0], norms[..., -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(np.maximum(first, 1e-30) / last) / np.log(base)
    return np.where(last > 0, r, np.nan)


def through_training(ratio: np.ndarray) -> np.ndarray:
    """[models, records] -> [models]: the median over the record steps (all of training)."""
    with np.errstate(all="ignore"):
        return np.nanmedian(ratio, axis=1)


def steps_to_target(result: engine.Result, target: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps [models] censored at `steps`, hit [models] -1 = never): first record step whose batch accuracy,
    as a trailing median of 5 records, reaches `target`."""
    smooth = curves.moving_median(np.nan_to_num(result.metrics["acc"], nan=0.0), 5)
    hit = curves.first_hit_step(result.record_steps, smooth, target)
    return stats.censored_iterations(hit, steps), hit


# -- MLP analysis ------------------------------------------------------------------------------------

def mlp_measures(cfg, out) -> dict:
    """depth -> {measure: [arms, lrs, seeds]} and each arm's best lr index (lowest median final loss)."""
    g, _ = mlp_grid(cfg)
    classes = out["mlp_data"]["num_classes"]
    by_depth = {}
    for d, r in out["mlp"].items():
        hidden = r.metrics["grad_norm"][..., :d]  # the output layer left out: first vs last HIDDEN layer
        ratio = log_ratio(hidden, 2.0)
        ratio = np.where(r.diverged[:, None], np.nan, ratio)
        iters, hit = steps_to_target(r, cfg.target_acc, cfg.mlp_steps)
        m = {"loss": final_loss(r, classes), "ratio_init": ratio[:, 0], "ratio": through_training(ratio),
             "ratio_end": ratio[:, -1], "iters": iters, "hit": hit, "diverged": r.diverged,
             "dead_end": np.mean(r.metrics["dead"][:, -1], 1), "dead_worst_layer": np.max(r.metrics["dead"][:, -1], 1),
             "flat_end": np.nanmean(r.metrics["flat"][:, -1], 1),
             "dead_by_layer_end": r.metrics["dead"][:, -1], "flat_by_layer_end": r.metrics["flat"][:, -1],
             "grad_norm_by_layer_init": r.metrics["grad_norm"][:, 0]}
        m = {k: g.reshape(v) for k, v in m.items()}
        best = [int(np.argmin([np.median(m["loss"][a, i]) for i in range(len(cfg.mlp_lr))])) for a in range(len(ARMS))]
        by_depth[d] = {"m": m, "best": best,
                       "layer_norms": g.reshape(np.log10(np.maximum(r.metrics["grad_norm"][..., :d], 1e-30))),
                       "steps": r.record_steps}
    return by_depth


def arm_label(a: int) -> str:
    act, init = ARMS[a]
    return f"{act} ({init})"


def at_best(mm: dict, key: str, a: int) -> np.ndarray:
    return mm["m"][key][a, mm["best"][a]]


def mlp_row(cfg, mm, d: int, a: int) -> list:
    med = lambda key: float(np.nanmedian(at_best(mm, key, a)))  # noqa: E731
    iters = med("iters")
    return [d, arm_label(a), cfg.mlp_lr[mm["best"][a]], med("loss"),
            censored_if(iters, iters >= cfg.mlp_steps), float(np.mean(at_best(mm, "hit", a) >= 0)),
            med("ratio_init"), med("ratio"), med("ratio_end"), 100 * med("dead_end"), 100 * med("dead_worst_layer"),
            float(np.mean(at_best(mm, "dead_end", a) > 0)), 100 * med("flat_end"),
            int(at_best(mm, "diverged", a).sum())]


def mlp_table(cfg, by_depth) -> Table:
    rows = [mlp_row(cfg, mm, d, a) for d, mm in by_depth.items() for a in range(len(ARMS))]
    return Table("MLP depth sweep, each arm at its best learning rate (medians over seeds)",
                 ["hidden layers", "arm (init)", "best lr", f"train loss at {cfg.mlp_steps} steps",
                  f"steps to {cfg.target_acc:.0%} batch acc", "reached", "log2 first/last, init",
                  "log2 first/last, training", "log2 first/last, end", "dead units at end %", "worst layer's dead %",
                  "runs with a dead unit at end", "flat pairs at end %", "diverged"], rows,
                 formats=[None, None, "g", ".3f", ".0f", ".0%", ".1f", ".1f", ".1f", ".1f", ".1f", ".0%", ".0f"],
                 note="log2 first/last: the first hidden layer's gradient norm over the last hidden layer's (0: "
                      "equal; -10: the first layer gets ~1/1000 of the last one's). Training: the median over every "
                      "record step. Dead unit: flat (act'(z) < 0.01) on every example of the last record step's "
                      "batch, as a share of all hidden units (and of the worst layer's); flat pairs: (unit, example) "
                      "pairs with act'(z) < 0.01. Steps to target: first record step whose batch accuracy (trailing "
                      "median of 5 records) reaches it; '>= cap' when the median run never does (censored: compared by "
                      "rank only). A diverged run's loss counts as chance (ln 10).")


def relu_claim(by_depth) -> tuple[Claim, Table]:
    """ReLU minus sigmoid, log2 first/last ratio through training, at every depth and with both inits. A
    vanishing gradient is a property of depth, so the verdict is read at the deepest depth of the sweep (both
    inits, combined), as resnet_skips_vanishing's; the shallower depths stand beside it in the text."""
    parts, rows = [], []
    for d, mm in by_depth.items():
        for label, relu, sig in RELU_PAIRS:
            p = stats.paired(at_best(mm, "ratio", relu), at_best(mm, "ratio", sig), claimed_sign=1,
                             margin=RATIO_MARGIN_LOG2)
            parts.append((d, label, p))
            rows.append([d, label, float(np.nanmedian(at_best(mm, "ratio", relu))),
                         float(np.nanmedian(at_best(mm, "ratio_init", relu))),
                         float(np.nanmedian(at_best(mm, "ratio", sig))), p, p.verdict])
    deepest = by_depth[max(by_depth)]
    dead = {a: (100 * np.mean(at_best(deepest, "dead_end", a) > 0), 100 * np.median(at_best(deepest, "dead_end", a)))
            for a in (2, 3)}
    text = ("log2(first / last hidden layer's gradient norm), median over training, ReLU minus sigmoid at each arm's "
            f"best lr, paired by seed (δ = {RATIO_MARGIN_LOG2:g}, a factor 2): "
            + "; ".join(f"{d} layers, {lab}: ReLU {r[2]:.1f} (init {r[3]:.1f}) vs sigmoid {r[4]:.1f}, {p.verdict}"
                        for (d, lab, p), r in zip(parts, rows, strict=True))
            + f"; verdict at {max(by_depth)} layers. Dead ReLU units (a failure mode of its own, not a vanishing "
            f"gradient): at {max(by_depth)} layers {dead[2][1]:.1f}% of hidden units dead at the end (He init; "
            f"{dead[3][1]:.1f}% with Glorot), in {dead[2][0]:.0f}% and {dead[3][0]:.0f}% of runs")
    # The verdict's parts: the deepest depth, both inits; the shallower depths are context in the text.
    claim = verdicts.claim("relu_no_vanishing_gradient", [(f"{d} layers, {lab}: {p.verdict}", p)
                                                          for d, lab, p in parts if d == max(by_depth)], ours=text,
                           context={f"{d} layers, {lab}": dataclasses.asdict(p) for d, lab, p in parts})
    return claim, Table("ReLU vs sigmoid: first/last hidden layer gradient ratio through training, paired by seed",
                        ["hidden layers", "ReLU arm vs sigmoid", "ReLU log2 ratio", "ReLU at init",
                         "sigmoid log2 ratio", "paired difference", "verdict"], rows,
                        formats=[None, None, ".1f", ".1f", ".1f", lambda p: p.describe(" log2")])


# -- ResNet analysis ---------------------------------------------------------------------------------

def resnet_measures(cfg, out) -> dict:
    """(norm, depth) -> {measure: [arms (plain, residual), seeds]}."""
    g, classes = resnet_grid(cfg), out["resnet_data"]["num_classes"]
    by = {}
    for key, r in out["resnet"].items():
        ratio = np.where(r.diverged[:, None], np.nan, log_ratio(r.metrics["grad_norm"], 10.0))
        m = {"loss": final_loss(r, classes), "log2_loss": np.log2(final_loss(r, classes)), "ratio_init": ratio[:, 0],
             "ratio": through_training(ratio), "diverged": r.diverged}
        by[key] = {k: g.reshape(v) for k, v in m.items()}
        by[key]["curve"] = g.reshape(r.metrics["loss"])
        by[key]["ratio_curve"] = g.reshape(ratio)
        by[key]["steps"] = r.record_steps
    return by


def resnet_table(cfg, by) -> Table:
    rows = []
    for (norm, d), m in by.items():
        for arm, name in ((0, "plain"), (1, "residual")):
            rows.append([norm, d, name, float(np.median(m["loss"][arm])),
                         {"lo": float(np.min(m["loss"][arm])), "hi": float(np.max(m["loss"][arm]))},
                         float(10 ** np.nanmedian(m["ratio_init"][arm])), float(10 ** np.nanmedian(m["ratio"][arm])),
                         int(m["diverged"][arm].sum()), HE_TEST_ERROR[d] / 100 if arm and d in HE_TEST_ERROR else None])
    return Table(f"Plain vs residual CIFAR-style nets, {cfg.resnet_steps} steps (medians over seeds)",
                 ["norm", "layers", "net", "train loss at budget", "range over seeds", "first/last block grad, init",
                  "first/last, training", "diverged", "He et al. test error (CIFAR-10, theirs)"], rows,
                 formats=[None, None, None, ".3f", "{lo:.3f}-{hi:.3f}", ".3g", ".3g", None,
                          lambda e: f"{100 * e:g}%"],
                 note="Train loss: mean batch CE over the last tenth of the budget. First/last: the first block's "
                      "gradient norm over the last block's (below 1: the early blocks get less); training: the "
                      "median over every record step. He et al.'s column is their CIFAR-10 test error (Table 6), "
                      "quoted, not reproduced: CIFAR-10 is not available offline.")


def degradation(cfg, by) -> tuple[list, Table]:
    """He et al.'s findings at equal budget, paired by seed, per norm: (norm, finding, Paired)."""
    lo, hi = min(cfg.resnet_depths), max(cfg.resnet_depths)
    found = []
    for norm in cfg.norms:
        shallow, deep = by[norm, lo], by[norm, hi]
        found += [(norm, f"plain-{hi} loss above plain-{lo}", stats.paired(
                      deep["log2_loss"][0], shallow["log2_loss"][0], claimed_sign=1, margin=LOSS_MARGIN_LOG2)),
                  (norm, f"plain-{hi} loss above residual-{hi}", stats.paired(
                      deep["log2_loss"][0], deep["log2_loss"][1], claimed_sign=1, margin=LOSS_MARGIN_LOG2)),
                  (norm, f"residual-{hi} loss below residual-{lo}", stats.paired(
                      deep["log2_loss"][1], shallow["log2_loss"][1], claimed_sign=-1, margin=LOSS_MARGIN_LOG2))]
    rows = [[norm, f, p, p.verdict] for norm, f, p in found]
    return found, Table("Degradation (He et al. §4.2), equal budget, paired by seed (log2 training loss)",
                        ["norm", "He et al.'s finding", "ours", "verdict"], rows,
                        formats=[None, None, lambda p: p.describe(" log2")],
                        note=f"δ = log2(1.1) = {LOSS_MARGIN_LOG2:.3f}: losses within 10% are the same trainability. "
                             "He et al. (CIFAR-10, 64k iterations): plain-56 trains to a higher error than plain-20 "
                             "(Fig. 6), residual nets improve with depth (ResNet-20 8.75% ... ResNet-110 6.43% test "
                             "error). 'supported' = reproduced here; 'not reproduced' = an effect within δ.")


def skips_claim(cfg, by) -> Claim:
    hi = max(cfg.resnet_depths)
    mitigate = {n: stats.paired(by[n, hi]["ratio"][1], by[n, hi]["ratio"][0], claimed_sign=1,
                                margin=RATIO_MARGIN_LOG10) for n in cfg.norms}
    enable = {n: stats.paired(by[n, hi]["log2_loss"][1], by[n, hi]["log2_loss"][0], claimed_sign=-1,
                              margin=LOSS_MARGIN_LOG2) for n in cfg.norms}
    med = lambda n, k, arm: float(np.nanmedian(by[n, hi][k][arm]))  # noqa: E731
    a = "; ".join(f"{n}: first/last block gradient, median over training, residual {10 ** med(n, 'ratio', 1):.3g} vs "
                  f"plain {10 ** med(n, 'ratio', 0):.3g} (at init {10 ** med(n, 'ratio_init', 1):.3g} vs "
                  f"{10 ** med(n, 'ratio_init', 0):.3g}), {p.verdict}" for n, p in mitigate.items())
    b = "; ".join(f"{n}: training loss at {cfg.resnet_steps} steps residual {med(n, 'loss', 1):.3f} vs plain "
                  f"{med(n, 'loss', 0):.3f}, {p.verdict}" for n, p in enable.items())
    va = stats.combine([(n, p.verdict) for n, p in mitigate.items()])
    vb = stats.combine([(n, p.verdict) for n, p in enable.items()])
    text = (f"{hi}-layer CIFAR-style nets trained, residual vs plain, paired by seed. Mitigates vanishing gradients "
            f"[{va}] (log10 ratio, δ = log10 2): {a}. Enables training of very deep nets [{vb}] (log2 loss, δ = "
            f"log2 1.1): {b}")
    parts = [*((f"mitigates, {n}: {p.verdict}", p) for n, p in mitigate.items()),
             *((f"enables training, {n}: {p.verdict}", p) for n, p in enable.items())]
    return verdicts.claim("resnet_skips_vanishing", parts, ours=text, context={"mitigates": va, "enables": vb})


def analyse(cfg: Config, out: dict) -> Summary:
    tables, claims, figures, notes, data, setup = [], [], [], [], {}, []
    if out["mlp"]:
        by_depth = mlp_measures(cfg, out)
        claim, ratio_table = relu_claim(by_depth)
        tables += [mlp_table(cfg, by_depth), ratio_table]
        claims.append(claim)
        heatmaps = {d: {k: mm[k] for k in ("layer_norms", "best", "steps")} for d, mm in by_depth.items()}
        figures.append(Figure("mlp_gradients.png", depth_plots.layer_heatmaps, (heatmaps, ARMS),
                              caption="per-layer gradient norm over training"))
        setup.append(f"MLP: `{cfg.mlp_dataset}` ({out['mlp_data']['num_examples']} training images), {cfg.mlp_width} "
                     f"units x {'/'.join(map(str, cfg.mlp_depths))} hidden layers, no normalisation, plain SGD at lr "
                     f"{'/'.join(f'{x:g}' for x in cfg.mlp_lr)} (each arm's best by median loss), batch "
                     f"{cfg.mlp_batch_size}, {cfg.mlp_steps} steps, {cfg.seeds} seeds; arms "
                     + ", ".join(map(arm_label, range(len(ARMS))))
                     + ": Glorot uniform is the customary init of sigmoid and tanh, He normal ReLU's; ReLU "
                       "(glorot_uniform) is the shared-init control (seed k: the same weights as sigmoid).")
        data["mlp"] = {str(d): {"best_lr": [cfg.mlp_lr[b] for b in mm["best"]],
                                **{k: v.tolist() for k, v in mm["m"].items()}} for d, mm in by_depth.items()}
    if out["resnet"]:
        by = resnet_measures(cfg, out)
        tables.append(resnet_table(cfg, by))
        if len(cfg.resnet_depths) > 1:
            found, deg_table = degradation(cfg, by)
            tables.append(deg_table)
            notes.append(reproduced_note(found))
        claims.append(skips_claim(cfg, by))
        figures += [Figure("resnet_curves.png", depth_plots.resnet_curves, (by, cfg.norms, cfg.resnet_depths),
                           caption="training loss, plain vs residual"),
                    Figure("resnet_gradients.png", depth_plots.resnet_ratios, (by, cfg.norms, cfg.resnet_depths),
                           caption="first/last block gradient ratio over training")]
        setup.append(f"Plain vs residual: `{cfg.resnet_dataset}` ({out['resnet_data']['num_examples']} training images "
                     f"{'x'.join(map(str, out['resnet_data']['shape']))}), He et al.'s CIFAR nets with "
                     f"{'/'.join(map(str, cfg.resnet_depths))} layers, widths {'/'.join(map(str, cfg.resnet_widths))}, "
                     f"option-A shortcuts switched per model, SGD momentum 0.9, batch {cfg.resnet_batch_size}, "
                     f"{cfg.resnet_steps} steps, {cfg.resnet_seeds} seeds per arm; with BN (He normal, lr "
                     f"{cfg.bn_lr:g}) and without (control: {cfg.nobn_init}, lr {cfg.nobn_lr:g}). CIFAR-10 is not "
                     "available offline, so He et al.'s numbers are quoted as theirs, not reproduced.")
        data["resnet"] = {f"{n}-{d}": {k: np.asarray(v).tolist() for k, v in m.items() if k != "steps"}
                          for (n, d), m in by.items()}
        notes.append("Context: experiments/svhn_zoo measures ResNet-18/50 block gradients at initialisation only "
                     "(first/last ratios above 1 with and without skips, BN): with BN there is no vanishing gradient "
                     "at initialisation to mitigate, so that measurement cannot answer resnet_skips_vanishing.")
    return Summary("depth", "Gradient flow with depth: deep MLPs and plain vs residual nets, trained", " ".join(setup),
                   tables, claims, notes, figures, data)


def reproduced_note(found) -> str:
    words = {stats.SUPPORTED: "reproduced", stats.CONTRADICTED: "the opposite found",
             stats.NOT_REPRODUCED: stats.NOT_REPRODUCED, stats.NOT_RESOLVED: stats.NOT_RESOLVED}
    return "He et al.'s qualitative findings here: " + "; ".join(
        f"{norm}: {f} — {words.get(stats.verdict_head(p.verdict), p.verdict)}" for norm, f, p in found) + "."


main = entry.main(Config, run, analyse, name="depth")
