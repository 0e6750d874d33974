"""Hyperparameter selection by validation (early stopping, ranking configurations) and the memory of a
compiled training step: the pieces of a tuning protocol that do not depend on one experiment."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import classify, optim


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
