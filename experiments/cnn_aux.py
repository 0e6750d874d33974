r"""CNN with an auxiliary L2 regression branch: does it converge faster, end better, spike less?

Seed 000, section 4 trained a conv-pool-conv-pool-dense CNN with cross-entropy (CE), then added an L2
regression branch and claimed, from one run each, that the branch (a) "helps it converge faster",
(b) makes accuracy "improve and stabilize", and (c) removes a loss "blip": three without it, two with it.

Model: jaxdl.models.SmallCNN with a classification head (CE) and a regression head on the same 128
features, trained with total loss CE + λ·L2. L2 is the mean squared error of the head against a target
standardised with its training-set mean and std, so L2 starts near 1 whatever the target and λ weighs
the same thing for each. Targets (--target), each a function of the uint8 image and the label:
  digit_value (default)  the label as a number (3 -> 3.0), standardised. The default because it is the
                         regression the seed's course asks for (predict the digit as a number beside
                         its class), and the only one that carries no information beyond the label;
  centroid               the ink centre of mass (x, y), in image-size units (0.5 = the middle);
  ink                    the mean pixel intensity.

Design. The model always has the regression head, so every λ and seed of a target is one compiled
program (engine hparams {"lr", "aux_weight"}); with λ = 0 the head gets zero gradient and the trunk
gets exactly the CE-only gradient (tested against a model without the head). Seed k gives the same
initial weights and the same batch order at every λ, so λ effects are measured per seed, paired.
Held-out curves use a stratified validation split of the training set (--validation_fraction); the
final accuracy is measured once, on the test split. Train CE is the CE of each recorded step's batch.

Quantities and verdicts (summary.md, "Seed claim vs our measurement"), each λ > 0 against λ = 0, as the
median over seeds of the paired difference with a bootstrap 95% CI (verdict "supported" when the CI
excludes 0 in the claimed direction, "contradicted" when it excludes 0 the other way):
  faster       iterations until held-out accuracy first reaches --target_acc (evaluated every
               --eval_every steps and after the last; a run that never reaches it counts as
               --steps + --eval_every, a lower bound, and the table marks a censored median ">");
  better       final test accuracy;
  stabilizes   std of held-out accuracy over the last half of training;
  fewer blips  spikes per run. A spike: the held-out CE rises above --spike_factor times its running
               minimum (the lowest earlier value); it ends when the CE falls back below that threshold,
               so one excursion counts once. Counted on the train CE too, after a moving median of
               --spike_window records (the raw batch CE jumps by 2x from batch to batch).

Batching: vmapping conv weights over models turns convolutions into grouped convolutions, which XLA:CPU
runs slower than one model at a time, and inside lax.scan XLA:CPU runs jax's gradient convolutions 9x
slower than outside (jaxdl.models.scan_conv works around it on CPU). benchmarks/cnn_bench.py measures
model-steps/s for group=None (vmap all), small groups and 1 (lax.map), on 1 and 2 devices, with both
convolutions (results/bench.md: one model at a time per device on 2 devices, 39 model-steps/s, beats
vmap-all 3.1x and flax's convolution 9x); --group defaults to 1 on CPU and to vmap-all on GPU.

Command (CPU default, ~2 min on 2 idle cores; 8 seeds x λ in {0, 0.1, 1}, mnist5k, 200 iterations = 4 epochs):
    python -m experiments.cnn_aux
Other targets / datasets:
    python -m experiments.cnn_aux --target=centroid --out=results/cnn_aux_centroid
    python -m experiments.cnn_aux --dataset=svhn_synth --out=results/cnn_aux_svhn
GPU (--scale=full presets, each overridable): full MNIST via tfds (prepare it first, see jaxdl.data),
32 seeds, λ in {0, 0.03, 0.1, 0.3, 1}, 5 epochs; minutes on one H100.
    python -m experiments.cnn_aux --scale=full --out=results/cnn_aux_full

Expected result: see results/cnn_aux/summary.md.
"""

from __future__ import annotations

import time

import jaxdl  # noqa: F401  (sets the host device count before jax starts)

# isort: split
import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from jaxdl import classify, cli, engine, io, losses, optim, plots, provenance, stats
from jaxdl.data import IMAGE_DATASETS, NotPreparedError, batching, define_flags, load_from_flags, split_validation
from jaxdl.models.cnn import SmallCNN
from jaxdl.models.scan_conv import ScanFriendlyConvs, wrap_for_backend

FLAGS = flags.FLAGS


# -- regression targets: uint8 images [B, H, W, C], labels [B] -> float32 [B, outputs] ------------------

def digit_value(images: jax.Array, labels: jax.Array) -> jax.Array:
    """The label as a number: [B, 1]."""
    del images
    return jnp.asarray(labels, jnp.float32)[:, None]


def centroid(images: jax.Array, labels: jax.Array) -> jax.Array:
    """Ink centre of mass (x, y) in image-size units, pixel centres at (i + 0.5) / size: [B, 2].
    An image without ink has its centroid at the middle (0.5, 0.5)."""
    del labels
    ink = jnp.asarray(images, jnp.float32).mean(-1)  # [B, H, W]
    h, w = ink.shape[1:]
    total = ink.sum((1, 2))
    xs, ys = (jnp.arange(w) + 0.5) / w, (jnp.arange(h) + 0.5) / h
    safe = jnp.where(total > 0, total, 1.0)
    cx = jnp.where(total > 0, ink.sum(1) @ xs / safe, 0.5)
    cy = jnp.where(total > 0, ink.sum(2) @ ys / safe, 0.5)
    return jnp.stack([cx, cy], -1)


def ink(images: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean pixel intensity in [0, 1]: [B, 1]."""
    del labels
    return jnp.asarray(images, jnp.float32).mean((1, 2, 3))[:, None] / 255.0


TARGETS = {"digit_value": digit_value, "centroid": centroid, "ink": ink}
TARGET_OUTPUTS = {"digit_value": 1, "centroid": 2, "ink": 1}


def target_stats(target: str, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std [outputs] of a target over a training split (host side, in blocks)."""
    fn = jax.jit(TARGETS[target])
    values = np.concatenate([np.asarray(fn(images[i:i + 4096], labels[i:i + 4096]))
                             for i in range(0, len(labels), 4096)])
    return values.mean(0).astype(np.float32), np.maximum(values.std(0), 1e-6).astype(np.float32)


def make_objective(target: str, mean, std):
    """CE + λ·L2 for classify.make_task; λ = hp["aux_weight"], L2 = MSE of the standardised target.

    The returned loss *value* is the CE alone, its *gradient* that of CE + λ·L2: classify records the
    objective's value as the train "loss" metric, and we want that curve to be the CE at every λ (the
    quantity the seed plotted, comparable across λ). `l2 - stop_gradient(l2)` is exactly 0 in value and
    has l2's gradient.
    """
    fn = TARGETS[target]

    def objective(outputs, images, labels, hp):
        logits, regression = outputs
        z = (fn(images, labels) - mean) / std
        l2 = jnp.mean(jnp.square(regression - z))
        # classify's held-out evaluation passes hp={} and keeps only the logits.
        aux_weight = hp.get("aux_weight", 0.0)
        return losses.softmax_ce(logits, labels) + aux_weight * (l2 - jax.lax.stop_gradient(l2)), logits

    return objective


def total_loss(model, params, images, labels, objective, aux_weight, mean, std) -> jax.Array:
    """The loss whose gradient training follows, CE + λ·L2, for one model (used by tests)."""
    outputs = model.apply({"params": params}, batching.normalize(images, mean, std), train=False)
    return objective(outputs, images, labels, {"aux_weight": aux_weight})[0]


def make_task(target: str, *, num_classes: int, input_shape, train_images, train_labels, optimizer: str,
              batch_size: int, eval_every: int, scan_friendly: bool | None = None):
    """(model, engine Task) for one target; hparams per model: lr, aux_weight. `scan_friendly`: the
    SmallCNN's convolutions run as jaxdl.models.scan_conv's (None: on CPU only; False: flax's own)."""
    model = SmallCNN(num_classes=num_classes, regression_outputs=TARGET_OUTPUTS[target])
    if scan_friendly is None:
        model = wrap_for_backend(model)
    elif scan_friendly:
        model = ScanFriendlyConvs(model)
    mean, std = batching.channel_stats(train_images)
    t_mean, t_std = target_stats(target, train_images, train_labels)
    task = classify.make_task(
        model, optim.make_optimizer(optimizer), num_train=len(train_labels), batch_size=batch_size,
        input_shape=tuple(input_shape), mean=mean, std=std, eval_every=eval_every,
        objective=make_objective(target, t_mean, t_std),
    )
    return model, task


# -- statistics of the curves ---------------------------------------------------------------------------

def iterations_to_accuracy(steps: np.ndarray, acc: np.ndarray, target: float, censored: int) -> np.ndarray:
    """First step whose accuracy is >= target, per model; `censored` (> every step) if never.
    steps: [R], acc: [M, R] -> [M]."""
    hit = acc >= target
    return np.where(hit.any(1), steps[np.argmax(hit, 1)], censored).astype(np.float64)


def count_spikes(loss: np.ndarray, factor: float) -> np.ndarray:
    """Spikes per curve, loss: [M, R] -> int [M]. Point r is up when loss[r] > factor * min(loss[:r]);
    a spike is a maximal run of up points (one excursion counts once). NaN points are skipped."""
    loss = np.where(np.isfinite(loss), loss, np.nan)
    running_min = np.fmin.accumulate(np.where(np.isnan(loss), np.inf, loss), axis=1)
    previous_min = np.concatenate([np.full((loss.shape[0], 1), np.inf), running_min[:, :-1]], 1)
    up = loss > factor * previous_min  # NaN compares False
    starts = up & ~np.concatenate([np.zeros((loss.shape[0], 1), bool), up[:, :-1]], 1)
    return starts.sum(1)


def moving_median(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving median over `window` records (fewer at the start): [M, R] -> [M, R]."""
    out = np.empty_like(values, dtype=np.float64)
    for r in range(values.shape[1]):
        out[:, r] = np.nanmedian(values[:, max(0, r - window + 1): r + 1], axis=1)
    return out


def paired_claim(ours: np.ndarray, baseline: np.ndarray, claimed_sign: int, claim: str, unit: str) -> dict:
    """The per-seed difference ours - baseline [seeds] against a claim that it is > 0 (claimed_sign
    +1) or < 0 (-1): median, bootstrap 95% CI, share of seeds agreeing, verdict."""
    diff = np.asarray(ours, np.float64) - np.asarray(baseline, np.float64)
    lo, hi = stats.bootstrap_ci(diff)
    toward_lo, toward_hi = sorted((claimed_sign * lo, claimed_sign * hi))  # CI of the difference, claim-signed
    verdict = ("supported" if toward_lo > 0 else "contradicted" if toward_hi < 0
               else "not resolved (CI contains 0)")
    return {"claim": claim, "unit": unit, "median_difference": float(np.median(diff)),
            "mean_difference": float(np.mean(diff)), "ci95": [lo, hi],
            "fraction_of_seeds_agreeing": float(np.mean(claimed_sign * diff > 0)), "verdict": verdict}


# -- flags ------------------------------------------------------------------------------------------------

# --scale presets, applied to every flag not given on the command line.
SCALES = {
    "cpu": {},
    "full": {"dataset": "mnist", "seeds": 32, "aux_weight": "0,0.03,0.1,0.3,1", "steps": 4200,
             "record_every": 10, "eval_every": 50, "validation_fraction": 0.1, "target_acc": 0.99},
}
_FLAG_NAMES = ("scale", "dataset", "target", "aux_weight", "seeds", "first_seed", "optimizer", "lr", "batch_size",
               "steps", "record_every", "eval_every", "validation_fraction", "target_acc", "spike_factor",
               "spike_window", "group", "chunk_steps", "out")


def define_experiment_flags() -> None:
    """Defined when run as a program, not on import: tests and benchmarks import the functions above
    beside other experiments whose flags share these names (absl refuses a name defined twice)."""
    flags.DEFINE_enum("scale", "cpu", list(SCALES), "Preset: cpu (default flags, ~4 min on 2 cores) or full "
                      "(GPU: full MNIST, 32 seeds, 5 lambdas, 5 epochs). Flags given explicitly win.")
    flags.DEFINE_enum("dataset", "mnist5k", list(IMAGE_DATASETS), "Image dataset (jaxdl.data).")
    define_flags()
    flags.DEFINE_enum("target", "digit_value", list(TARGETS), "Regression target of the auxiliary head.")
    cli.define_list("aux_weight", "0,0.1,1", "Lambdas (weight of the L2 term), comma list; must include 0, "
                    "the baseline without the branch.", minimum=0.0)
    flags.DEFINE_integer("seeds", 8, "Seeds per lambda (seed k: same initial weights and batches at every lambda).")
    flags.DEFINE_integer("first_seed", 0, "First seed id.")
    flags.DEFINE_enum("optimizer", "adam", list(optim.OPTIMIZERS), "Optimizer.")
    flags.DEFINE_float("lr", 1e-3, "Learning rate.")
    flags.DEFINE_integer("batch_size", 64, "Minibatch size.")
    flags.DEFINE_integer("steps", 200, "Training iterations.")
    flags.DEFINE_integer("record_every", 5, "Record the train CE every this many steps.")
    flags.DEFINE_integer("eval_every", 20, "Evaluate on the validation split every this many steps "
                         "(a multiple of --record_every).")
    flags.DEFINE_float("validation_fraction", 0.2, "Share of the training split held out for the curves.")
    flags.DEFINE_float("target_acc", 0.95, "Held-out accuracy whose first hit counts as 'converged'.")
    flags.DEFINE_float("spike_factor", 1.5, "A spike: the loss rises above this factor x its running minimum.")
    flags.DEFINE_integer("spike_window", 5, "Train CE spikes: moving median over this many records first.")
    flags.DEFINE_integer("group", None, "Models vmapped together per device; 0 = all. Default: 1 on CPU "
                         "(fastest in benchmarks/cnn_bench.py), all on GPU.")
    flags.DEFINE_integer("chunk_steps", 100, "Steps per compiled chunk (progress line between chunks).")
    flags.DEFINE_string("out", "results/cnn_aux", "Output directory.")
    for name in ("seeds", "batch_size", "steps", "record_every", "eval_every", "spike_window", "chunk_steps"):
        cli.positive(name)
    flags.register_validator("first_seed", lambda v: v >= 0, message="--first_seed must be >= 0")
    flags.register_validator("group", lambda v: v is None or v >= 0, message="--group must be >= 0 (0 = all)")
    flags.register_validator("lr", lambda v: v > 0, message="--lr must be > 0")
    flags.register_validator("validation_fraction", lambda v: 0 < v < 1,
                             message="--validation_fraction must be in (0, 1)")
    flags.register_validator("target_acc", lambda v: 0 < v <= 1, message="--target_acc must be in (0, 1]")
    flags.register_validator("spike_factor", lambda v: v > 1, message="--spike_factor must be > 1")
    flags.register_validator("aux_weight", lambda v: 0.0 in [float(x) for x in v.split(",")],
                             message="--aux_weight must include 0: every claim is measured against lambda = 0")
    flags.register_multi_flags_validator(
        ["steps", "record_every", "eval_every"],
        lambda f: f["steps"] % f["record_every"] == 0 and f["eval_every"] % f["record_every"] == 0,
        message="--steps and --eval_every must be multiples of --record_every")


# -- the experiment ---------------------------------------------------------------------------------------

def apply_scale() -> None:
    for name, value in SCALES[FLAGS.scale].items():
        if not FLAGS[name].present:
            FLAGS[name].value = value


def default_group() -> int | None:
    """1 on CPU: one model at a time beat vmap over all by a wide margin (benchmarks/cnn_bench.py:
    vmapped convolutions become grouped convolutions); on GPU one vmap keeps the chip busy."""
    return 1 if jax.default_backend() == "cpu" else None


def load_splits():
    """(train, validation, test) Datasets."""
    try:
        train_full = load_from_flags(FLAGS.dataset, "train")
        test = load_from_flags(FLAGS.dataset, "test")
    except (ValueError, FileNotFoundError, NotPreparedError) as err:  # each message names its fix
        raise app.UsageError(str(err)) from err
    train, val = split_validation(train_full, FLAGS.validation_fraction, seed=0)
    return train, val, test


def final_metrics(model, task, state, target: str, val, test, train) -> dict:
    """Per model [M], from the final state: held-out (validation) CE and accuracy, test accuracy (classify's
    evaluate) and the regression head's test MSE on the standardised target; one model at a time (a vmap
    over models would again be a grouped convolution). The engine records metrics before each update, so
    the held-out pair here is the curves' last point, at --steps."""
    mean, std = batching.channel_stats(train.images)
    t_mean, t_std = target_stats(target, train.images, train.labels)
    x, y = jnp.asarray(test.images), jnp.asarray(test.labels)
    xv, yv = jnp.asarray(val.images), jnp.asarray(val.labels)
    z = (TARGETS[target](x, y) - t_mean) / t_std

    @jax.jit
    def head_mse(params):
        def one(batch):
            xb, zb = batch
            _, regression = model.apply({"params": params}, batching.normalize(xb, mean, std), train=False)
            return jnp.sum(jnp.mean(jnp.square(regression - zb), -1))

        size = 500 if len(y) % 500 == 0 else len(y)
        parts = jax.lax.map(one, (x.reshape(-1, size, *x.shape[1:]), z.reshape(-1, size, z.shape[-1])))
        return jnp.sum(parts) / len(y)

    out = {"heldout_ce": [], "heldout_acc": [], "test_acc": [], "head_test_mse": []}
    for m in range(len(state["hp"]["aux_weight"])):
        one = jax.tree.map(lambda a, m=m: a[m:m + 1], state)
        ce, acc = task.evaluate(one["params"], one["extra"], xv, yv)
        out["heldout_ce"].append(np.asarray(ce)[0])
        out["heldout_acc"].append(np.asarray(acc)[0])
        out["test_acc"].append(np.asarray(task.evaluate(one["params"], one["extra"], x, y)[1])[0])
        out["head_test_mse"].append(float(head_mse(jax.tree.map(lambda a: a[0], one["params"]))))
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def eval_curves(result, final: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps [E], held-out CE [M, E], held-out accuracy [M, E]): the in-training evaluations (every
    --eval_every steps, before that step's update) followed by the final state's, at the last step."""
    at_eval = result.record_steps % FLAGS.eval_every == 0
    steps = np.append(result.record_steps[at_eval], result.steps_run)
    ce = np.concatenate([result.metrics["eval_loss"][:, at_eval], final["heldout_ce"][:, None]], axis=1)
    acc = np.concatenate([result.metrics["eval_acc"][:, at_eval], final["heldout_acc"][:, None]], axis=1)
    return steps, ce, acc


def summarize(result, aux_weights, seed_ids, final: dict) -> dict:
    """Per-lambda statistics and each claim vs lambda = 0 (paired by seed); `final` from final_metrics."""
    n_seeds, steps = len(seed_ids), FLAGS.steps
    per = lambda a: np.asarray(a).reshape(len(aux_weights), n_seeds, *np.shape(a)[1:])
    eval_steps, eval_ce, eval_acc = eval_curves(result, final)
    train_ce = result.metrics["loss"]
    late = eval_steps >= steps // 2
    measures = {
        "iterations_to_target": per(iterations_to_accuracy(eval_steps, eval_acc, FLAGS.target_acc,
                                                           steps + FLAGS.eval_every)),
        "test_acc": per(final["test_acc"]),
        "late_eval_acc_std": per(np.std(eval_acc[:, late], axis=1)),
        "heldout_ce_spikes": per(count_spikes(eval_ce, FLAGS.spike_factor)),
        "train_ce_spikes": per(count_spikes(moving_median(train_ce, FLAGS.spike_window), FLAGS.spike_factor)),
        "final_heldout_ce": per(eval_ce[:, -1]),
        "head_test_mse": per(final["head_test_mse"]),
        "diverged": per(result.diverged),
    }
    rows = []
    for i, lam in enumerate(aux_weights):
        it = measures["iterations_to_target"][i]
        rows.append({
            "aux_weight": lam,
            "iterations_to_target": {**stats.median_iqr(it), "ci95": list(stats.bootstrap_ci(it)),
                                     "fraction_reached": float(np.mean(it <= steps)),
                                     "median_censored": bool(np.median(it) > steps)},
            "test_acc": stats.mean_std(measures["test_acc"][i]),
            "late_eval_acc_std": stats.median_iqr(measures["late_eval_acc_std"][i]),
            "heldout_ce_spikes": {**stats.mean_std(measures["heldout_ce_spikes"][i]),
                                  "histogram": np.bincount(measures["heldout_ce_spikes"][i]).tolist()},
            "train_ce_spikes": {**stats.mean_std(measures["train_ce_spikes"][i]),
                                "histogram": np.bincount(measures["train_ce_spikes"][i]).tolist()},
            "final_heldout_ce": stats.median_iqr(measures["final_heldout_ce"][i]),
            "head_test_mse": stats.median_iqr(measures["head_test_mse"][i]),
            "diverged": int(measures["diverged"][i].sum()),
            "per_seed": {k: v[i].tolist() for k, v in measures.items()},
        })
    base = aux_weights.index(0.0)
    claimed = [  # (measure, claimed sign of λ>0 minus λ=0, the claim, unit)
        ("iterations_to_target", -1, f"converges faster: fewer iterations to {FLAGS.target_acc:.0%} held-out "
         "accuracy", "iterations"),
        ("test_acc", +1, "accuracy improves: higher final test accuracy", "accuracy"),
        ("late_eval_acc_std", -1, "accuracy stabilizes: smaller std of held-out accuracy over the last half "
         "of training", "accuracy std"),
        ("heldout_ce_spikes", -1, "fewer loss blips (held-out CE spikes)", "spikes"),
        ("train_ce_spikes", -1, "fewer loss blips (train CE spikes)", "spikes"),
    ]
    claims = [{"aux_weight": lam, **paired_claim(measures[name][i], measures[name][base], sign, claim, unit)}
              for i, lam in enumerate(aux_weights) if i != base for name, sign, claim, unit in claimed]
    return {"by_aux_weight": rows, "claims": claims, "eval_steps": eval_steps}


def summary_markdown(summary: dict) -> str:
    f, prov = summary["flags"], summary["provenance"]
    data = summary["data"]
    fmt_it = lambda r: (f"> {f['steps']}" if r["median_censored"] else f"{r['median']:.0f}") + \
        f" ({r['q25']:.0f}-{r['q75']:.0f})"
    lines = [
        f"# CNN with an auxiliary L2 regression branch (target: {f['target']})",
        "",
        f"Data: `{f['dataset']}` ({data['train']} train, {data['validation']} validation for the curves, "
        f"{data['test']} test for the final accuracy){' **SYNTHETIC**' if data['synthetic'] else ''}. "
        f"SmallCNN + regression head, loss CE + λ·L2 (standardised target), {f['optimizer']} lr {f['lr']:g}, "
        f"batch {f['batch_size']}, {f['steps']} iterations ({summary['epochs']:.1f} epochs), {f['seeds']} seeds "
        f"per λ, held-out evaluation every {f['eval_every']} iterations and after the last. Seed k has the "
        "same initial weights and batches at every λ. A run that never reaches the target counts as "
        f"{f['steps'] + f['eval_every']} iterations (a lower bound).",
        "",
        f"| λ | iterations to {f['target_acc']:.0%} held-out acc, median (IQR) | reached | test acc, mean ± std "
        f"| held-out acc std, last half | held-out CE spikes / run | train CE spikes / run | head test MSE "
        "| diverged |",
        "|---:|---|---:|---|---:|---|---|---:|---:|",
    ]
    hist = lambda h: ", ".join(f"{k}: {n}" for k, n in enumerate(h) if n)
    for r in summary["by_aux_weight"]:
        lines.append(
            f"| {r['aux_weight']:g} | {fmt_it(r['iterations_to_target'])} | "
            f"{100 * r['iterations_to_target']['fraction_reached']:.0f}% | "
            f"{100 * r['test_acc']['mean']:.2f} ± {100 * r['test_acc']['std']:.2f}% | "
            f"{100 * r['late_eval_acc_std']['median']:.2f}% | {r['heldout_ce_spikes']['mean']:.2f} "
            f"({hist(r['heldout_ce_spikes']['histogram'])}) | {r['train_ce_spikes']['mean']:.2f} "
            f"({hist(r['train_ce_spikes']['histogram'])}) | {r['head_test_mse']['median']:.3f} | {r['diverged']} |")
    lines += [
        "",
        "Spikes / run: mean (count of runs with k spikes, as k: runs). A spike: the loss rises above "
        f"{f['spike_factor']:g}x its running minimum and stays up until it falls back below; held-out CE "
        f"as evaluated, train CE after a trailing moving median of {f['spike_window']} records "
        f"(= {f['spike_window'] * f['record_every']} iterations). Head test MSE: the regression head's "
        "error on the standardised target (1 = predicting the mean); at λ = 0 the head is never trained.",
        "",
        "## Seed claim vs our measurement",
        "",
        "The seed (one run each): with the branch the CNN \"converges faster\", accuracy \"improves and "
        "stabilizes\", and without it the loss jumps up three times instead of two. Ours: each λ > 0 minus "
        "λ = 0, per seed (paired), median and bootstrap 95% CI of the difference, share of seeds that go the "
        "claimed way.",
        "",
        "| λ | seed's claim | median difference (95% CI) | seeds agreeing | verdict |",
        "|---:|---|---|---:|---|",
    ]
    scale = {"accuracy": 100, "accuracy std": 100}
    for c in summary["claims"]:
        k = scale.get(c["unit"], 1)
        unit = "pp" if c["unit"] in scale else c["unit"]
        lines.append(f"| {c['aux_weight']:g} | {c['claim']} | {k * c['median_difference']:+.3g} {unit} "
                     f"({k * c['ci95'][0]:+.3g} to {k * c['ci95'][1]:+.3g}) | "
                     f"{100 * c['fraction_of_seeds_agreeing']:.0f}% | **{c['verdict']}** |")
    lines += [
        "",
        f"Wall time {prov['wall_s']:.1f} s (training {summary['train_s']:.1f} s, compile {prov['compile_s']:.1f} s) "
        f"on {prov['device']['device_count']} x {prov['device']['device_kind']}, engine group "
        f"{summary['group']}; {summary['model_steps']:,} model-steps.",
        "",
        "![curves](curves.png)",
        "",
    ]
    return "\n".join(lines)


def plot_curves(result, final, summary, aux_weights, n_seeds, path) -> None:
    import matplotlib.pyplot as plt

    f = summary["flags"]
    steps = result.record_steps
    per = lambda a: np.asarray(a).reshape(len(aux_weights), n_seeds, -1)
    train_ce = per(result.metrics["loss"])
    eval_steps, eval_ce, eval_acc = eval_curves(result, final)
    eval_ce, eval_acc = per(eval_ce), per(eval_acc)
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(aux_weights)))
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    band = "median, 25-75% band"
    for i, lam in enumerate(aux_weights):
        label = f"λ = {lam:g}" + (" (no branch)" if lam == 0 else "")
        plots.median_band(axes[0, 0], steps, moving_median(train_ce[i], f["spike_window"]), label, colors[i])
        plots.median_band(axes[0, 1], eval_steps, eval_ce[i], label, colors[i])
        plots.median_band(axes[0, 2], eval_steps, 100 * eval_acc[i], label, colors[i])
    axes[0, 0].set_title(f"train CE (batch CE, moving median of {f['spike_window']} records)")
    axes[0, 1].set_title("held-out CE")
    axes[0, 2].set_title("held-out accuracy")
    axes[0, 2].axhline(100 * f["target_acc"], color="k", ls=":", lw=1, label=f"target {f['target_acc']:.0%}")
    lo = np.nanpercentile(100 * eval_acc[:, :, len(eval_steps) // 5:], 1)
    axes[0, 2].set_ylim(max(lo - 1, 0), 100)
    for ax in axes[0, :2]:
        ax.set_yscale("log")
    for ax in axes[0]:
        ax.legend(title=band, fontsize=8)
    # Every run of lambda = 0 and of the largest lambda, spike starts marked.
    for ax, i in ((axes[1, 0], aux_weights.index(0.0)), (axes[1, 1], len(aux_weights) - 1)):
        for s in range(n_seeds):
            curve = eval_ce[i, s]
            line, = ax.plot(eval_steps, curve, lw=0.9, alpha=0.8)
            running = np.fmin.accumulate(np.where(np.isfinite(curve), curve, np.inf))
            up = curve[1:] > f["spike_factor"] * running[:-1]
            starts = np.flatnonzero(up & ~np.concatenate([[False], up[:-1]])) + 1
            ax.plot(eval_steps[starts], curve[starts], "v", color=line.get_color(), ms=7)
        spikes = summary["by_aux_weight"][i]["heldout_ce_spikes"]
        ax.set_yscale("log")
        ax.set_title(f"held-out CE, every seed, λ = {aux_weights[i]:g}: {spikes['mean']:.2f} spikes/run (▼)")
    # Paired iterations to target: one line per seed across lambdas.
    ax = axes[1, 2]
    its = np.array([r["per_seed"]["iterations_to_target"] for r in summary["by_aux_weight"]])
    for s in range(n_seeds):
        ax.plot(range(len(aux_weights)), its[:, s], "o-", color="0.5", alpha=0.6, ms=4)
    ax.plot(range(len(aux_weights)), np.median(its, 1), "s-", color="C3", lw=2.5, ms=8, label="median")
    ax.axhline(f["steps"] + f["eval_every"], color="k", ls=":", lw=1, label="never reached (censored)")
    ax.set_xticks(range(len(aux_weights)), [f"λ = {lam:g}" for lam in aux_weights])
    ax.set_title(f"iterations to {f['target_acc']:.0%} held-out accuracy, one line per seed")
    ax.legend(fontsize=8)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    for ax in list(axes[0]) + list(axes[1, :2]):
        ax.set_xlabel("iteration")
    fig.suptitle(f"SmallCNN on {f['dataset']}, CE + λ·L2 ({f['target']} target), {n_seeds} seeds per λ",
                 fontsize=13)
    fig.tight_layout()
    io.save_figure(fig, path)


def main(argv):
    apply_scale()
    out = cli.start(argv, FLAGS.out)
    t0 = time.perf_counter()
    aux_weights = cli.parse("aux_weight", float)
    seed_ids = np.arange(FLAGS.first_seed, FLAGS.first_seed + FLAGS.seeds)
    train, val, test = load_splits()
    model, task = make_task(FLAGS.target, num_classes=train.num_classes, input_shape=train.shape,
                            train_images=train.images, train_labels=train.labels, optimizer=FLAGS.optimizer,
                            batch_size=FLAGS.batch_size, eval_every=FLAGS.eval_every)
    group = default_group() if FLAGS.group is None else (FLAGS.group or None)
    trainer = engine.make_train(task, steps=FLAGS.steps, chunk_steps=FLAGS.chunk_steps,
                                record_every=FLAGS.record_every, group=group)
    keys = engine.seed_keys(np.tile(seed_ids, len(aux_weights)))  # lambda-major
    hparams = {"lr": np.full(len(keys), FLAGS.lr, np.float32),
               "aux_weight": np.repeat(np.asarray(aux_weights, np.float32), len(seed_ids))}
    data = {"train": (jnp.asarray(train.images), jnp.asarray(train.labels)),
            "eval": (jnp.asarray(val.images), jnp.asarray(val.labels))}
    result = trainer(keys, hparams, data, label=f"cnn_aux {FLAGS.target}")
    final = final_metrics(model, task, result.state, FLAGS.target, val, test, train)
    wall_s = time.perf_counter() - t0

    summary = {
        "experiment": "cnn_aux",
        **summarize(result, aux_weights, seed_ids, final),
        "data": {"train": len(train), "validation": len(val), "test": len(test), "synthetic": train.synthetic,
                 "train_metadata": train.metadata(), "test_metadata": test.metadata()},
        "epochs": FLAGS.steps * FLAGS.batch_size / len(train),
        "group": "all (vmap)" if group is None else group,
        "model_steps": result.steps_run * len(keys),
        "train_s": result.wall_s,
        "flags": cli.flag_dict(FLAGS, names=_FLAG_NAMES),
        "provenance": provenance.collect(wall_s=wall_s, compile_s=result.compile_s),
    }
    summary["provenance"]["flags"] = summary["flags"]
    io.write_json(out / "summary.json", summary)
    io.write_text(out / "summary.md", summary_markdown(summary))
    plot_curves(result, final, summary, aux_weights, len(seed_ids), out / "curves.png")
    logging.info("wrote %s (%.1f s)", out, wall_s)
    print(summary_markdown(summary))


if __name__ == "__main__":
    define_experiment_flags()
    app.run(main)
