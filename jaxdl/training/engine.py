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
  vmap; the default "auto" picks per workload (`auto_group`: on XLA:CPU one model at a time for
  convolutions, which vmap turns into grouped convolutions, small groups for small states);
* the step loop is `lax.scan`, split into chunks so the host can log progress (with ETA), checkpoint and
  stop early between chunks; metrics are recorded every `record_every` steps, not every step;
* categorical hyperparameters (`Task.categorical`, e.g. the activation and loss of the FC grid, picked
  per model with `lax.switch`) cost one branch, not all: a lax.map group whose members share them runs
  with them as constants, others per member; `Trainer.layout` deals each run of equal choices over the
  devices so that they share the costly and the cheap choices;
* a trainer called again with the same shapes reuses its compiled chunk program (no re-tracing);
* the divergence guard's contract: a member whose metrics (checked every step, scalars) or state
  (checked every `guard_every` steps) become non-finite has that step recorded (`Result.diverged_at`),
  never poisons the others (members never interact: theirs are bit-identical to a run without it), and
  its reported state is its last state checked finite, from step `Result.frozen_at`, frozen there for
  the rest of the run (tests/test_engine.py: divergence step, isolation, reported state).

A model's key and hyperparameters alone fix its trajectory, so model k of a grid equals a solo run of
model k (to float rounding of batched vs unbatched kernels; tested).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxdl.training import distributed, grouping, tensorboard
from jaxdl.training.grouping import AUTO, auto_group, default_group, one_model_at_a_time
from jaxdl.training.mesh import AXIS, BATCH_AXIS, batch_sharding, device_mesh, layout, pad_models, padded_count
from jaxdl.training.program import CHOICE, ChunkProgram, chunk_length

# The engine's public API; the names from grouping, mesh and program are re-exported for its users.
__all__ = ["AUTO", "AXIS", "BATCH_AXIS", "CHOICE", "Result", "Task", "Trainer", "auto_group", "batch_sharding",
           "default_group", "device_mesh", "make_train", "one_model_at_a_time", "seed_keys"]


@dataclasses.dataclass(frozen=True)
class Task:
    """Per-model pure functions. Optional: `describe(metrics)` (host side) summarises the latest
    recorded metrics [models] for the progress line; `evaluate` is a task-specific function over
    stacked final states (e.g. test accuracy), for the experiment to call after training."""

    init: Callable[[jax.Array, dict], Any]
    step: Callable[[Any, Any, jax.Array], tuple[Any, dict]]
    describe: Callable[[dict], str] | None = None
    evaluate: Callable[..., Any] | None = None
    # Categorical hyperparameters the step branches on (e.g. with lax.switch): name -> number of values.
    # Each is an int32 scalar of the task state under state[CHOICE][name], in [0, count), that the step
    # leaves unchanged. Under vmap a per-member switch computes every branch; so where all members of a
    # lax.map group share their values, the engine runs that group's chunk with them as constants
    # (one branch, as a task built for that one choice would), else per member (see `_group_chunk`).
    categorical: Mapping[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Result:
    """What a grid run produced. Arrays have the model axis first, padding removed."""

    state: Any  # final per-model task states, numpy, [models, ...]
    metrics: dict[str, np.ndarray]  # name -> [models, records]
    record_steps: np.ndarray  # [records]: the step whose metrics were recorded (value before update)
    # [models]: first step whose metrics were non-finite, or the last step of the guard block at whose
    # end the state was (whichever came first); -1 if never
    diverged_at: np.ndarray
    steps_run: int
    wall_s: float  # training time: the chunks and the host work between them; compile and init excluded
    compile_s: float
    init_s: float = 0.0  # building the initial states (or placing a given one) and placing the data
    compile_cache_hit: bool = False  # the chunk program came from the persistent compilation cache
    guard_every: int = 1  # steps per guard block (Trainer.guard_every)
    group: int | None = None  # models vmapped together per device, as resolved (None = all)

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    @property
    def frozen_at(self) -> np.ndarray:
        """[models]: the step of the state reported for a diverged model (the start of the guard block
        it diverged in: its last state checked finite), -1 for the others."""
        return np.where(self.diverged, self.diverged_at // self.guard_every * self.guard_every, -1)


def seed_keys(seeds) -> jax.Array:
    """One raw PRNG key per seed id: seed k's key does not depend on which other seeds run beside it."""
    return jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds, dtype=jnp.uint32))


class _CacheHits:
    """Counts persistent compilation cache hits in this process (a jax.monitoring listener, registered
    when the first trainer compiles, not at import)."""

    count = 0
    _registered = False

    @classmethod
    def register(cls) -> None:
        if not cls._registered:
            jax.monitoring.register_event_listener(cls._on_event)
            cls._registered = True

    @classmethod
    def _on_event(cls, event: str, **kwargs) -> None:
        if event == "/jax/compilation_cache/cache_hits":
            cls.count += 1


class Trainer:
    """Built by `make_train`; see the module docstring. Drives a `ChunkProgram` from the host: places the
    models and the data on the mesh, compiles (once per shapes), runs the chunks with progress and early
    stop between them, and assembles the `Result`."""

    def __init__(self, task: Task, steps: int, chunk_steps: int, record_every: int, group, mesh,
                 guard_every: int = 100):
        if steps < 1 or record_every < 1 or chunk_steps < 1:
            raise ValueError(f"steps, chunk_steps and record_every must be >= 1; got {steps}, "
                             f"{chunk_steps}, {record_every}")
        if steps % record_every:
            raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
        self.task = task
        self.steps = steps
        self.record_every = record_every
        self.chunk = chunk_length(steps, chunk_steps, record_every)
        self.guard_every = chunk_length(self.chunk, max(guard_every, record_every), record_every)
        self.program = ChunkProgram(task, self.chunk, record_every, self.guard_every)
        self._group_setting = group
        self.group = None if group == AUTO else group  # resolved by `_compile` when "auto"
        self.mesh = mesh if mesh is not None else device_mesh()
        self.last_compile_s = self.last_init_s = 0.0
        self._programs = {}  # (state, data) signature -> (compiled chunk program, its group)
        self.num_devices = self.mesh.shape[AXIS]  # model shards (a "batch" axis shares each one's work)
        self._models = P(AXIS)
        self._init = jax.jit(self._sharded(self.program.init_local, (P(AXIS), P(AXIS)), P(AXIS)))
        self._run_chunk = jax.jit(self._sharded(self._chunk_local, (P(AXIS), P(), P()), (P(AXIS), P(AXIS))),
                                  donate_argnums=0)

    def _chunk_local(self, carry, data, t0):
        # self.group is read when the program is traced (in `_compile`, after it is resolved).
        return self.program.local(carry, data, t0, self.group)

    def _sharded(self, fn, in_specs, out_specs):
        return jax.shard_map(fn, mesh=self.mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False,
                             axis_names={AXIS})

    def _compile(self, state, data):
        """(chunk program, compile seconds, whether it came from the persistent compilation cache). A
        trainer called again with the same shapes, dtypes and shardings reuses its program (0 s): tracing,
        lowering and loading a CNN's program from the persistent cache cost ~0.2 s a call otherwise."""
        key = jax.tree.structure((state, data)), tuple(
            (x.shape, x.dtype, getattr(x, "weak_type", False), getattr(x, "sharding", None))
            for x in jax.tree.leaves((state, data)))
        if key in self._programs:
            self.group = self._programs[key][1]
            return self._programs[key][0], 0.0, False
        if self._group_setting == AUTO:
            one = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), state["task"])
            local = jax.tree.leaves(state)[0].shape[0] // self.num_devices
            self.group = grouping.step_group(self.task.step, one, data, local)
        _CacheHits.register()
        hits, t0 = _CacheHits.count, time.perf_counter()
        lowered = self._run_chunk.lower(state, data, jnp.int32(0))
        t1 = time.perf_counter()
        run_chunk = lowered.compile()
        t2 = time.perf_counter()
        hit = _CacheHits.count > hits
        self._programs[key] = run_chunk, self.group
        # Tracing and lowering are paid even on a cache hit: the cache key is a hash of the lowered program.
        logging.info("chunk program: traced and lowered in %.2fs, %s in %.2fs (group %s)", t1 - t0,
                     "loaded from the compilation cache" if hit else "compiled", t2 - t1, self.group)
        return run_chunk, t2 - t0, hit

    def padded_count(self, models: int) -> int:
        return padded_count(models, self.num_devices)

    def layout(self, hparams, models: int) -> np.ndarray | None:
        """`mesh.layout` for this trainer's task and devices."""
        return layout(self.task.categorical, hparams, models, self.num_devices)

    def init(self, keys, hparams):
        """Batched, sharded initial states for `keys` [M, 2] and `hparams` {name: [M]} (padded, in the
        order of `layout`)."""
        models = keys.shape[0]
        padded = padded_count(models, self.num_devices)
        order = self.layout(hparams, models)
        hparams = {k: jnp.broadcast_to(jnp.asarray(v, jnp.float32), (models,)) for k, v in hparams.items()}
        keys, hparams = pad_models((jnp.asarray(keys), hparams), padded)
        if order is not None:
            keys, hparams = jax.tree.map(lambda x: x[order], (keys, hparams))
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
        done: Callable[[Any], jax.Array] | None = None,
        label: str = "train",
    ) -> Result:
        """Trains models [M] from scratch, or from `state` (padded and in `layout` order, as returned by
        `init` or passed to `on_chunk`/`stop_early`) at `start_step`. `on_chunk(state, steps_done)` runs
        after every chunk (e.g. to checkpoint). Training ends at a chunk boundary once
        `done(task_state) -> bool` (one model's task state, run on device; a diverged, hence frozen,
        model counts as done) holds for every model, or once `stop_early(state)` (host side, on the
        whole engine state) returns True. Prefer `done`: only
        [M] booleans reach the host, where `stop_early` copies the whole state (across processes in a
        multi-process run). Host copies go through `distributed.fetch`, so every process of a
        multi-process run gets the same Result and stops at the same chunk."""
        models = keys.shape[0]
        if start_step % self.chunk:
            raise ValueError(f"start_step {start_step} is not a chunk boundary (chunk={self.chunk})")
        order = self.layout(hparams, models)
        back = slice(None) if order is None else np.argsort(order)  # engine order -> model order
        state, data, init_s = self._place(keys, hparams, data, state)
        run_chunk, compile_s, cache_hit = self._compile(state, data)
        # For on_chunk callbacks that account training time.
        self.last_compile_s, self.last_init_s = compile_s, init_s
        finished = None if done is None else jax.jit(
            lambda s: jax.vmap(done)(s["task"]) | (s["diverged_at"] >= 0))

        def stop(state) -> bool:
            return (finished is not None and bool(np.all(distributed.fetch(finished(state))[back][:models]))) \
                or (stop_early is not None and stop_early(distributed.fetch(state)))

        t_start = time.perf_counter()
        state, records, steps_done = self._run_chunks(run_chunk, state, data, start_step, back, models,
                                                      on_chunk, stop, label)
        wall_s = time.perf_counter() - t_start
        final = jax.tree.map(lambda x: np.asarray(x)[back][:models], distributed.fetch(state))
        return Result(
            state=final["task"],
            metrics=_concat_records(records, models),
            record_steps=start_step + self.record_every * np.arange((steps_done - start_step) // self.record_every),
            diverged_at=final["diverged_at"],
            steps_run=steps_done,
            wall_s=wall_s,
            compile_s=compile_s,
            compile_cache_hit=cache_hit,
            init_s=init_s,
            group=self.group,
            guard_every=self.guard_every,
        )

    def _place(self, keys, hparams, data, state):
        """(state, data) on the mesh, ready, and the seconds that took."""
        t0 = time.perf_counter()
        if state is None:
            state = self.init(keys, hparams)
        else:  # e.g. restored from a checkpoint onto one device: lay it out as init does
            state = jax.device_put(state, NamedSharding(self.mesh, self._models))
        data = jax.device_put(data, NamedSharding(self.mesh, P()))
        # Init and the data's placement run asynchronously; unawaited, they ran into the first chunk's
        # time: 0.55 s of AlexNet's (23M parameters drawn), 2.5 of its steps.
        state, data = jax.block_until_ready((state, data))
        return state, data, time.perf_counter() - t0

    def _run_chunks(self, run_chunk, state, data, start_step, back, models, on_chunk, stop, label):
        """The host loop: chunks until `self.steps` or `stop(state)`; (state, [per-chunk metrics in model
        order], steps done)."""
        records, steps_done, t_start = [], start_step, time.perf_counter()
        recorder = tensorboard.active()
        while steps_done < self.steps:
            state, metrics = run_chunk(state, data, jnp.int32(steps_done))
            records.append(jax.tree.map(lambda x: x[back], distributed.fetch(metrics)))
            if recorder is not None:
                steps = steps_done + self.record_every * np.arange(self.chunk // self.record_every)
                recorder.write(label, {k: v[:models] for k, v in records[-1].items()}, steps)
            steps_done += self.chunk
            self._log_progress(label, records[-1], models, steps_done, start_step, time.perf_counter() - t_start)
            if on_chunk is not None:
                on_chunk(state, steps_done)
            if stop(state):
                logging.info("%s: stopping early at step %d: every model is done", label, steps_done)
                break
        return state, records, steps_done

    def _log_progress(self, label, metrics, models, steps_done, start_step, elapsed):
        eta = elapsed / (steps_done - start_step) * (self.steps - steps_done)
        summary = self.task.describe({k: v[:models, -1] for k, v in metrics.items()}) if self.task.describe else ""
        logging.info("%s: step %d/%d (%.0f%%), %.1fs elapsed, ETA %.1fs %s", label, steps_done, self.steps,
                     100 * steps_done / self.steps, elapsed, eta, summary)


def _concat_records(records: list[dict], models: int) -> dict[str, np.ndarray]:
    """Per-chunk metrics {name: [models(+padding), records]} joined along records, padding dropped."""
    if not records:
        return {}
    return {k: np.concatenate([r[k] for r in records], axis=1)[:models] for k in records[0]}


def make_train(
    task: Task,
    *,
    steps: int,
    chunk_steps: int = 1000,
    record_every: int = 10,
    group: int | str | None = AUTO,
    mesh=None,
    guard_every: int = 100,
) -> Trainer:
    """Builds a Trainer for `task`: `steps` steps in chunks of about `chunk_steps`, metrics recorded
    every `record_every` steps, models vmapped `group` at a time per device (None = all at once, "auto"
    = `auto_group`'s rule), each model's state checked for divergence every ~`guard_every` steps (a
    multiple of record_every dividing the chunk; see Result.frozen_at)."""
    if not (group is None or group == AUTO or (isinstance(group, (int, np.integer)) and group >= 1)):
        raise ValueError(f"group must be a positive int, None (all at once) or {AUTO!r}; got {group!r}")
    if guard_every < 1:
        raise ValueError(f"guard_every must be >= 1; got {guard_every}")
    return Trainer(task, steps, chunk_steps, record_every, group, mesh, guard_every)
