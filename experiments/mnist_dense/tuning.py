"""Hyperparameter selection by validation (early stopping, ranking configurations) and the memory of a
compiled training step: the pieces of a tuning protocol that do not depend on one experiment."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.analysis import curves, stats
from jaxdl.reporting.summary import Table
from jaxdl.tasks import classify
from jaxdl.training import optim


def early_stopping_epoch(val_acc: np.ndarray) -> np.ndarray:
    """Per run, the epoch of the best validation accuracy, the first one on ties (what keep_best keeps).
    val_acc: [M, E + 1], column e = after e epochs (0 = the initial weights); NaN never wins -> int [M]."""
    return np.argmax(np.where(np.isnan(val_acc), -np.inf, val_acc), axis=1)


def rank_configs(val_acc: np.ndarray) -> np.ndarray:
    """Configurations best first by mean validation accuracy over seeds (ties: first listed). [C, seeds] -> [C]."""
    return np.argsort(-np.mean(val_acc, axis=1), kind="stable")


def chosen_configs(rows: list[dict], top: int, optimizer: str, default: dict, label: str) -> list[dict]:
    """The `top` best by validation, then `default` ({"optimizer", "lr", "batch_size"}, chosen a priori,
    e.g. Keras' defaults; `label` names it) if it is in the grid.
    rows: [{"batch_size", "lr", "best_val" [seeds]}] -> [{"index", "rank", "reason"}]."""
    order = rank_configs(np.array([r["best_val"] for r in rows]))
    rank = {int(c): k + 1 for k, c in enumerate(order)}
    chosen = [{"index": int(c), "rank": k + 1, "reason": f"validation rank {k + 1}"} for k, c in enumerate(order[:top])]
    for i, r in enumerate(rows):
        if optimizer == default["optimizer"] and np.isclose(r["lr"], default["lr"]) and \
                r["batch_size"] == default["batch_size"]:
            found = [c for c in chosen if c["index"] == i]
            if found:
                found[0]["reason"] += "; " + label.split(" (")[0]
            else:
                chosen.append({"index": i, "rank": rank[i], "reason": label})
    return chosen


def step_memory(model, batch_sizes, data, input_shape=(28, 28, 1)) -> list[list]:
    """[[batch, temporary MB, argument MB]] of one model's compiled Adam step on classify's task: XLA's
    buffer assignment (`memory_analysis()`): temporaries are the activations and gradients, arguments
    the state and the data. Exact for the compiled program, on any backend."""
    rows = []
    for bs in batch_sizes:
        task = classify.make_task(model, optim.make_optimizer("adam"), num_train=int(data["train"][1].shape[0]),
                                  batch_size=bs, input_shape=input_shape, mean=0.0, std=1.0, eval_every=None)
        state = task.init(jax.random.key(0), {"lr": jnp.float32(1e-3)})
        mem = jax.jit(task.step).lower(state, data, jnp.int32(0)).compile().memory_analysis()
        rows.append([bs, mem.temp_size_in_bytes / 2**20, mem.argument_size_in_bytes / 2**20])
    return rows


def count_params(model, input_shape) -> int:
    """Parameters of a flax model on one input of `input_shape` (traced only, nothing computed)."""
    variables = jax.eval_shape(lambda k: model.init(k, jnp.zeros((1, *input_shape)), train=False), jax.random.key(0))
    return sum(leaf.size for leaf in jax.tree.leaves(variables["params"]))


def program_stats(program, test: dict, epochs: int, target_acc: float) -> dict:
    """Per model [M] of a Program's engine.Result evaluated every epoch (classify, keep_best): validation curves by
    epoch [M, E + 1], train loss by epoch [M, E], the early-stopping epoch and its validation accuracy, epochs
    to `target_acc` (never: epochs + 1), and test['best'], test['last'] (early-stopped, last weights)."""
    result = program.result
    _, val_loss, val_acc = classify.eval_curve(result, program.steps_per_epoch)
    stop = early_stopping_epoch(val_acc)
    hit = curves.first_hit_step(np.arange(val_acc.shape[1]), val_acc, target_acc)
    m = len(stop)
    return {"val_acc": val_acc, "val_loss": val_loss, "stop": stop, "best_val": val_acc[np.arange(m), stop],
            "train_loss": result.metrics["loss"].reshape(m, epochs, -1).mean(-1),
            "epochs_to_target": stats.censored_iterations(hit, epochs + 1),
            "s_per_epoch": result.wall_s / epochs / m, "test_best": test["best"], "test_last": test["last"],
            "diverged": result.diverged}


def config_rows(program, p: dict, n: int) -> list[dict]:
    """One row per lr of a program: {batch_size/optimizer, lr, per-seed slices of its stats `p`}."""
    return [{"program": program.name, "lr": lr, "batch_size": program.batch_size, "optimizer": program.optimizer,
             **{k: v[i * n:(i + 1) * n] for k, v in p.items() if k != "s_per_epoch"}}
            for i, lr in enumerate(program.lrs)]


def accuracy(a) -> dict:
    """Accuracy over seeds: {mean, std, n} (fractions)."""
    return stats.mean_std(a)


def pct(v: dict) -> str:
    """An `accuracy` cell in percent, mean ± std over seeds (the mean alone for one seed)."""
    return f"{100 * v['mean']:.2f} ± {100 * v['std']:.2f}" if v["n"] > 1 else f"{100 * v['mean']:.2f}"


def _epochs_range(r: dict) -> dict:
    return {"median": float(np.median(r["stop"])), "min": int(r["stop"].min()), "max": int(r["stop"].max())}


EPOCHS_RANGE = "{median:g} ({min}-{max})"


def chosen_table(rows: list[dict], chosen: list[dict], note: str) -> Table:
    """The `chosen_configs` of `config_rows` on the test set (early-stopped weights)."""
    return Table("Chosen configurations on the test set", ["config", "why chosen", "validation acc %",
                                                          "test acc % (mean ± std)", "epoch median (range)"],
                 [[{"lr": rows[i["index"]]["lr"], "batch_size": rows[i["index"]]["batch_size"]}, i["reason"],
                   accuracy(rows[i["index"]]["best_val"]), accuracy(rows[i["index"]]["test_best"]),
                   _epochs_range(rows[i["index"]])] for i in chosen],
                 formats=["lr {lr:g}, batch {batch_size}", None, pct, pct, EPOCHS_RANGE], note=note)


def sweep_table(rows: list[dict], target_acc: float) -> Table:
    """Every `config_rows` row: validation at early stop and after the last epoch, epochs to `target_acc`, test."""
    return Table("Every configuration (validation)", ["program", "lr", "val acc % at early stop (mean ± std)",
                                                      "epoch median (range)", "val acc % after the last epoch",
                                                      f"epochs to {target_acc:.0%} (median)",
                                                      "test acc % early-stopped / last", "diverged"],
                 [[r["program"], r["lr"], accuracy(r["best_val"]), _epochs_range(r),
                   float(np.mean(r["val_acc"][:, -1])), float(np.median(r["epochs_to_target"])),
                   {"early_stopped": float(np.mean(r["test_best"])), "last": float(np.mean(r["test_last"]))},
                   int(r["diverged"].sum())] for r in rows],
                 formats=[None, "g", pct, EPOCHS_RANGE, lambda a: f"{100 * a:.2f}", "g",
                          lambda t: f"{100 * t['early_stopped']:.2f} / {100 * t['last']:.2f}"])
