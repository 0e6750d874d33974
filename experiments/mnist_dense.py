r"""MNIST dense net: tune learning rate x batch size x epochs at once, report the tuned net honestly.

Seed 004, question 3 describes a Keras dense net (flatten -> 128 -> 64 -> 32 ReLU -> 10 softmax, inputs
/255, one-hot labels, categorical cross-entropy) and only *advises* tuning the learning rate, the batch
size and the number of epochs. We do the tuning:

* the exact architecture, jaxdl.models "mlp" (784-128-64-32-10, 111,146 parameters: checked at start),
  softmax cross-entropy on integer labels (the same loss as one-hot categorical CE: tested), inputs
  /255 as in the seed (classify's normalisation with mean 0, std 1), Adam by default (--optimizer);
* learning rates x seeds of one batch size are one compiled program (engine; the learning rate is a
  per-model value of an `optax.inject_hyperparams` optimizer, jaxdl.optim); each batch size is its own
  program (the batch shape is static);
* epochs are chosen per run by validation accuracy: --val_fraction of the training split is held out
  (stratified), every run is evaluated on it after every epoch, and its early-stopping epoch is its
  best validation epoch (the first, on ties); its weights at that epoch are the ones kept (Keras'
  EarlyStopping(restore_best_weights=True) with patience = --epochs). A configuration (lr, batch size)
  is scored by the mean over seeds of that validation accuracy;
* the test split is read once, at the end, for the chosen configurations only: the --top best by
  validation, and the Keras defaults (Adam, lr 1e-3, batch 32), chosen before any data was seen.

Seed k has the same initial weights in every configuration, and the same batch order at every lr of a
batch size, so differences between configurations are measured per seed (paired).

Adam under inject_hyperparams. optax issues #583/#1532 report that `inject_hyperparams(optax.adam)`
changes trajectories. The cause: the wrapper binds every numeric argument, defaults included, so b1, b2
and eps become float32 arrays and (1 - b2), the bias corrections etc. are rounded differently from
optax.adam's Python floats: a ~1e-7 relative difference in the first update. jaxdl.optim wraps a
one-argument factory, so only the learning rate is injected, and a single model trains bit for bit like
optax.adam(lr) (tested, on this task). Batching is another matter: any vmapped program (plain vmap or
the engine) rounds the matmuls differently from a single-model one, so model k of the sweep equals a
separate optax.adam(lr_k) run to ~1e-7 per step (tested), not bit for bit. Either ~1e-7 difference
grows as training is chaotic: measured once (batch 128, 20 epochs, lr 1e-3 and 1e-2, 8 seeds, wrapped
vs jaxdl Adam) the weights end as different as two seeds, per-seed best validation accuracy moves by up
to 1 pp, and the mean over seeds by < 0.1 pp. Individual runs are reproducible only within one program;
the statistics we report do not depend on it.

Command (CPU default: mnist5k offline, 3,200 train / 800 validation / 1,000 test, lr in
{1e-4, 3e-4, 1e-3, 3e-3, 1e-2}, batch {32, 128}, 8 seeds, 20 epochs: 80 runs, ~95 s of CPU time, ~1 min
wall on 2 otherwise idle cores; see results/mnist_dense/summary.md for the measured time):
    python -m experiments.mnist_dense
Fashion-MNIST (offline IDX files or tfds):
    python -m experiments.mnist_dense --dataset=fashion_mnist --out=results/mnist_dense_fashion
GPU / full MNIST (tfds, prepared beforehand, see jaxdl.data): --scale=full = 9 learning rates (half-decade
steps 1e-4..1e-2), batch {32, 64, 128, 256, 512}, 16 seeds, 30 epochs, 10% validation; 720 runs, 5 programs
(not yet timed on a GPU):
    python -m experiments.mnist_dense --scale=full --out=results/mnist_dense_full

Expected result (mnist5k, default flags): best lr 3e-3 at batch 32, validation 94.7 ± 0.4%, test
93.8 ± 0.6% (8 seeds), early-stopping epoch ~16; the Keras default (1e-3, batch 32) tests 93.3 ± 0.5%, so
tuning gains ~0.5 pp (paired CI above 0); the top two configurations are not separable on validation;
lr 1e-4 is still improving at 20 epochs. See results/mnist_dense/summary.md.
"""

from __future__ import annotations

import time

import jaxdl  # noqa: F401  (sets the host device count before jax starts)

# isort: split
import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from jaxdl import classify, cli, engine, io, optim, plots, provenance, stats
from jaxdl.data import NotPreparedError, define_flags, load_from_flags, split_validation
from jaxdl.models import PARAM_COUNTS, get_model

FLAGS = flags.FLAGS

DATASETS = ("mnist5k", "mnist", "fashion_mnist")  # 28x28x1, 10 classes: the seed's exact architecture
ARCHITECTURE_PARAMS = PARAM_COUNTS["mlp"][1]  # 111,146
# Keras' defaults (Adam's learning rate, fit()'s batch size): what the seed ran before any tuning.
KERAS_DEFAULT = {"optimizer": "adam", "lr": 1e-3, "batch_size": 32}
ACTIVATIONS_PER_EXAMPLE = 784 + 128 + 64 + 32 + 10  # float32 values a forward pass keeps per example

# --scale presets, applied to every flag not given on the command line.
SCALES = {
    "cpu": {},
    "full": {"dataset": "mnist", "lr": "1e-4,1.8e-4,3.2e-4,5.6e-4,1e-3,1.8e-3,3.2e-3,5.6e-3,1e-2",
             "batch_size": "32,64,128,256,512", "seeds": 16, "epochs": 30, "val_fraction": 0.1},
}
_FLAG_NAMES = ("scale", "dataset", "optimizer", "lr", "batch_size", "seeds", "first_seed", "epochs",
               "val_fraction", "split_seed", "train_size", "test_size", "top", "group", "chunk_epochs", "out")


def define_experiment_flags() -> None:
    """Defined when run as a program, not on import: tests and benchmarks import the functions here
    beside other experiments whose flags share these names (absl refuses a name defined twice)."""
    flags.DEFINE_enum("scale", "cpu", list(SCALES), "Preset: cpu (default flags, mnist5k) or full (GPU: full "
                      "MNIST, 9 lrs x 5 batch sizes x 16 seeds, 30 epochs). Flags given explicitly win.")
    flags.DEFINE_enum("dataset", "mnist5k", list(DATASETS), "28x28 grey-level dataset (jaxdl.data).")
    define_flags()
    flags.DEFINE_enum("optimizer", "adam", list(optim.OPTIMIZERS), "Optimizer (the seed's Keras code: adam).")
    cli.define_list("lr", "1e-4,3e-4,1e-3,3e-3,1e-2", "Learning rates (comma list; all in one program per "
                    "batch size).", strictly_positive=True)
    cli.define_list("batch_size", "32,128", "Batch sizes (comma list; one program each).", cast=int,
                    kind="an integer", strictly_positive=True)
    flags.DEFINE_integer("seeds", 8, "Seeds per configuration (seed k: same initial weights everywhere).")
    flags.DEFINE_integer("first_seed", 0, "First seed id.")
    flags.DEFINE_integer("epochs", 20, "Maximum epochs; each run keeps its best validation epoch.")
    flags.DEFINE_float("val_fraction", 0.2, "Share of the training split held out (stratified) for validation.")
    flags.DEFINE_integer("split_seed", 0, "Seed of the train/validation split (fixed across runs).")
    flags.DEFINE_integer("train_size", None, "Use only the first N training examples (before the split).")
    flags.DEFINE_integer("test_size", None, "Use only the first N test examples.")
    flags.DEFINE_integer("top", 3, "Best configurations (by validation) to evaluate on test and plot.")
    flags.DEFINE_integer("group", None, "Models vmapped together per device; 0 = all. Default: 1 on CPU "
                         "(fastest in benchmarks/mnist_bench.py), all on GPU.")
    flags.DEFINE_integer("chunk_epochs", 5, "Epochs per compiled chunk (a progress line between chunks).")
    flags.DEFINE_string("out", "results/mnist_dense", "Output directory.")
    for name in ("seeds", "epochs", "train_size", "test_size", "top", "chunk_epochs"):
        cli.positive(name)
    flags.register_validator("first_seed", lambda v: v >= 0, message="--first_seed must be >= 0")
    flags.register_validator("group", lambda v: v is None or v >= 0, message="--group must be >= 0 (0 = all)")
    flags.register_validator("val_fraction", lambda v: 0 < v < 1, message="--val_fraction must be in (0, 1)")


def apply_scale() -> None:
    for name, value in SCALES[FLAGS.scale].items():
        if not FLAGS[name].present:
            FLAGS[name].value = value


def default_group() -> int | None:
    """1 on CPU: for this net, one model at a time per device (lax.map) beat one vmap over the device's
    models by ~1.3x at batch 32 (benchmarks/mnist_bench.py); on GPU one vmap keeps the chip busy."""
    return 1 if jax.default_backend() == "cpu" else None


# -- model and selection (pure functions, tested) ----------------------------------------------------------

def build_model(num_classes: int = 10):
    """The seed's dense net: flatten -> 128 -> 64 -> 32 (ReLU) -> num_classes logits (softmax in the loss)."""
    return get_model("mlp", num_classes)


def count_params(model, input_shape) -> int:
    variables = jax.eval_shape(lambda k: model.init(k, jnp.zeros((1, *input_shape)), train=False),
                               jax.random.key(0))
    return sum(leaf.size for leaf in jax.tree.leaves(variables["params"]))


def early_stopping_epoch(val_acc: np.ndarray) -> np.ndarray:
    """Per run, the epoch of the best validation accuracy, the first one on ties (what keep_best keeps).
    val_acc: [M, E + 1], column e = after e epochs (0 = the initial weights); NaN never wins -> int [M]."""
    return np.argmax(np.where(np.isnan(val_acc), -np.inf, val_acc), axis=1)


def epoch_means(per_step: np.ndarray, steps_per_epoch: int) -> np.ndarray:
    """Mean of per-step values over each epoch (Keras' epoch train loss/accuracy): [M, E*S] -> [M, E]."""
    m, steps = per_step.shape
    return per_step.reshape(m, steps // steps_per_epoch, steps_per_epoch).mean(-1)


def rank_configs(val_acc: np.ndarray) -> np.ndarray:
    """Configurations best first by mean validation accuracy over seeds (ties: first listed).
    val_acc: [C, seeds] -> int [C]."""
    return np.argsort(-np.mean(val_acc, axis=1), kind="stable")


def mean_ci(values, level: float = 0.95) -> list[float]:
    """Student-t confidence interval of the mean. With 4-8 seeds a bootstrap percentile interval is too
    narrow (it never leaves the sample's range); t assumes roughly normal seeds, which accuracies are."""
    from scipy import stats as scipy_stats

    v = np.asarray(values, np.float64)
    if v.size < 2:
        return [float("nan"), float("nan")]
    half = scipy_stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return [float(v.mean() - half), float(v.mean() + half)]


def paired_difference(a, b) -> dict:
    """a - b per seed [S]: mean, t 95% CI of the mean, share of seeds where a > b."""
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return {"mean": float(diff.mean()), "ci95": mean_ci(diff), "fraction_positive": float(np.mean(diff > 0)),
            "per_seed": diff.tolist()}


# -- training -----------------------------------------------------------------------------------------------

def train_batch_size(model, batch_size: int, lrs, seed_ids, data, *, epochs: int, optimizer: str,
                     chunk_epochs: int, input_shape, group: int | None, evaluate=None) -> dict:
    """Trains lrs x seeds (lr-major: model i * S + s has lrs[i], seed_ids[s]) at one batch size.

    Returns per-model curves by epoch (val_acc/val_loss [M, E+1], train_loss/train_acc [M, E]), each
    run's early-stopping epoch [M] and its weights there (`params`, `extra`, [M, ...]), timings, and
    `evaluate` (the task's stacked evaluate, or the one passed in: every batch size evaluates the same
    network, and reusing one jitted function saves its compilations).
    """
    num_train = int(data["train"][1].shape[0])
    spe = num_train // batch_size
    # mean 0, std 1: classify divides by 255 itself, which is the seed's whole preprocessing.
    task = classify.make_task(model, optim.make_optimizer(optimizer), num_train=num_train, batch_size=batch_size,
                              input_shape=input_shape, mean=0.0, std=1.0, eval_every=spe, keep_best=True)
    # Every step's batch loss is recorded (epoch means = Keras' train curves); evaluations land on the
    # first step of each epoch, i.e. after 0, 1, ..., E-1 epochs.
    trainer = engine.make_train(task, steps=epochs * spe, chunk_steps=chunk_epochs * spe, record_every=1,
                                group=group)
    keys = engine.seed_keys(np.tile(seed_ids, len(lrs)))
    hparams = {"lr": np.repeat(np.asarray(lrs, np.float32), len(seed_ids))}
    result = trainer(keys, hparams, data, label=f"batch {batch_size}")
    state = result.state
    # classify evaluates at the start of a step, so the weights after the last epoch were never
    # evaluated: do it here, with the task's own evaluate.
    evaluate = evaluate or task.evaluate
    final_loss, final_acc = map(np.asarray, evaluate(state["params"], state["extra"], *data["eval"]))
    at_epochs = result.record_steps % spe == 0
    val_acc = np.concatenate([result.metrics["eval_acc"][:, at_epochs], final_acc[:, None]], 1)
    val_loss = np.concatenate([result.metrics["eval_loss"][:, at_epochs], final_loss[:, None]], 1)
    stop = early_stopping_epoch(val_acc)
    kept = stop < epochs
    if not np.array_equal(state["best_step"][kept], stop[kept] * spe):
        raise RuntimeError("classify's keep_best disagrees with the recorded validation curve")
    pick = lambda final, best: np.where(kept.reshape(-1, *[1] * (final.ndim - 1)), best, final)
    return {
        "batch_size": batch_size, "steps_per_epoch": spe,
        "val_acc": val_acc, "val_loss": val_loss,
        "train_loss": epoch_means(result.metrics["loss"], spe), "train_acc": epoch_means(result.metrics["acc"], spe),
        "stop_epoch": stop,
        "params": jax.tree.map(pick, state["params"], state["best_params"]),
        "extra": jax.tree.map(pick, state["extra"], state["best_extra"]),
        "diverged": result.diverged,
        "train_s": result.wall_s, "compile_s": result.compile_s, "models": len(keys),
        "evaluate": evaluate,
    }


# -- statistics -------------------------------------------------------------------------------------------

def config_rows(runs: list[dict], lrs, n_seeds: int, epochs: int) -> list[dict]:
    """One row per (batch size, lr), in run order: validation accuracy at early stopping and its epoch."""
    rows = []
    for b, run in enumerate(runs):
        for i, lr in enumerate(lrs):
            sl = slice(i * n_seeds, (i + 1) * n_seeds)
            va, stop = run["val_acc"][sl], run["stop_epoch"][sl]
            best_va = va[np.arange(n_seeds), stop]
            rows.append({
                "batch_size": run["batch_size"], "lr": lr, "run": b, "rows": [sl.start, sl.stop],
                "val_acc": {**stats.mean_std(best_va), "ci95": mean_ci(best_va), "per_seed": best_va.tolist()},
                "stop_epoch": {"median": float(np.median(stop)), "min": int(stop.min()), "max": int(stop.max()),
                               "per_seed": stop.tolist()},
                "mean_curve_peak_epoch": int(early_stopping_epoch(np.nanmean(va, 0, keepdims=True))[0]),
                "final_val_acc": stats.mean_std(va[:, -1]),
                "val_loss_min_epoch": {"median": float(np.median(np.nanargmin(run["val_loss"][sl], 1)))},
                "stopped_before_last_epoch": float(np.mean(stop < epochs)),
                "diverged": int(run["diverged"][sl].sum()),
            })
    return rows


def chosen_configs(rows: list[dict], top: int, optimizer: str) -> list[dict]:
    """The configurations whose test accuracy we measure: the `top` best by validation, then the Keras
    default if it is in the grid (chosen a priori). Each: {"index", "rank", "reason"}."""
    order = rank_configs(np.array([r["val_acc"]["per_seed"] for r in rows]))
    rank = {int(c): k + 1 for k, c in enumerate(order)}
    chosen = [{"index": int(c), "rank": k + 1, "reason": f"validation rank {k + 1}"}
              for k, c in enumerate(order[:top])]
    keras = [i for i, r in enumerate(rows) if optimizer == KERAS_DEFAULT["optimizer"]
             and np.isclose(r["lr"], KERAS_DEFAULT["lr"]) and r["batch_size"] == KERAS_DEFAULT["batch_size"]]
    for i in keras:
        found = [c for c in chosen if c["index"] == i]
        if found:
            found[0]["reason"] += "; Keras default"
        else:
            chosen.append({"index": i, "rank": rank[i], "reason": "Keras default (Adam 1e-3, batch 32)"})
    return chosen


def chosen_weights(runs, rows, chosen, key: str):
    """runs' `key` ("params" or "extra") of the chosen configurations, stacked: [len(chosen) * seeds, ...]."""
    parts = []
    for c in chosen:
        r = rows[c["index"]]
        lo, hi = r["rows"]
        parts.append(jax.tree.map(lambda a, lo=lo, hi=hi: a[lo:hi], runs[r["run"]][key]))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *parts)


def evaluate_on_test(runs, rows, chosen, test_images, test_labels) -> np.ndarray:
    """Test accuracy [len(chosen), seeds] of the chosen configurations' early-stopped weights: the only
    time the test split is read, in one call (every batch size's task evaluates the same network)."""
    _, acc = runs[0]["evaluate"](chosen_weights(runs, rows, chosen, "params"),
                                 chosen_weights(runs, rows, chosen, "extra"),
                                 jnp.asarray(test_images), jnp.asarray(test_labels))
    return np.asarray(acc).reshape(len(chosen), -1)


def seed_claims(runs, rows, chosen, test_acc, epochs: int) -> dict:
    """The seed's three pieces of advice, measured."""
    by_bs = {}
    for run in runs:
        mine = [r for r in rows if r["batch_size"] == run["batch_size"]]
        best = max(mine, key=lambda r: r["val_acc"]["mean"])
        s_per_epoch = run["train_s"] / epochs
        by_bs[run["batch_size"]] = {
            "best_lr": best["lr"], "val_acc": best["val_acc"]["mean"], "val_acc_per_seed": best["val_acc"]["per_seed"],
            "stop_epoch": best["stop_epoch"]["median"],
            "activation_mb_per_model": run["batch_size"] * ACTIVATIONS_PER_EXAMPLE * 4 / 2**20,
            "grid_s_per_epoch": s_per_epoch, "grid_s_to_stop_epoch": s_per_epoch * best["stop_epoch"]["median"],
            "lr_spread": [min(r["val_acc"]["mean"] for r in mine), max(r["val_acc"]["mean"] for r in mine)],
        }
    overfit = {
        "share_of_runs_stopping_early": float(np.mean(np.concatenate([run["stop_epoch"] < epochs for run in runs]))),
        "mean_val_acc_drop_best_to_last": float(np.mean([r["val_acc"]["mean"] - r["final_val_acc"]["mean"]
                                                         for r in rows])),
        "largest_drop": max(({"batch_size": r["batch_size"], "lr": r["lr"],
                              "drop": r["val_acc"]["mean"] - r["final_val_acc"]["mean"]} for r in rows),
                            key=lambda d: d["drop"]),
        "configs_val_loss_min_before_acc_peak": int(sum(r["val_loss_min_epoch"]["median"] < r["stop_epoch"]["median"]
                                                        for r in rows)),
    }
    keras = [k for k, c in enumerate(chosen) if "Keras default" in c["reason"]]
    tuning = None
    if keras and keras[0] != 0:
        tuning = paired_difference(test_acc[0], test_acc[keras[0]])
    elif keras:
        tuning = {"mean": 0.0, "note": "the Keras default is the best configuration"}
    sizes = sorted(by_bs)
    # Each batch size at its own best lr, paired by seed (same initial weights; different batches).
    smallest_vs_largest = (paired_difference(by_bs[sizes[0]]["val_acc_per_seed"], by_bs[sizes[-1]]["val_acc_per_seed"])
                           if len(sizes) > 1 else None)
    return {"by_batch_size": by_bs, "smallest_minus_largest_batch_val": smallest_vs_largest, "overfitting": overfit,
            "tuning_gain_on_test": tuning}


# -- report ---------------------------------------------------------------------------------------------

def pct(x: float) -> str:
    return f"{100 * x:.2f}"


def summary_markdown(s: dict) -> str:
    f, prov, d = s["flags"], s["provenance"], s["data"]
    rows, chosen = s["configs"], s["chosen"]
    best = chosen[0]
    best_row = rows[best["index"]]
    lines = [
        f"# Dense net 784-128-64-32-10 on {f['dataset']}: learning rate x batch size x epochs",
        "",
        f"Data: `{f['dataset']}` ({d['train']:,} train, {d['validation']:,} validation held out of the training "
        f"split, {d['test']:,} test), inputs /255. Network: {s['params']:,} parameters, ReLU, softmax CE, "
        f"{f['optimizer']}. Grid: lr {{{f['lr']}}} x batch {{{f['batch_size']}}} x {f['seeds']} seeds, at most "
        f"{f['epochs']} epochs; each run keeps its best validation epoch (early stopping). Configurations "
        "ranked by validation accuracy (mean over seeds); test read once, for the chosen ones.",
        "",
        f"**Best configuration: lr {best_row['lr']:g}, batch {best_row['batch_size']}** - validation "
        f"{pct(best_row['val_acc']['mean'])} ± {pct(best_row['val_acc']['std'])}%, **test "
        f"{pct(best['test_acc']['mean'])} ± {pct(best['test_acc']['std'])}%** (mean ± std over {f['seeds']} "
        f"seeds), early-stopping epoch median {best_row['stop_epoch']['median']:g} (range "
        f"{best_row['stop_epoch']['min']}-{best_row['stop_epoch']['max']}; the seed-mean validation curve "
        f"peaks at epoch {best_row['mean_curve_peak_epoch']}).",
        "",
        "## Chosen configurations on the test set",
        "",
        "| config | why chosen | validation acc % | test acc % (mean ± std) | test, 95% CI of the mean (t) "
        "| epoch median (range) |",
        "|---|---|---|---|---|---|",
    ]
    for c in chosen:
        r = rows[c["index"]]
        t = c["test_acc"]
        lines.append(f"| lr {r['lr']:g}, batch {r['batch_size']} | {c['reason']} | {pct(r['val_acc']['mean'])} ± "
                     f"{pct(r['val_acc']['std'])} | {pct(t['mean'])} ± {pct(t['std'])} | {pct(t['ci95'][0])}-"
                     f"{pct(t['ci95'][1])} | {r['stop_epoch']['median']:g} ({r['stop_epoch']['min']}-"
                     f"{r['stop_epoch']['max']}) |")
    gap = s["best_vs_runner_up_val"]
    lines += [
        "",
        "The best configuration's validation accuracy is optimistic (it won a maximum over configurations and "
        "epochs); its test accuracy is not. Best minus runner-up on validation, paired by seed: "
        f"{100 * gap['mean']:+.2f} pp (95% CI {100 * gap['ci95'][0]:+.2f} to {100 * gap['ci95'][1]:+.2f}; "
        f"{100 * gap['fraction_positive']:.0f}% of seeds)"
        + (" - the ranking of the top two is not resolved." if gap["ci95"][0] <= 0 < gap["ci95"][1] or
           gap["ci95"][0] <= 0 else "."),
        "",
        "## Every configuration (validation)",
        "",
        "| batch | lr | val acc % at early stop (mean ± std) | epoch median (range) | val acc % after the last "
        "epoch | val loss lowest at epoch (median) | diverged |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = " **(best)**" if r is best_row else ""
        lines.append(f"| {r['batch_size']} | {r['lr']:g}{mark} | {pct(r['val_acc']['mean'])} ± "
                     f"{pct(r['val_acc']['std'])} | {r['stop_epoch']['median']:g} ({r['stop_epoch']['min']}-"
                     f"{r['stop_epoch']['max']}) | "
                     f"{pct(r['final_val_acc']['mean'])} | {r['val_loss_min_epoch']['median']:g} | {r['diverged']} |")
    if len(s["lrs"]) > 1 and best_row["lr"] in (min(s["lrs"]), max(s["lrs"])):
        lines += ["", "Note: the best learning rate is at the edge of the --lr grid; widen it."]
    if best_row["stop_epoch"]["max"] == f["epochs"]:
        lines += ["", "Note: some runs of the best configuration peaked at the last epoch; --epochs may be too few."]

    c = s["seed_claims"]
    lines += [
        "",
        "## Seed claim vs our measurement",
        "",
        "The seed gives advice, not numbers. Each piece, measured here:",
        "",
        "| seed's advice | our measurement | verdict |",
        "|---|---|---|",
    ]
    spread = "; ".join(f"batch {bs}: {pct(v['lr_spread'][0])}-{pct(v['lr_spread'][1])}%"
                       for bs, v in c["by_batch_size"].items())
    widest = max(v["lr_spread"][1] - v["lr_spread"][0] for v in c["by_batch_size"].values())
    lines.append(f"| the learning rate is crucial | validation accuracy across the {len(s['lrs'])} lrs "
                 f"({min(s['lrs']):g}-{max(s['lrs']):g}): {spread} | "
                 f"{'supported' if widest > 0.01 else 'weak (< 1 pp)'}: {100 * widest:.1f} pp from worst to best lr |")
    bs_text = "; ".join(
        f"batch {bs} (best lr {v['best_lr']:g}): {pct(v['val_acc'])}%, epoch {v['stop_epoch']:g}, grid "
        f"{v['grid_s_per_epoch']:.2f} s/epoch -> {v['grid_s_to_stop_epoch']:.1f} s to it"
        for bs, v in c["by_batch_size"].items())
    sizes = sorted(c["by_batch_size"])
    if len(sizes) > 1:
        small, large = c["by_batch_size"][sizes[0]], c["by_batch_size"][sizes[-1]]
        diff = c["smallest_minus_largest_batch_val"]
        ratio = small["grid_s_to_stop_epoch"] / large["grid_s_to_stop_epoch"]
        verdict = (f"faster in wall time: {'yes' if ratio > 1 else 'no'} ({ratio:.1f}x); in epochs: "
                   f"{'yes' if large['stop_epoch'] < small['stop_epoch'] else 'no'}. Batch {sizes[0]} minus "
                   f"{sizes[-1]}, validation, paired by seed: {100 * diff['mean']:+.2f} pp (95% CI "
                   f"{100 * diff['ci95'][0]:+.2f} to {100 * diff['ci95'][1]:+.2f})")
    else:
        verdict = "needs two batch sizes"
    memory = ", ".join(f"{v['activation_mb_per_model']:.2f} MB at batch {bs}" for bs, v in c["by_batch_size"].items())
    lines.append(f"| larger batches may converge faster but need more memory | {bs_text}. Memory: forward activations "
                 f"per model, computed not measured: {memory} (linear in the batch) | {verdict} |")
    o = c["overfitting"]
    lines.append(
        f"| too many epochs overfit; monitor validation to stop | {100 * o['share_of_runs_stopping_early']:.0f}% of "
        f"runs peak before epoch {f['epochs']}; validation accuracy after the last epoch is on average "
        f"{100 * o['mean_val_acc_drop_best_to_last']:.2f} pp below the early-stopping value (largest: "
        f"{100 * o['largest_drop']['drop']:.2f} pp at lr {o['largest_drop']['lr']:g}, batch "
        f"{o['largest_drop']['batch_size']}); in {o['configs_val_loss_min_before_acc_peak']} of {len(rows)} "
        "configurations the validation loss bottoms out before the accuracy peaks (overconfidence first) | "
        f"{'supported' if o['mean_val_acc_drop_best_to_last'] > 0.002 else 'weak: accuracy barely drops'} |")
    t = c["tuning_gain_on_test"]
    if t and "ci95" in t:
        lines.append(f"| (implicit) tuning beats the defaults | test accuracy, best minus Keras default (Adam 1e-3, "
                     f"batch 32), paired by seed: {100 * t['mean']:+.2f} pp (95% CI {100 * t['ci95'][0]:+.2f} to "
                     f"{100 * t['ci95'][1]:+.2f}) | {'supported' if t['ci95'][0] > 0 else 'not resolved'} |")
    elif t:
        lines.append("| (implicit) tuning beats the defaults | the Keras default is the best configuration | "
                     "contradicted |")
    lines += [
        "",
        f"Adam under `inject_hyperparams`: {s['inject_hyperparams_note']}",
        "",
        f"Wall time {prov['wall_s']:.1f} s (training {s['train_s']:.1f} s, compile {prov['compile_s']:.1f} s; "
        f"process CPU {s['cpu_s']:.0f} s) on {prov['device']['device_count']} x {prov['device']['device_kind']}; "
        f"{s['runs']} runs in {len(s['batch_sizes'])} programs (engine group {s['group']}), "
        f"{s['runs'] / s['train_s']:.2f} runs trained per second of training.",
        "",
        "![heatmap](heatmap.png)",
        "",
        "![curves](curves.png)",
        "",
    ]
    return "\n".join(lines)


INJECT_NOTE = (
    "jaxdl.optim injects only the learning rate, so a single model trains bit for bit like optax.adam(lr); "
    "each model of the batched sweep matches its own optax.adam(lr) run to float rounding of batched matmuls "
    "(~1e-7 per step; tests/test_mnist_dense.py). `inject_hyperparams(optax.adam)` would also make b1, b2 and "
    "eps float32 arrays, another ~1e-7 change per update: the trajectory changes of optax #583/#1532. Training "
    "amplifies either into different individual runs with the same statistics (module docstring).")


def plot_heatmap(rows, lrs, batch_sizes, best_index, path, title) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    grid = lambda fn: np.array([[fn(rows[b * len(lrs) + i]) for b in range(len(batch_sizes))]
                                for i in range(len(lrs))])
    acc_mean, acc_std = grid(lambda r: 100 * r["val_acc"]["mean"]), grid(lambda r: 100 * r["val_acc"]["std"])
    ep_med = grid(lambda r: r["stop_epoch"]["median"])
    ep_lo, ep_hi = grid(lambda r: r["stop_epoch"]["min"]), grid(lambda r: r["stop_epoch"]["max"])
    width = 2.2 + 1.5 * len(batch_sizes)
    fig, axes = plt.subplots(1, 2, figsize=(2 * width + 1, 1.0 + 0.75 * len(lrs)))
    best_i, best_b = best_index % len(lrs), best_index // len(lrs)
    panels = ((axes[0], acc_mean, "viridis", "validation accuracy (%) at early stop, mean ± std",
               lambda i, b: f"{acc_mean[i, b]:.2f}\n± {acc_std[i, b]:.2f}"),
              (axes[1], ep_med, "magma", "early-stopping epoch, median (range)",
               lambda i, b: f"{ep_med[i, b]:g}\n({ep_lo[i, b]:.0f}-{ep_hi[i, b]:.0f})"))
    for ax, values, cmap, label, text in panels:
        # Accuracy: from the grid's worst (at most 10 points below the best) so small gaps stay visible;
        # epochs: from 0, so the colour is proportional to the epoch.
        vmin = max(np.nanmin(values), np.nanmax(values) - 10) if values is acc_mean else 0
        im = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto", vmin=vmin, vmax=np.nanmax(values))
        norm = im.norm
        for i in range(len(lrs)):
            for b in range(len(batch_sizes)):
                dark = norm(values[i, b]) < 0.55
                ax.text(b, i, text(i, b), ha="center", va="center", fontsize=9,
                        color="white" if dark else "black")
        ax.add_patch(Rectangle((best_b - 0.5, best_i - 0.5), 1, 1, fill=False, ec="red", lw=2.5))
        ax.set_xticks(range(len(batch_sizes)), [str(b) for b in batch_sizes])
        ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
        ax.set_xlabel("batch size")
        ax.set_ylabel("learning rate")
        ax.set_title(label, fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.85)
    fig.suptitle(title + " (red: best)", fontsize=11)
    fig.tight_layout()
    io.save_figure(fig, path)


def plot_curves(runs, rows, chosen, path, title) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for k, c in enumerate(chosen):
        r = rows[c["index"]]
        run = runs[r["run"]]
        sl = slice(*r["rows"])
        color = f"C{k}"
        label = f"lr {r['lr']:g}, batch {r['batch_size']}" + (" (Keras default)" if "Keras" in c["reason"] else "")
        epochs = np.arange(run["val_acc"].shape[1])
        plots.median_band(axes[0], epochs[1:], 100 * run["val_acc"][sl, 1:], label, color)
        plots.median_band(axes[1], epochs[1:], run["val_loss"][sl, 1:], label, color)
        plots.median_band(axes[2], epochs[1:], run["train_loss"][sl], label, color)
        stop = np.asarray(r["stop_epoch"]["per_seed"])
        best = run["val_acc"][sl][np.arange(len(stop)), stop]
        axes[0].plot(stop, 100 * best, "v", color=color, ms=6, alpha=0.8)
        axes[0].axvline(np.median(stop), color=color, ls=":", lw=1)
    top = [run["val_acc"][slice(*rows[c["index"]]["rows"]), 1:] for c in chosen
           for run in [runs[rows[c["index"]]["run"]]]]
    low = np.nanpercentile(np.concatenate(top), 2)
    axes[0].set_ylim(100 * low - 0.5, 100 * np.nanmax(np.concatenate(top)) + 0.5)
    axes[0].set_title("validation accuracy (%)\n▼ each run's early-stopping epoch, dotted: their median", fontsize=10)
    axes[1].set_title("validation loss (CE)", fontsize=10)
    axes[2].set_title("training loss (CE, mean over the epoch's batches)", fontsize=10)
    axes[2].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(title="median over seeds, 25-75% band", fontsize=8, title_fontsize=8)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    io.save_figure(fig, path)


# -- the experiment ---------------------------------------------------------------------------------------

def load_train_validation():
    try:
        train_full = load_from_flags(FLAGS.dataset, "train", size=FLAGS.train_size)
    except (ValueError, FileNotFoundError, NotPreparedError) as err:  # each message names its fix
        raise app.UsageError(str(err)) from err
    train, val = split_validation(train_full, FLAGS.val_fraction, seed=FLAGS.split_seed)
    return train, val


def main(argv):
    apply_scale()
    out = cli.start(argv, FLAGS.out)
    t0, cpu0 = time.perf_counter(), time.process_time()
    lrs, batch_sizes = cli.parse("lr", float), cli.parse("batch_size", int)
    seed_ids = np.arange(FLAGS.first_seed, FLAGS.first_seed + FLAGS.seeds)
    train, val = load_train_validation()
    if max(batch_sizes) > len(train):
        raise app.UsageError(f"--batch_size={max(batch_sizes)} exceeds the {len(train)} training examples left "
                             "after the validation split")
    model = build_model(train.num_classes)
    params = count_params(model, train.shape)
    if params != ARCHITECTURE_PARAMS:
        raise RuntimeError(f"the dense net has {params:,} parameters, not the seed's {ARCHITECTURE_PARAMS:,}")
    data = {"train": (jnp.asarray(train.images), jnp.asarray(train.labels)),
            "eval": (jnp.asarray(val.images), jnp.asarray(val.labels))}
    group = default_group() if FLAGS.group is None else (FLAGS.group or None)
    runs = []
    for bs in batch_sizes:
        runs.append(train_batch_size(model, bs, lrs, seed_ids, data, epochs=FLAGS.epochs, optimizer=FLAGS.optimizer,
                                     chunk_epochs=FLAGS.chunk_epochs, input_shape=train.shape, group=group,
                                     evaluate=runs[0]["evaluate"] if runs else None))
    rows = config_rows(runs, lrs, len(seed_ids), FLAGS.epochs)
    chosen = chosen_configs(rows, FLAGS.top, FLAGS.optimizer)

    # Everything above was decided on the validation split; only now is the test split read.
    try:
        test = load_from_flags(FLAGS.dataset, "test", size=FLAGS.test_size)
    except (ValueError, FileNotFoundError, NotPreparedError) as err:
        raise app.UsageError(str(err)) from err
    test_acc = evaluate_on_test(runs, rows, chosen, test.images, test.labels)
    for c, acc in zip(chosen, test_acc, strict=True):
        c["test_acc"] = {**stats.mean_std(acc), "ci95": mean_ci(acc), "per_seed": acc.tolist()}
    order = rank_configs(np.array([r["val_acc"]["per_seed"] for r in rows]))
    runner_up = order[1] if len(order) > 1 else order[0]
    wall_s = time.perf_counter() - t0

    summary = {
        "experiment": "mnist_dense",
        "params": params,
        "lrs": lrs, "batch_sizes": batch_sizes, "seed_ids": seed_ids,
        "configs": rows,
        "chosen": chosen,
        "best": {k: rows[chosen[0]["index"]][k] for k in ("batch_size", "lr")},
        "best_vs_runner_up_val": paired_difference(rows[order[0]]["val_acc"]["per_seed"],
                                                   rows[runner_up]["val_acc"]["per_seed"]),
        "seed_claims": seed_claims(runs, rows, chosen, test_acc, FLAGS.epochs),
        "inject_hyperparams_note": INJECT_NOTE,
        "curves": {f"batch{run['batch_size']}": {k: run[k] for k in ("val_acc", "val_loss", "train_loss",
                                                                         "train_acc", "stop_epoch")}
                   for run in runs},
        "data": {"train": len(train), "validation": len(val), "test": len(test),
                 "train_metadata": train.metadata(), "test_metadata": test.metadata()},
        "runs": sum(run["models"] for run in runs),
        "group": "all (vmap)" if group is None else group,
        "train_s": sum(run["train_s"] for run in runs),
        "train_s_by_batch_size": {run["batch_size"]: run["train_s"] for run in runs},
        "cpu_s": time.process_time() - cpu0,
        "flags": cli.flag_dict(FLAGS, names=_FLAG_NAMES),
        "provenance": provenance.collect(wall_s=wall_s, compile_s=sum(run["compile_s"] for run in runs)),
    }
    summary["provenance"]["flags"] = summary["flags"]
    io.write_json(out / "summary.json", summary)
    io.write_text(out / "summary.md", summary_markdown(summary))
    name = f"784-128-64-32-10 on {FLAGS.dataset}, {FLAGS.optimizer}, {len(seed_ids)} seeds"
    plot_heatmap(rows, lrs, batch_sizes, chosen[0]["index"], out / "heatmap.png", f"Dense net {name}")
    plot_curves(runs, rows, chosen, out / "curves.png", f"Chosen configurations: dense net {name}")
    logging.info("wrote %s (%.1f s)", out, wall_s)
    print(summary_markdown(summary))


if __name__ == "__main__":
    define_experiment_flags()
    app.run(main)
