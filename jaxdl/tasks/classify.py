"""Minibatch image classification as an engine task: the CNN, dense-net and model-zoo experiments use it.

The data sit on the device once, as the engine's `data` argument (shared by every model):

    data = {"train": (images uint8 [N, H, W, C], labels int32 [N]),
            "eval":  (images uint8 [E, H, W, C], labels int32 [E])}

Each step takes its batch from a per-model permutation drawn at the start of every epoch. The epoch
boundary depends only on the step index, which every model shares, so `lax.cond` stays a real branch
under the engine's vmap (a batched predicate would compute both branches on every step).

Every `eval_every` steps (again a shared predicate) the task evaluates on the whole eval split and keeps
the result in its state, so the engine's recorded metrics carry held-out curves at no per-step cost.
Given `steps`, it also evaluates the final state itself, after the last update (`final_eval_loss`,
`final_eval_acc` in the state; `eval_curve` appends them to the recorded curve), so no experiment
patches the last point in afterwards. With `keep_best=True` the state also keeps the parameters of the
best evaluation so far, the final one included (early stopping by validation accuracy without storing
every epoch's weights).

hparams: "lr" (optional; needs an `optax.inject_hyperparams` optimizer, see jaxdl.training.optim) plus anything
the `objective` reads (e.g. an auxiliary-loss weight).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl.data import batching
from jaxdl.experiment import config
from jaxdl.training import engine, losses, optim

# objective(outputs, images_float [B,H,W,C], labels [B], hp) -> (loss, logits [B, C])
Objective = Callable[[Any, jax.Array, jax.Array, dict], tuple[jax.Array, jax.Array]]


def cross_entropy(outputs, images, labels, hp):
    """The default objective: softmax CE on the model's logits."""
    del images, hp
    return losses.softmax_ce(outputs, labels), outputs


def _split_variables(variables):
    variables = dict(variables)
    return variables.pop("params"), variables  # the rest: e.g. batch_stats (empty for most models)


def make_task(
    model: nn.Module,
    tx: optax.GradientTransformation,
    *,
    num_train: int,
    batch_size: int,
    input_shape: tuple[int, ...],
    mean,
    std,
    eval_every: int | None,
    eval_batch_size: int = 1000,
    crop_pad: int = 0,
    objective: Objective = cross_entropy,
    keep_best: bool = False,
    batch_sharding: jax.sharding.Sharding | None = None,
    steps: int | None = None,
) -> engine.Task:
    """An engine Task training `model` with `tx` on data laid out as in the module docstring.

    Metrics per step: loss and acc of the step's batch (before its update), eval_loss and eval_acc of
    the latest evaluation (taken at the last step that is a multiple of eval_every; eval_every=None: no
    evaluation during training and no eval metrics; the caller evaluates the final weights).
    batch_sharding: engine.batch_sharding(mesh) to split each step's batch over the mesh's "batch" axis
    (data parallelism); the batch size must then be a multiple of that axis' size.
    steps: the trainer's step count; with eval_every, step steps - 1 evaluates its updated state too.
    `evaluate` (stacked models [M]) runs one model at a time on CPU when the model convolves
    (`one_model_at_a_time`), all at once otherwise.
    """
    c = _Classifier(model, tx, num_train, batch_size, input_shape, mean, std, eval_every, eval_batch_size,
                    crop_pad, objective, keep_best, batch_sharding, steps)
    return engine.Task(init=c.init, step=c.step, describe=c.describe, evaluate=c.stacked_evaluate)


@dataclasses.dataclass(frozen=True)
class _Classifier:
    """make_task's arguments and the task's functions over them, in the order a step uses them."""

    model: nn.Module
    tx: optax.GradientTransformation
    num_train: int
    batch_size: int
    input_shape: tuple[int, ...]
    mean: Any
    std: Any
    eval_every: int | None
    eval_batch_size: int
    crop_pad: int
    objective: Objective
    keep_best: bool
    batch_sharding: jax.sharding.Sharding | None
    steps: int | None
    # Built on first use: deciding whether the model convolves traces it, seconds for a ResNet-101 that
    # may never need it.
    _stacked: list = dataclasses.field(default_factory=list, compare=False)

    def init(self, key, hp):
        x = jnp.zeros((1, *self.input_shape), jnp.float32)
        params, extra = _split_variables(self.model.init(jax.random.fold_in(key, 0), x, train=False))
        opt_state = self.tx.init(params)
        if "lr" in hp:
            opt_state = optim.with_lr(opt_state, hp["lr"])
        state = {"params": params, "extra": extra, "opt_state": opt_state, "key": key, "hp": hp,
                 "perm": jnp.arange(self.num_train, dtype=jnp.int32)}
        if self.eval_every is not None:  # NaN until the first evaluation, which step 0 runs
            state |= {"eval_loss": jnp.float32(jnp.nan), "eval_acc": jnp.float32(jnp.nan)}
            if self.steps is not None:  # -1 = not evaluated yet: NaN would read as divergence to the engine's guard
                state |= {"final_eval_loss": jnp.float32(-1), "final_eval_acc": jnp.float32(-1)}
        if self.keep_best:
            state |= {"best_params": params, "best_extra": extra, "best_eval_acc": jnp.float32(-1),
                      "best_step": jnp.int32(-1)}
        return state

    def step(self, state, data, t):
        state = self.maybe_evaluate(state, data, t)
        images, labels, perm = self.batch(state, data, t)
        crop_key = jax.random.fold_in(jax.random.fold_in(state["key"], 2), t)
        x = batching.prepare(crop_key, images, self.mean, self.std, crop_pad=self.crop_pad)

        def loss_fn(params):
            outputs, extra = self.forward(params, state["extra"], x, train=True)
            loss, logits = self.objective(outputs, images, labels, state["hp"])
            return loss, (logits, extra)

        (loss, (logits, extra)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        updates, opt_state = self.tx.update(grads, state["opt_state"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        metrics = {"loss": loss, "acc": jnp.mean(jnp.argmax(logits, -1) == labels)}
        if self.eval_every is not None:
            metrics |= {"eval_loss": state["eval_loss"], "eval_acc": state["eval_acc"]}
        state = {**state, "params": params, "extra": extra, "opt_state": opt_state, "perm": perm}
        return self.maybe_evaluate(state, data, t, final=True), metrics

    def batch(self, state, data, t):
        """Step t's (images, labels) and the epoch's permutation (redrawn when t starts an epoch)."""
        steps_per_epoch = batching.steps_per_epoch(self.num_train, self.batch_size)
        epoch, i = t // steps_per_epoch, t % steps_per_epoch
        draw = lambda: batching.epoch_permutation(jax.random.fold_in(state["key"], 1), epoch, self.num_train)
        perm = jax.lax.cond(i == 0, draw, lambda: state["perm"])
        images, labels = batching.get_batch(*data["train"], perm, i, self.batch_size)
        if self.batch_sharding is not None:
            images, labels = (jax.lax.with_sharding_constraint(a, self.batch_sharding) for a in (images, labels))
        return images, labels, perm

    def forward(self, params, extra, x, train):
        variables = {"params": params, **extra}
        if train and extra:
            return self.model.apply(variables, x, train=True, mutable=list(extra))
        return self.model.apply(variables, x, train=train), extra

    def maybe_evaluate(self, state, data, t, final=False):
        """Evaluates before update t when t % eval_every == 0; with `final`, after the last update."""
        if self.eval_every is None or (final and self.steps is None):
            return state
        prefix = "final_" if final else ""

        def run(state):
            loss, acc = self.evaluate(state["params"], state["extra"], *data["eval"])
            state = {**state, prefix + "eval_loss": loss, prefix + "eval_acc": acc}
            return self.keep_if_best(state, acc, t + final) if self.keep_best else state

        due = (t == self.steps - 1) if final else (t % self.eval_every == 0)
        return jax.lax.cond(due, run, lambda s: s, state)

    @staticmethod
    def keep_if_best(state, acc, step):
        better = acc > state["best_eval_acc"]
        pick = lambda new, old: jax.tree.map(lambda a, b: jnp.where(better, a, b), new, old)
        return state | {"best_params": pick(state["params"], state["best_params"]),
                        "best_extra": pick(state["extra"], state["best_extra"]),
                        "best_eval_acc": jnp.where(better, acc, state["best_eval_acc"]),
                        "best_step": jnp.where(better, step, state["best_step"])}

    def evaluate(self, params, extra, images, labels):
        """Mean loss and accuracy over eval images [E, ...] in batches (the remainder included)."""
        n = images.shape[0]
        size = min(self.eval_batch_size, n)
        batches = -(-n // size)
        pad = batches * size - n
        x = jnp.pad(images, ((0, pad),) + ((0, 0),) * (images.ndim - 1)).reshape(batches, size, *images.shape[1:])
        y = jnp.pad(labels, (0, pad)).reshape(batches, size)
        valid = (jnp.arange(batches * size) < n).reshape(batches, size)

        def one(batch):
            xb, yb, vb = batch
            outputs, _ = self.forward(params, extra, batching.normalize(xb, self.mean, self.std), train=False)
            _, logits = self.objective(outputs, xb, yb, {})
            ce = optax.softmax_cross_entropy_with_integer_labels(logits, yb)
            return jnp.sum(ce * vb), jnp.sum((jnp.argmax(logits, -1) == yb) * vb)

        ce_sum, correct = jax.lax.map(one, (x, y, valid))
        return jnp.sum(ce_sum) / n, jnp.sum(correct) / n

    def describe(self, metrics):
        if self.eval_every is None:
            loss, acc = np.nanmedian(metrics["loss"]), 100 * np.nanmedian(metrics["acc"])
            return f"[median batch loss {loss:.3f}, acc {acc:.0f}%]"
        return f"[median eval acc {100 * np.nanmedian(metrics['eval_acc']):.1f}%]"

    def stacked_evaluate(self, params, extra, images, labels):
        """`evaluate` over stacked models [M] after training (e.g. the test set, touched once)."""
        if not self._stacked:
            self._stacked.append(over_models(self.evaluate, one_model_at_a_time(self.model, self.input_shape)))
        return self._stacked[0](params, extra, images, labels)


def one_model_at_a_time(model: nn.Module, input_shape) -> bool:
    """Whether to evaluate stacked models one at a time: on CPU when the model convolves, since a vmap
    over models turns its convolutions into grouped convolutions (3x slower for the cnn_aux CNN)."""
    x = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    return engine.one_model_at_a_time(lambda x: model.init(jax.random.key(0), x, train=False), x)  # init applies


def over_models(fn: Callable, sequential: bool) -> Callable:
    """`fn(params, extra, *shared)` of one model -> jitted over stacked params/extra [M, ...], the
    `shared` arguments (e.g. images, labels) the same for every model: lax.map (one model at a time)
    if `sequential`, else one vmap."""
    def stacked(params, extra, *shared):
        one = lambda pe: fn(pe[0], pe[1], *shared)
        return jax.lax.map(one, (params, extra)) if sequential else jax.vmap(one)((params, extra))

    return jax.jit(stacked)


def eval_curve(result: engine.Result, eval_every: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps [E], loss [M, E], accuracy [M, E]) of a run's evaluations: those recorded every
    `eval_every` steps (before that step's update; record_every must divide eval_every), then the final
    state's (after the last update, at result.steps_run; NaN for a model frozen before it, see
    engine.Result.frozen_at). Needs a task made with eval_every and steps."""
    at = result.record_steps % eval_every == 0
    steps = np.append(result.record_steps[at], result.steps_run)
    final = lambda name: np.where(result.state[name] < 0, np.nan, result.state[name])[:, None]
    loss = np.concatenate([result.metrics["eval_loss"][:, at], final("final_eval_loss")], 1)
    acc = np.concatenate([result.metrics["eval_acc"][:, at], final("final_eval_acc")], 1)
    return steps, loss, acc


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Config fields of an image experiment's data (mixed into a jaxdl.experiment.config Config before Common)."""

    data_source: str = config.field("", "Where to read the dataset from: offline, tfds, synthetic (default: the "
                                    "dataset's own, see jaxdl.data).")
    data_dir: str = config.field("", "Offline fashion_mnist: the IDX files' directory; tfds: the TFDS data dir.")
    data_cache_dir: str = config.field("", "Where loaded datasets are cached as .npz (default $JAXDL_CACHE_DIR "
                                       "or ~/.cache/jaxdl/data).")
    download: bool = config.field(False, "Let tensorflow-datasets download and prepare a missing dataset.")

    def load(self, name: str, split: str, **kwargs):
        """jaxdl.data.load with these fields; a missing or unknown dataset is a usage error naming the fix."""
        from absl import app

        from jaxdl import data

        try:
            return data.load(name, split, source=self.data_source or None, data_dir=self.data_dir or None,
                             cache_dir=self.data_cache_dir or None, download=self.download, **kwargs)
        except (ValueError, FileNotFoundError, data.NotPreparedError) as err:  # each message names its fix
            raise app.UsageError(str(err)) from err
