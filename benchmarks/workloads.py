"""The workloads the benchmarks time, each defined once; the CPU sections (benchmarks/*_bench.py) and
benchmarks.gpu_check's sections build them at their own sizes.

- FC grid: two-layer MLPs 2-16-1 (ReLU hidden, sigmoid-CE output), full-batch SGD at lr 0.5 on the same
  200 XOR points: the fc_grid experiment's cheapest cell, where per-model overheads show most.
- CNN: the cnn_aux experiment's training step (SmallCNN with its 1-output regression head, CE + λ·L2,
  Adam; half the models at λ = 0, half at 1), on mnist5k or any image set.
- Zoo: a zoo model under the svhn_zoo recipe (jaxdl.tasks.recipe) on random 32x32x3 batches: throughput
  does not depend on the pixels, and no data set has to be generated or carried to a GPU machine.
- Whole experiment processes (`experiment_process`, `fc_grid_process`): `python -m experiments.<name>` as a
  user runs it, timed from start to exit, with the summary.json it wrote.

Baselines without the engine (`scan_train`): the same task step in a `lax.scan` for one model, which the
sections jit per model (one at a time) or vmap over all models (plain vmap): the gap to the engine rows is
the engine's own work (sharding, grouping, recording, the divergence guard).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import timing
from jaxdl.data.toy import make_toy
from jaxdl.models.mlp import MLP
from jaxdl.tasks import aux_head, binary, recipe
from jaxdl.training import engine

REPO = Path(__file__).resolve().parent.parent

FC_HIDDEN, FC_POINTS, FC_LR = 16, 200, 0.5


def fc_data() -> tuple[np.ndarray, np.ndarray]:
    """(x [200, 2], y [200] float32): the XOR points every FC contender trains on."""
    x, y = make_toy("xor", FC_POINTS, seed=0)
    return x, y.astype(np.float32)


def fc_task(batched: bool = True) -> engine.Task:
    """batched=False: the per-model step as written, without jaxdl.tasks.binary's group rule (what plain
    vmap and one-at-a-time loops run)."""
    return binary.make_task(MLP(features=(FC_HIDDEN, 1), activation="relu"), "ce", "sgd", input_dim=2,
                            batched=batched)


def fc_hparams(models: int) -> dict:
    return {"lr": np.full(models, FC_LR, np.float32)}


CNN_LR = 1e-3


def cnn_hparams(models: int) -> dict:
    """lr 1e-3 for all; λ alternating 0, 1 (both branches of the objective in every group)."""
    return {"lr": np.full(models, CNN_LR, np.float32), "aux_weight": np.tile([0.0, 1.0], models // 2)}


def cnn_task(ds, *, eval_size: int, batch_size: int, eval_every: int, scan_friendly: bool | None = None):
    """The cnn_aux task ("digit_value" head) on `ds` less its first `eval_size` images (held out for
    the task's evaluation); scan_friendly None: jaxdl.models.scan_conv's convolutions on CPU only."""
    _, task = aux_head.make_task("digit_value", num_classes=ds.num_classes, input_shape=ds.shape,
                                 train_images=ds.images[eval_size:], train_labels=ds.labels[eval_size:],
                                 optimizer="adam", batch_size=batch_size, eval_every=eval_every,
                                 scan_friendly=scan_friendly)
    return task


def cnn_data(ds, eval_size: int) -> dict:
    """The task's data on the device: the training images, and the first `eval_size` for evaluation."""
    return {"train": (jnp.asarray(ds.images[eval_size:]), jnp.asarray(ds.labels[eval_size:])),
            "eval": (jnp.asarray(ds.images[:eval_size]), jnp.asarray(ds.labels[:eval_size]))}


ZOO_EVAL = 64  # images evaluated by the zoo task (it evaluates only at the end, or never: eval_every None)


def zoo_images(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [n, 32, 32, 3], labels int32 [n]), random, fixed seed."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return images, rng.integers(0, 10, n).astype(np.int32)


def zoo_task(name: str, *, batch: int, steps: int, train, eval_size: int = ZOO_EVAL, num_classes: int = 10):
    """The svhn_zoo recipe's task for model `name`, compute dtype as svhn_zoo picks it (bf16 off CPU)."""
    _, task = recipe.make_task(name, recipe.Recipe(batch_size=batch), steps=steps, train=train,
                               eval_size=eval_size, num_classes=num_classes, eval_every=None,
                               dtype=recipe.compute_dtype("auto"))
    return task


def zoo_data(images, labels) -> dict:
    return recipe.device_data((images, labels), images[:ZOO_EVAL], labels[:ZOO_EVAL])


def one_chunk(task: engine.Task, steps: int, *, group, record_every: int | None = None, mesh=None) -> engine.Trainer:
    """A trainer running `steps` steps as one chunk (one compiled loop per call), recording every
    `record_every` steps (default: once, at the end)."""
    return engine.make_train(task, steps=steps, chunk_steps=steps, record_every=record_every or steps, group=group,
                             mesh=mesh)


def scan_train(task: engine.Task, data, steps: int, *, keep_metrics: bool = False):
    """train(key, hparams) -> final state (and the per-step metrics with keep_metrics): one model, the
    task step in a `lax.scan`, no engine. Jit it (one model at a time) or vmap it (plain vmap)."""

    def train(key, hparams):
        state = task.init(key, hparams)
        if keep_metrics:
            return jax.lax.scan(lambda s, t: task.step(s, data, t), state, jnp.arange(steps))
        state, _ = jax.lax.scan(lambda s, t: (task.step(s, data, t)[0], None), state, jnp.arange(steps))
        return state

    return train


def experiment_process(module: str, args: Sequence[str], out: str | Path, *,
                       env: Mapping[str, str] | None = None) -> tuple[timing.Process, dict]:
    """`python -m MODULE ARGS --out=OUT` as a fresh process from the repository root: (the process, timed
    whole, and the summary.json it wrote). RuntimeError if it failed."""
    proc = timing.run_process([sys.executable, "-m", module, *args, f"--out={out}"], cwd=REPO,
                              env=env).check(f"{module} {' '.join(args)}")
    return proc, json.loads((Path(out) / "summary.json").read_text())


def fc_grid_process(out: Path, *args: str) -> dict:
    """One whole `python -m experiments.fc_grid --time_models=0 ARGS` process (the per-activation step
    timing is a measurement of its own, not training): its wall seconds and what its summary.json reports."""
    proc, s = experiment_process("experiments.fc_grid", ("--time_models=0", *args), out)
    return {"wall_s": proc.seconds, "compile_s": s["provenance"]["compile_s"], "model_steps": s["data"]["model_steps"],
            "cells": [(c["activation"], c["loss"]) for c in s["data"]["cells"]],
            "iterations": [r["iterations"] for c in s["data"]["cells"] for r in c["by_lr"]]}


def with_compile_cache(cache_dir: str) -> dict:
    """This environment with jaxdl's compilation cache at `cache_dir` (and JAX's own setting dropped,
    which would win over it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    return env | {"JAXDL_COMPILE_CACHE_DIR": cache_dir}
