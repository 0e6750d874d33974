"""The one training engine: a grid of models trained as one sharded, chunked `lax.scan`.

A *task* is two pure per-model functions (purejaxrl style):

    init(key, hparams) -> state                 # one model; hparams: dict of scalars (e.g. {"lr": 0.1})
    step(state, data, t) -> (state, metrics)    # one optimisation step; metrics: dict of scalars

`make_train(task, steps=...)` returns a `Trainer`. Calling it with per-model keys and hyperparameters
(leading axis = models: seeds x learning rates x ...) trains every model at once:

* the model axis is sharded over a 1-D device mesh ("models") with `jax.shard_map`: each device trains
  its own slice, no communication (CPU cores via --xla_force_host_platform_device_count, or GPUs; across
  hosts after `jax.distributed.initialize()` the same mesh spans every process's devices);
* within a device, models run as `lax.map` over vmapped groups of `group` models. `group=None` is plain
  vmap. On XLA:CPU a small group beats plain vmap for tiny models (measured: benchmarks/fc_bench.py),
  and vmapped convolutions become grouped convolutions, so CNNs want group=1;
* the step loop is `lax.scan`, split into chunks so the host can log progress (with ETA), checkpoint and
  stop early between chunks; metrics are recorded every `record_every` steps, not every step;
* a member whose state or metrics become non-finite is frozen at its last finite state and its
  divergence step recorded; the others are untouched (members never interact).

A model's key and hyperparameters alone fix its trajectory, so model k of a grid equals a solo run of
model k (to float rounding of batched vs unbatched kernels; tested).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "models"
BATCH_AXIS = "batch"


@dataclasses.dataclass(frozen=True)
class Task:
    """Per-model pure functions. Optional: `describe(metrics)` (host side) summarises the latest
    recorded metrics [models] for the progress line; `evaluate` is a task-specific function over
    stacked final states (e.g. test accuracy), for the experiment to call after training."""

    init: Callable[[jax.Array, dict], Any]
    step: Callable[[Any, Any, jax.Array], tuple[Any, dict]]
    describe: Callable[[dict], str] | None = None
    evaluate: Callable[..., Any] | None = None


@dataclasses.dataclass
class Result:
    """What a grid run produced. Arrays have the model axis first, padding removed."""

    state: Any  # final per-model task states, numpy, [models, ...]
    metrics: dict[str, np.ndarray]  # name -> [models, records]
    record_steps: np.ndarray  # [records]: the step whose metrics were recorded (value before update)
    diverged_at: np.ndarray  # [models]: first step with non-finite state/metrics, -1 if never
    steps_run: int
    wall_s: float  # training time, compile excluded
    compile_s: float

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0


def device_mesh(devices=None, batch_shards: int = 1) -> jax.sharding.Mesh:
    """A mesh over all devices (all processes' devices in a multi-host run): 1-D over "models", or with
    `batch_shards` > 1 a 2-D ("models", "batch") mesh whose "batch" axis splits each model's batch over
    that many devices (data parallelism, for models too big or too few to fill every device alone)."""
    devices = jax.devices() if devices is None else devices
    if batch_shards == 1:
        return jax.make_mesh((len(devices),), (AXIS,), devices=devices)
    if batch_shards < 1 or len(devices) % batch_shards:
        raise ValueError(f"batch_shards={batch_shards} must be >= 1 and divide the {len(devices)} devices")
    auto = jax.sharding.AxisType.Auto  # "batch" is left to the compiler (GSPMD), "models" is manual
    return jax.make_mesh((len(devices) // batch_shards, batch_shards), (AXIS, BATCH_AXIS), devices=devices,
                         axis_types=(auto, auto))


def batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding | None:
    """The sharding a task gives its per-step batch (leading axis) so that the mesh's "batch" axis
    splits it; None for a 1-D mesh. Gradients and batch statistics are then reduced across that axis
    by the compiler (all-reduce), so a data-parallel model trains like one on a single device."""
    return NamedSharding(mesh, P(BATCH_AXIS)) if BATCH_AXIS in mesh.axis_names else None


def default_group() -> int | None:
    """Models vmapped together per device. XLA:CPU: for 256 tiny MLPs on 2 host devices, groups of 16
    beat both one vmap over all and one model at a time (results/bench.md). Elsewhere (GPU) one vmap
    over the device's whole slice keeps the chip busy."""
    return 16 if jax.default_backend() == "cpu" else None


def seed_keys(seeds) -> jax.Array:
    """One raw PRNG key per seed id: seed k's key does not depend on which other seeds run beside it."""
    return jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds, dtype=jnp.uint32))


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.array(True)


def _pad_models(tree, count: int):
    """Pads the model axis to `count` by repeating the last member (its results are dropped)."""

    def pad(x):
        extra = count - x.shape[0]
        return x if extra == 0 else jnp.concatenate([x, jnp.repeat(x[-1:], extra, axis=0)])

    return jax.tree.map(pad, tree)


def _chunk_length(steps: int, chunk_steps: int, record_every: int) -> int:
    """The largest multiple of record_every that divides steps and is <= chunk_steps (equal chunks
    mean one compiled program)."""
    best = record_every
    for length in range(record_every, min(chunk_steps, steps) + 1, record_every):
        if steps % length == 0:
            best = length
    return best


class Trainer:
    """Built by `make_train`; see the module docstring."""

    def __init__(self, task: Task, steps: int, chunk_steps: int, record_every: int, group, mesh):
        if steps < 1 or record_every < 1 or chunk_steps < 1:
            raise ValueError(f"steps, chunk_steps and record_every must be >= 1; got {steps}, "
                             f"{chunk_steps}, {record_every}")
        if steps % record_every:
            raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
        self.task = task
        self.steps = steps
        self.record_every = record_every
        self.chunk = _chunk_length(steps, chunk_steps, record_every)
        self.group = group
        self.mesh = mesh if mesh is not None else device_mesh()
        self.last_compile_s = 0.0
        self.num_devices = self.mesh.shape[AXIS]  # model shards (a "batch" axis shares each one's work)
        self._models = P(AXIS)
        self._init = jax.jit(self._sharded(self._init_local, (P(AXIS), P(AXIS)), P(AXIS)))
        self._run_chunk = jax.jit(
            self._sharded(self._chunk_local, (P(AXIS), P(), P()), (P(AXIS), P(AXIS))),
            donate_argnums=0,
        )

    # -- per-device programs (inside shard_map: leading axis = this device's models) --------------

    def _sharded(self, fn, in_specs, out_specs):
        return jax.shard_map(fn, mesh=self.mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False,
                             axis_names={AXIS})

    def _init_local(self, keys, hparams):
        def one(key, hp):
            return {"task": self.task.init(key, hp), "diverged_at": jnp.array(-1, jnp.int32)}

        return jax.vmap(one)(keys, hparams)

    def _guarded_step(self, carry, data, t):
        new_task, metrics = self.task.step(carry["task"], data, t)
        ok = _all_finite(new_task) & _all_finite(metrics)
        task_state = jax.tree.map(lambda new, old: jnp.where(ok, new, old), new_task, carry["task"])
        diverged_at = jnp.where((carry["diverged_at"] < 0) & ~ok, t, carry["diverged_at"])
        return {"task": task_state, "diverged_at": diverged_at}, metrics

    def _one_model_chunk(self, carry, data, t0):
        n_records = self.chunk // self.record_every

        def record_interval(c, t_start):
            def body(c, t):
                return self._guarded_step(c, data, t)

            c, metrics = jax.lax.scan(body, c, t_start + jnp.arange(self.record_every))
            # Keep the first step of the interval: metrics at step t describe the model before update t.
            return c, jax.tree.map(lambda m: m[0], metrics)

        starts = t0 + self.record_every * jnp.arange(n_records)
        return jax.lax.scan(record_interval, carry, starts)

    def _chunk_local(self, carry, data, t0):
        run = lambda c: self._one_model_chunk(c, data, t0)
        local_models = jax.tree.leaves(carry)[0].shape[0]
        if self.group is None or self.group >= local_models:
            return jax.vmap(run)(carry)
        return jax.lax.map(run, carry, batch_size=self.group)

    # -- host driver ------------------------------------------------------------------------------

    def padded_count(self, models: int) -> int:
        return -(-models // self.num_devices) * self.num_devices

    def init(self, keys, hparams):
        """Batched, sharded initial states for `keys` [M, 2] and `hparams` {name: [M]} (padded)."""
        models = keys.shape[0]
        padded = self.padded_count(models)
        hparams = {k: jnp.broadcast_to(jnp.asarray(v, jnp.float32), (models,)) for k, v in hparams.items()}
        keys, hparams = _pad_models((jnp.asarray(keys), hparams), padded)
        sharding = NamedSharding(self.mesh, self._models)
        return self._init(jax.device_put(keys, sharding), jax.device_put(hparams, sharding))

    def __call__(
        self,
        keys,
        hparams: dict,
        data,
        *,
        state=None,
        start_step: int = 0,
        on_chunk: Callable[[Any, int], None] | None = None,
        stop_early: Callable[[Any], bool] | None = None,
        label: str = "train",
    ) -> Result:
        """Trains models [M] from scratch, or from `state` (padded, as returned by `init` or passed to
        `on_chunk`) at `start_step`. `on_chunk(state, steps_done)` runs after every chunk (e.g. to
        checkpoint); `stop_early(state)` (host side) ends training at a chunk boundary."""
        models = keys.shape[0]
        if start_step % self.chunk:
            raise ValueError(f"start_step {start_step} is not a chunk boundary (chunk={self.chunk})")
        if state is None:
            state = self.init(keys, hparams)
        else:  # e.g. restored from a checkpoint onto one device: lay it out as init does
            state = jax.device_put(state, NamedSharding(self.mesh, self._models))
        data = jax.device_put(data, NamedSharding(self.mesh, P()))
        t_compile = time.perf_counter()
        run_chunk = self._run_chunk.lower(state, data, jnp.int32(0)).compile()
        compile_s = time.perf_counter() - t_compile
        self.last_compile_s = compile_s  # for on_chunk callbacks that account training time

        records, steps_done, t_start = [], start_step, time.perf_counter()
        while steps_done < self.steps:
            state, metrics = run_chunk(state, data, jnp.int32(steps_done))
            metrics = jax.device_get(metrics)
            records.append(metrics)
            steps_done += self.chunk
            elapsed = time.perf_counter() - t_start
            eta = elapsed / (steps_done - start_step) * (self.steps - steps_done)
            summary = self.task.describe({k: v[:models, -1] for k, v in metrics.items()}) \
                if self.task.describe else ""
            logging.info("%s: step %d/%d (%.0f%%), %.1fs elapsed, ETA %.1fs %s", label, steps_done,
                         self.steps, 100 * steps_done / self.steps, elapsed, eta, summary)
            if on_chunk is not None:
                on_chunk(state, steps_done)
            if stop_early is not None and stop_early(jax.device_get(state)):
                logging.info("%s: stopping early at step %d: every model is done", label, steps_done)
                break
        wall_s = time.perf_counter() - t_start

        final = jax.tree.map(lambda x: np.asarray(x)[:models], jax.device_get(state))
        metrics = {
            k: np.concatenate([r[k] for r in records], axis=1)[:models] if records else np.zeros((models, 0))
            for k in (records[0] if records else {})
        }
        record_steps = start_step + self.record_every * np.arange(
            (steps_done - start_step) // self.record_every
        )
        return Result(
            state=final["task"],
            metrics=metrics,
            record_steps=record_steps,
            diverged_at=final["diverged_at"],
            steps_run=steps_done,
            wall_s=wall_s,
            compile_s=compile_s,
        )


def make_train(
    task: Task,
    *,
    steps: int,
    chunk_steps: int = 1000,
    record_every: int = 10,
    group: int | None = None,
    mesh=None,
) -> Trainer:
    """Builds a Trainer for `task`: `steps` steps in chunks of about `chunk_steps`, metrics recorded
    every `record_every` steps, models vmapped `group` at a time per device (None = all at once)."""
    return Trainer(task, steps, chunk_steps, record_every, group, mesh)
