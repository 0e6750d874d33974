r"""MNIST dense net: which of the seed's tuning advice (learning rate, optimizer, batch size, epochs) holds?

Seed 004 Q3 describes a Keras dense net (flatten -> 128 -> 64 -> 32 ReLU -> 10 softmax, inputs /255,
categorical CE) and advises tuning the learning rate, the batch size and the number of epochs, with
reasons (Adam converges faster, larger batches are faster but need more memory, too few epochs underfit,
too many overfit, early stopping helps). We tune and test each reason:

* network: jaxdl.models "mlp" (784-128-64-32-10, 111,146 parameters, checked at start), softmax CE on
  integer labels (= one-hot categorical CE: tested), inputs /255;
* sweep: Adam lr x batch size x seeds; the lrs x seeds of one batch size (or one optimizer) are one
  compiled program (the lr is a per-model value of an inject_hyperparams optimizer, jaxdl.training.optim; an
  optimizer or a batch size changes the state's or the batch's shape: its own program);
* early stopping: --val_fraction of the training split is held out (stratified) and evaluated after
  every epoch (and by the task after the last); each run keeps its best validation epoch (the first on
  ties; Keras' EarlyStopping(restore_best_weights=True), patience = --epochs). Configurations are ranked
  by mean validation accuracy; the test split is read after every choice is made;
* optimizers: SGD and SGD + momentum 0.9 at --compare_batch, each at its best lr (by validation) of a
  small grid, against Adam's best lr there; "faster" = epochs until validation accuracy first reaches
  --target_acc (never: --epochs + 1);
* epochs, without the winner's curse: the a-priori Keras default (Adam 1e-3, batch 32) is compared at
  fixed epochs (--underfit_epochs, --epochs // 2, --epochs) on validation, and its early-stopped weights
  with its last-epoch weights on test (the stopping epoch was chosen on validation, so test is unbiased);
* memory: XLA's buffer assignment of one model's compiled training step at each --memory_batch_sizes
  (`compiled.memory_analysis()`: temporary bytes = activations and gradients; arguments = state + data).
Verdicts: `stats.paired` per seed; margin δ 0.5 pp of accuracy (one run's binomial s.e. on 1,000 test
images at 93% is ~0.8 pp: smaller effects are below what the split resolves), 1 epoch (the evaluation
interval), and 1 pp for "crucial" (a choice that moves accuracy by less than 1 pp is not crucial).

Command:
    python -m experiments.mnist_dense
Runtime: ~1 min on 2 CPU cores (CPU default).
--dataset=fashion_mnist for Fashion-MNIST; --scale=full: full MNIST (tfds), 9 lrs x batch {32..512} x 16
seeds, 30 epochs (GPU).

Expected (CPU default): the best configuration by validation is lr 0.003 at batch 32; lr 0.0001 at batch 128
reaches only 89.34% validation in 20 epochs (the lr matters: supported); Adam reaches 93% validation in
fewer epochs than plain SGD, not resolved against momentum; the temporary memory of the step grows from
0.001 MB at batch 32 to 9.626 MB at batch 2048; too few epochs underfit (supported), but neither
overfitting after epoch 10 nor a test gain from early stopping is resolved at 8 seeds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from absl import app

from experiments.mnist_dense import plots, tuning
from jaxdl.analysis import stats
from jaxdl.data import split_validation
from jaxdl.experiment import config, entry
from jaxdl.models import PARAM_COUNTS, get_model
from jaxdl.reporting import summary, verdicts
from jaxdl.tasks import classify
from jaxdl.training import engine, grid, optim

DATASETS = ("mnist5k", "mnist", "fashion_mnist")  # 28x28x1, 10 classes: the seed's exact architecture
ARCHITECTURE_PARAMS = PARAM_COUNTS["mlp"][1]  # 111,146
KERAS_DEFAULT = {"optimizer": "adam", "lr": 1e-3, "batch_size": 32}  # what the seed ran before tuning
ACC, EPOCH, CRUCIAL = 0.005, 1, 0.01  # the margins δ (module docstring)


@dataclasses.dataclass(frozen=True)
class Config(classify.DataConfig, config.Common):
    dataset: str = config.field("mnist5k", "28x28 grey-level dataset (jaxdl.data).", choices=DATASETS)
    optimizer: str = config.field("adam", "Optimizer of the sweep (the seed's Keras code: adam).",
                                  choices=optim.OPTIMIZERS)
    lr: tuple[float, ...] = config.field((1e-4, 3e-4, 1e-3, 3e-3, 1e-2), "Learning rates (one program per batch "
                                         "size).", lower=0, strict=True)
    batch_size: tuple[int, ...] = config.field((32, 128), "Batch sizes (one program each).", lower=0, strict=True)
    epochs: int = config.field(20, "Maximum epochs; each run keeps its best validation epoch.", lower=1)
    val_fraction: float = config.field(0.2, "Share of the training split held out (stratified) for validation.",
                                       lower=0, upper=1, strict=True)
    split_seed: int = config.field(0, "Seed of the train/validation split (fixed across runs).", lower=0)
    train_size: int = config.field(0, "Use only the first N training examples (before the split); 0 = all.", lower=0)
    test_size: int = config.field(0, "Use only the first N test examples; 0 = all.", lower=0)
    top: int = config.field(3, "Best configurations (by validation) to show on test and plot.", lower=1)
    compare_batch: int = config.field(128, "Batch size of the optimizer comparison.", lower=1)
    sgd_lr: tuple[float, ...] = config.field((0.1, 0.3, 1.0), "SGD learning rates.", lower=0, strict=True)
    momentum_lr: tuple[float, ...] = config.field((0.03, 0.1, 0.3), "SGD + momentum 0.9 learning rates.",
                                                  lower=0, strict=True)
    target_acc: float = config.field(0.93, "Validation accuracy whose first epoch counts as 'converged'.",
                                     lower=0, upper=1)
    underfit_epochs: int = config.field(2, "The 'too few epochs' of the underfitting comparison.", lower=1)
    memory_batch_sizes: tuple[int, ...] = config.field((32, 128, 512, 2048), "Batch sizes whose training step's "
                                                       "memory is measured.", lower=0, strict=True)
    chunk_epochs: int = config.field(5, "Epochs per compiled chunk (a progress line between chunks).", lower=1)
    out: str = config.field("results/mnist_dense", "Output directory.")

    @classmethod
    def full(cls):
        return cls(scale="full", dataset="mnist", lr=(1e-4, 1.8e-4, 3.2e-4, 5.6e-4, 1e-3, 1.8e-3, 3.2e-3, 5.6e-3, 1e-2),
                   batch_size=(32, 64, 128, 256, 512), seeds=16, epochs=30, val_fraction=0.1)



def build_model(num_classes: int = 10):
    """The seed's dense net: flatten -> 128 -> 64 -> 32 (ReLU) -> num_classes logits (softmax in the loss)."""
    return get_model("mlp", num_classes)


@dataclasses.dataclass
class Program:
    """One engine call of the sweep: lrs x seeds (lr-major) at one optimizer and batch size."""

    optimizer: str
    batch_size: int
    lrs: tuple[float, ...]
    result: engine.Result
    steps_per_epoch: int
    evaluate: Callable  # the task's evaluation of stacked models (classify.make_task)

    @property
    def name(self) -> str:
        return f"{self.optimizer} b{self.batch_size}"


def train_program(model, cfg: Config, data, optimizer: str, lrs, batch_size: int) -> Program:
    """lrs x seeds (lr-major) at one batch size and optimizer, every step recorded, evaluated every epoch."""
    num_train = int(data["train"][1].shape[0])
    spe = num_train // batch_size
    # mean 0, std 1: classify divides by 255 itself, which is the seed's whole preprocessing.
    task = classify.make_task(model, optim.make_optimizer(optimizer), num_train=num_train, batch_size=batch_size,
                              input_shape=(28, 28, 1), mean=0.0, std=1.0, eval_every=spe, keep_best=True,
                              steps=cfg.epochs * spe)
    trainer = engine.make_train(task, steps=cfg.epochs * spe, chunk_steps=cfg.chunk_epochs * spe, record_every=1,
                                group=cfg.engine_group(engine.default_group()))
    g = grid.Grid(cfg.seed_ids, lr=lrs)
    result = trainer(g.keys, g.hparams, data, label=f"{optimizer} batch {batch_size}")
    return Program(optimizer, batch_size, tuple(lrs), result, spe, task.evaluate)


def run(cfg: Config) -> dict:
    train, val = split_validation(cfg.load(cfg.dataset, "train", size=cfg.train_size or None), cfg.val_fraction,
                                  seed=cfg.split_seed)
    if max(cfg.batch_size + (cfg.compare_batch,)) > len(train):
        raise app.UsageError(f"--batch_size={max(cfg.batch_size + (cfg.compare_batch,))} exceeds the {len(train)} "
                             "training examples left after the validation split")
    model = build_model(train.num_classes)
    if (params := tuning.count_params(model, train.shape)) != ARCHITECTURE_PARAMS:
        raise RuntimeError(f"the dense net has {params:,} parameters, not the seed's {ARCHITECTURE_PARAMS:,}")
    data = {"train": (jnp.asarray(train.images), jnp.asarray(train.labels)),
            "eval": (jnp.asarray(val.images), jnp.asarray(val.labels))}
    sweep = [(cfg.optimizer, cfg.lr, b) for b in cfg.batch_size] + [
        (name, lrs, cfg.compare_batch) for name, lrs in (("sgd", cfg.sgd_lr), ("momentum", cfg.momentum_lr))]
    programs = {p.name: p for p in (train_program(model, cfg, data, *args) for args in sweep)}
    # Every choice is made on validation (analyse); the test split is read only now, for every model.
    test = cfg.load(cfg.dataset, "test", size=cfg.test_size or None)
    x, y = jnp.asarray(test.images), jnp.asarray(test.labels)
    evaluate = next(iter(programs.values())).evaluate  # one network: one compiled evaluation
    tests = {k: {"best": np.asarray(evaluate(r.state["best_params"], r.state["best_extra"], x, y)[1], np.float64),
                 "last": np.asarray(evaluate(r.state["params"], r.state["extra"], x, y)[1], np.float64)}
             for k, r in ((k, p.result) for k, p in programs.items())}
    memory = tuning.step_memory(model, [b for b in cfg.memory_batch_sizes if b <= len(train)], data)
    return {"programs": programs, "test": tests, "memory": memory, "params": params,
            "sizes": {"train": len(train), "validation": len(val), "test": len(test),
                      "train_metadata": train.metadata(), "test_metadata": test.metadata()}}


def analyse(cfg: Config, out: dict) -> summary.Summary:
    n, programs = cfg.seeds, out["programs"]
    ps = {k: tuning.program_stats(p, out["test"][k], cfg.epochs, cfg.target_acc) for k, p in programs.items()}
    rows_of = {k: tuning.config_rows(p, ps[k], n) for k, p in programs.items()}
    rows = [r for b in cfg.batch_size for r in rows_of[f"{cfg.optimizer} b{b}"]]
    chosen = tuning.chosen_configs(rows, cfg.top, cfg.optimizer, KERAS_DEFAULT,
                                   "Keras default (Adam 1e-3, batch 32)")
    best_of = lambda rs: max(rs, key=lambda r: np.mean(r["best_val"]))  # noqa: E731  (by validation only)
    keras = next((rows[c["index"]] for c in chosen if "Keras" in c["reason"]), rows[chosen[0]["index"]])
    small, large = (best_of(rows_of[f"{cfg.optimizer} b{b}"]) for b in (min(cfg.batch_size), max(cfg.batch_size)))
    order = tuning.rank_configs(np.array([r["best_val"] for r in rows]))
    half, cp = cfg.epochs // 2, cfg.compare_batch
    c = verdicts.compare
    never = lambda r: r["epochs_to_target"] > cfg.epochs  # noqa: E731  (never reached: >= epochs + 1)
    lr_parts = [c(f"batch {b}, best minus worst lr (by validation), test", best_of(rs)["test_best"],
                  min(rs, key=lambda r: np.mean(r["best_val"]))["test_best"], +1, CRUCIAL)
                for b in cfg.batch_size for rs in [rows_of[f"{cfg.optimizer} b{b}"]]]
    adam = best_of([r for r in rows if r["batch_size"] == cp]) if cp in cfg.batch_size else None
    opt_parts = [] if adam is None else [
        part for other in ("sgd", "momentum") for o in [best_of(rows_of[f"{other} b{cp}"])] for part in (
            c(f"Adam (lr {adam['lr']:g}) minus {other} (lr {o['lr']:g}), epochs to {cfg.target_acc:.0%} validation",
              adam["epochs_to_target"], o["epochs_to_target"], -1, EPOCH, " epochs", 1, a_censored=never(adam),
              b_censored=never(o)),
            c(f"Adam minus {other}, test", adam["test_best"], o["test_best"], +1, ACC))]
    # Seconds are estimated, not timed per run: epochs to the target x the program's s/epoch per model (its
    # wall time / epochs / models: one number per batch size). Timings share one margin (stats.TIME_MARGIN).
    sec = lambda r: r["epochs_to_target"] * ps[r["program"]]["s_per_epoch"]  # noqa: E731
    bs_label = f"batch {max(cfg.batch_size)} minus {min(cfg.batch_size)} (each at its best lr)"
    fast_parts = [c(f"{bs_label}, epochs to {cfg.target_acc:.0%} validation", large["epochs_to_target"],
                    small["epochs_to_target"], -1, EPOCH, " epochs", 1, a_censored=never(large),
                    b_censored=never(small)),
                  c(f"{bs_label}, estimated seconds to it (epochs x the program's s/epoch per model; δ "
                    f"{stats.TIME_MARGIN:.0%} of batch {min(cfg.batch_size)}'s median)", sec(large), sec(small), -1,
                    stats.TIME_MARGIN * float(np.median(sec(small))), " s", 1, a_censored=never(large),
                    b_censored=never(small))]
    acc_diff = np.median(large["test_best"] - small["test_best"])
    bs_acc = c(f"{bs_label}, test (two-sided: claimed sign = the observed one)", large["test_best"],
               small["test_best"], 1 if acc_diff >= 0 else -1, ACC)
    mem = out["memory"]
    grows = all(b[1] > a[1] for a, b in zip(mem, mem[1:], strict=False))
    k_lbl = f"Keras default (lr {keras['lr']:g}, batch {keras['batch_size']})"
    under = [c(f"{k_lbl}, validation after {cfg.underfit_epochs} minus {half} epochs",
               keras["val_acc"][:, cfg.underfit_epochs], keras["val_acc"][:, half], -1, ACC),
             c(f"{k_lbl}, train loss after {cfg.underfit_epochs} minus {half} epochs",
               keras["train_loss"][:, cfg.underfit_epochs - 1], keras["train_loss"][:, half - 1], +1, 0, "", 1)]
    over = [c(f"{k_lbl}, validation after {cfg.epochs} minus {half} epochs", keras["val_acc"][:, -1],
              keras["val_acc"][:, half], -1, ACC)]
    stop_part = [c(f"{k_lbl}, test, early-stopped minus last epoch", keras["test_best"], keras["test_last"], +1, ACC)]
    lr_default = next((r for r in rows_of[f"{cfg.optimizer} b{min(cfg.batch_size)}"]
                       if np.isclose(r["lr"], KERAS_DEFAULT["lr"])), small)
    tune_lr = c(f"batch {small['batch_size']}: lr {small['lr']:g} (by validation) minus lr {lr_default['lr']:g}, test",
                small["test_best"], lr_default["test_best"], +1, ACC)
    claims = [verdicts.claim("lr_crucial", lr_parts), verdicts.claim(
        "adaptive_faster", opt_parts, "schedules not measured" if opt_parts else "needs Adam at --compare_batch"),
              verdicts.claim("batch_size_matters", [bs_acc, fast_parts[0]]),
              verdicts.claim("large_batch_faster", fast_parts),
              verdicts.claim("large_batch_memory", [verdicts.exact(
                  "more memory at larger batches", grows, "temporary memory of one model's compiled step: " + ", ".join(
                      f"{t:.3f} MB at batch {b}" for b, t, _ in mem) + " (XLA buffer assignment)")],
                  context={"memory_mb": mem}) if len(mem) > 1 else verdicts.not_testable(
                  "large_batch_memory", "", "needs two --memory_batch_sizes"),
              verdicts.claim("few_epochs_underfit", under), verdicts.claim("many_epochs_overfit", over),
              verdicts.claim("early_stopping_helps", stop_part)]
    claims.append(verdicts.claim("tuning_matters", [tune_lr, bs_acc, fast_parts[0], *stop_part],
                                 note="the lr, batch-size and epochs parts, each with its own word"))
    tables = [
        tuning.chosen_table(rows, chosen, c("Best minus runner-up on validation (optimistic: both won a maximum over "
                                            "epochs)", rows[order[0]]["best_val"],
                                            rows[order[min(1, len(order) - 1)]]["best_val"], +1, ACC)[0]),
        tuning.sweep_table([r for rs in rows_of.values() for r in rs], cfg.target_acc),
        summary.Table("Training step memory per model", ["batch", "temporary MB", "arguments MB (state + data)"],
                      mem, formats=["", ".3f", ".1f"])]
    setup = (f"Data: `{cfg.dataset}` ({out['sizes']['train']:,} train, {out['sizes']['validation']:,} validation, "
             f"{out['sizes']['test']:,} test), inputs /255. Network: {out['params']:,} parameters. Sweep: "
             f"{cfg.optimizer} lr {cfg.lr} x batch {cfg.batch_size} x {n} seeds, at most {cfg.epochs} epochs, each run "
             f"kept at its best validation epoch; SGD lr {cfg.sgd_lr} and momentum lr {cfg.momentum_lr} at batch {cp}. "
             "Every choice is made on validation; test accuracy is read after it.")
    program_curves = [(f"lr {r['lr']:g}, batch {r['batch_size']}, {r['optimizer']}", r)
                      for r in [rows[i["index"]] for i in chosen] + [best_of(rs) for k, rs in rows_of.items()
                                                                     if not k.startswith(cfg.optimizer)]]
    return summary.Summary(
        "mnist_dense", f"Dense net 784-128-64-32-10 on {cfg.dataset}: learning rate, optimizer, batch size, epochs",
        setup, tables, claims, figures=[
            summary.Figure("heatmap.png", plots.config_heatmap, (
                rows, cfg.lr, cfg.batch_size, chosen[0]["index"], f"Dense net on {cfg.dataset}, {n} seeds")),
            summary.Figure("curves.png", plots.config_curves, (
                program_curves, f"Chosen configurations and optimizers, {n} seeds"))],
        data={k: {"lr": r["lr"], **{f: np.asarray(r[f]).tolist() for f in ("val_acc", "val_loss", "train_loss",
                                                                           "stop", "test_best", "test_last")}}
              for k, r in ((f"{r['program']} lr {r['lr']:g}", r) for rs in rows_of.values() for r in rs)})


main = entry.main(Config, run, analyse, name="mnist_dense")
