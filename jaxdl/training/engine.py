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
import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxdl.training import distributed

AXIS = "models"
BATCH_AXIS = "batch"
CHOICE = "choice"  # the task-state entry holding a task's categorical hyperparameters (Task.categorical)


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


AUTO = "auto"
# The group rule on XLA:CPU, measured with benchmarks/{fc,mnist,cnn}_bench.py (BUILD.md): a vmapped
# group's states should stay within about this many bytes, and groups beyond this size stopped paying.
_CPU_GROUP_STATE_BYTES = 4 << 20
_CPU_GROUP_MAX = 32


def default_group() -> str:
    """What to pass as `group` for the engine's choice: "auto" (make_train's default), resolved per
    workload by `auto_group` when the trainer first sees its state."""
    return AUTO


def auto_group(step_convolves: bool, state_bytes: int, models_per_device: int) -> int | None:
    """Models vmapped together per device (None = all), from what the engine knows of a workload.

    Elsewhere than XLA:CPU one vmap over the device's models keeps the chip busy. On XLA:CPU, a step
    with a convolution runs one model at a time (vmapped convolutions become grouped convolutions, 3x
    slower for the cnn_aux CNN); other models run in the largest power-of-two group whose states fit in
    `_CPU_GROUP_STATE_BYTES`, at most `_CPU_GROUP_MAX` (2 for the dense net's 1.8 MB Adam state, 32 for
    the FC grid's tiny MLPs)."""
    if jax.default_backend() != "cpu" or models_per_device <= 1:
        return None
    if step_convolves:
        return 1
    fit = min(_CPU_GROUP_MAX, max(1, _CPU_GROUP_STATE_BYTES // max(state_bytes, 1)))
    group = 1 << (fit.bit_length() - 1)
    return None if group >= models_per_device else group


def one_model_at_a_time(fn: Callable, *example_args) -> bool:
    """`auto_group`'s CPU rule for code that stacks models outside make_train (evaluation of stacked
    models): True on XLA:CPU when `fn(*example_args)` (traced, not run; ShapeDtypeStructs will do)
    convolves, since a vmap over models would turn its convolutions into grouped ones."""
    if jax.default_backend() != "cpu":
        return False
    return _convolves(jax.make_jaxpr(fn)(*example_args).jaxpr)


def _convolves(jaxpr) -> bool:
    """Whether a jaxpr (or any jaxpr nested in its equations: scans, conds, custom gradients) convolves."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "conv_general_dilated":
            return True
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                sub = getattr(sub, "jaxpr", sub)
                if hasattr(sub, "eqns") and _convolves(sub):
                    return True
    return False


def seed_keys(seeds) -> jax.Array:
    """One raw PRNG key per seed id: seed k's key does not depend on which other seeds run beside it."""
    return jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds, dtype=jnp.uint32))


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.array(True)


_cache_hits = [0]  # persistent compilation cache hits in this process


def _count_cache_hit(event: str, **kwargs) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _cache_hits[0] += 1


jax.monitoring.register_event_listener(_count_cache_hit)


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
        self.chunk = _chunk_length(steps, chunk_steps, record_every)
        self.guard_every = _chunk_length(self.chunk, max(guard_every, record_every), record_every)
        self._group_setting = group
        self.group = None if group == AUTO else group  # resolved by `_compile` when "auto"
        self.mesh = mesh if mesh is not None else device_mesh()
        self.last_compile_s = self.last_init_s = 0.0
        self._programs = {}  # (state, data) signature -> (compiled chunk program, its group)
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

    def _guarded_step(self, carry, data, t, fixed=None):
        # Only the scalar metrics are checked here: selecting the whole state every step (params,
        # optimiser state, best params) kept XLA from updating it in place and cost the dense net 1.8x
        # per step; the state itself is checked and restored once per guard block (`guard_block` below).
        task_state = carry["task"]
        if fixed:  # this group's categorical values as constants: each lax.switch on them is one branch
            task_state = {**task_state, CHOICE: {**task_state[CHOICE], **fixed}}
        new_task, metrics = self.task.step(task_state, data, t)
        if fixed:
            new_task = {**new_task, CHOICE: carry["task"][CHOICE]}
        bad = (carry["diverged_at"] < 0) & ~_all_finite(metrics)
        return {"task": new_task, "diverged_at": jnp.where(bad, t, carry["diverged_at"])}, metrics

    def _one_model_chunk(self, carry, data, t0, fixed=None):
        intervals = self.guard_every // self.record_every  # record intervals per guard block

        def record_interval(c, t_start):
            def body(c, t):
                return self._guarded_step(c, data, t, fixed)

            c, metrics = jax.lax.scan(body, c, t_start + jnp.arange(self.record_every))
            # Keep the first step of the interval: metrics at step t describe the model before update t.
            return c, jax.tree.map(lambda m: m[0], metrics)

        def guard_block(c, b_start):
            """`guard_every` steps, then a member that diverged in them (or before) is put back to its
            state at the block start: the last state known finite. Members never interact, so a
            diverging member's non-finite steps within the block touch no other member."""
            end, metrics = jax.lax.scan(record_interval, c, b_start + self.record_every * jnp.arange(intervals))
            state_bad = (end["diverged_at"] < 0) & ~_all_finite(end["task"])
            diverged_at = jnp.where(state_bad, b_start + self.guard_every - 1, end["diverged_at"])
            frozen = diverged_at >= 0
            task_state = jax.tree.map(lambda new, old: jnp.where(frozen, old, new), end["task"], c["task"])
            return {"task": task_state, "diverged_at": diverged_at}, metrics

        blocks = self.chunk // self.guard_every
        carry, metrics = jax.lax.scan(guard_block, carry, t0 + self.guard_every * jnp.arange(blocks))
        return carry, jax.tree.map(lambda m: m.reshape(blocks * intervals, *m.shape[2:]), metrics)

    def _group_chunk(self, carry, data, t0):
        """One chunk of a group of models [g, ...], vmapped. With `Task.categorical`, a `lax.switch` on
        the group's values picks a program compiled for exactly those values (constants: XLA drops the
        untaken branches of the step's own switches) when every member shares them, else the per-member
        program; either way each member computes its own choice, so results do not depend on grouping."""
        def run(fixed):
            return jax.vmap(lambda c: self._one_model_chunk(c, data, t0, fixed))

        cat = self.task.categorical
        if not cat or self.group is None:  # one vmap over a device's models: rarely uniform
            return run(None)(carry)
        names = sorted(cat)
        values = {n: carry["task"][CHOICE][n] for n in names}
        first = {n: values[n][0] for n in names}
        uniform = jnp.all(jnp.stack([jnp.all(values[n] == first[n]) & (first[n] >= 0) & (first[n] < cat[n])
                                     for n in names]))
        index = jnp.int32(0)
        for n in names:  # mixed radix: the position of the group's values in itertools.product order
            index = index * cat[n] + first[n].astype(jnp.int32)
        combos = list(itertools.product(*(range(cat[n]) for n in names)))
        branches = [lambda c, combo=combo: run({n: jnp.int32(v) for n, v in zip(names, combo, strict=True)})(c)
                    for combo in combos] + [run(None)]
        return jax.lax.switch(jnp.where(uniform, index, len(combos)), branches, carry)

    def _chunk_local(self, carry, data, t0):
        local_models = jax.tree.leaves(carry)[0].shape[0]
        group = self.group
        if group is None or group >= local_models:
            return self._group_chunk(carry, data, t0)
        n, rest = divmod(local_models, group)
        head = jax.tree.map(lambda x: x[:n * group].reshape(n, group, *x.shape[1:]), carry)
        out = jax.lax.map(lambda c: self._group_chunk(c, data, t0), head)
        out = jax.tree.map(lambda x: x.reshape(n * group, *x.shape[2:]), out)
        if rest:
            tail = self._group_chunk(jax.tree.map(lambda x: x[n * group:], carry), data, t0)
            out = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), out, tail)
        return out

    # -- host driver ------------------------------------------------------------------------------

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
            self.group = self._auto_group(state, data)
        hits, t0 = _cache_hits[0], time.perf_counter()
        lowered = self._run_chunk.lower(state, data, jnp.int32(0))
        t1 = time.perf_counter()
        run_chunk = lowered.compile()
        t2 = time.perf_counter()
        hit = _cache_hits[0] > hits
        self._programs[key] = run_chunk, self.group
        # Tracing and lowering are paid even on a cache hit: the cache key is a hash of the lowered program.
        logging.info("chunk program: traced and lowered in %.2fs, %s in %.2fs (group %s)", t1 - t0,
                     "loaded from the compilation cache" if hit else "compiled", t2 - t1, self.group)
        return run_chunk, t2 - t0, hit

    def _auto_group(self, state, data) -> int | None:
        local = jax.tree.leaves(state)[0].shape[0] // self.num_devices
        if jax.default_backend() != "cpu" or local <= 1:  # no need to trace the step
            return auto_group(False, 0, local)
        one = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), state["task"])
        jaxpr = jax.make_jaxpr(self.task.step)(one, data, jnp.int32(0)).jaxpr
        state_bytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(one))
        return auto_group(_convolves(jaxpr), state_bytes, local)

    def padded_count(self, models: int) -> int:
        return -(-models // self.num_devices) * self.num_devices

    def layout(self, hparams, models: int) -> np.ndarray | None:
        """The order of the (padded) models on the mesh: None for the given order, else `order` with model
        order[i] at position i. With `Task.categorical`, a grid lists each choice's models in one run (e.g.
        every lr and seed of one activation); left in order, one device would train only the costly
        choices (sigmoid) while another finishes the cheap ones (ReLU) and waits. So every run of equal
        choices whose length the device count divides is dealt out in equal slices, one per device,
        each device's slices in grid order (its lax.map groups stay uniform). Fixed by the hparams alone:
        `init`, `__call__` and a restored checkpoint agree."""
        names = [n for n in self.task.categorical if n in hparams]
        if not names or self.num_devices == 1:
            return None
        padded = self.padded_count(models)
        codes = np.stack([np.broadcast_to(np.asarray(hparams[n]), (models,)) for n in names], 1)
        codes = np.concatenate([codes, np.repeat(codes[-1:], padded - models, axis=0)])
        starts = np.flatnonzero(np.r_[True, np.any(codes[1:] != codes[:-1], axis=1)])
        ends = np.r_[starts[1:], padded]
        if len(starts) == 1 or np.any((ends - starts) % self.num_devices):
            return None
        n = self.num_devices
        return np.concatenate([np.arange(a + d * (b - a) // n, a + (d + 1) * (b - a) // n)
                               for d in range(n) for a, b in zip(starts, ends, strict=True)])

    def init(self, keys, hparams):
        """Batched, sharded initial states for `keys` [M, 2] and `hparams` {name: [M]} (padded, in the
        order of `layout`)."""
        models = keys.shape[0]
        padded = self.padded_count(models)
        order = self.layout(hparams, models)
        hparams = {k: jnp.broadcast_to(jnp.asarray(v, jnp.float32), (models,)) for k, v in hparams.items()}
        keys, hparams = _pad_models((jnp.asarray(keys), hparams), padded)
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
        t_init = time.perf_counter()
        if state is None:
            state = self.init(keys, hparams)
        else:  # e.g. restored from a checkpoint onto one device: lay it out as init does
            state = jax.device_put(state, NamedSharding(self.mesh, self._models))
        data = jax.device_put(data, NamedSharding(self.mesh, P()))
        # Init and the data's placement run asynchronously; unawaited, they ran into the first chunk's
        # time: 0.55 s of AlexNet's (23M parameters drawn), 2.5 of its steps.
        state, data = jax.block_until_ready((state, data))
        init_s = time.perf_counter() - t_init
        run_chunk, compile_s, cache_hit = self._compile(state, data)
        # For on_chunk callbacks that account training time.
        self.last_compile_s, self.last_init_s = compile_s, init_s

        if done is not None:
            all_done = jax.jit(lambda s: jax.vmap(done)(s["task"]) | (s["diverged_at"] >= 0))
        records, steps_done, t_start = [], start_step, time.perf_counter()
        while steps_done < self.steps:
            state, metrics = run_chunk(state, data, jnp.int32(steps_done))
            metrics = distributed.fetch(metrics)
            records.append(jax.tree.map(lambda x: x[back], metrics))
            steps_done += self.chunk
            elapsed = time.perf_counter() - t_start
            eta = elapsed / (steps_done - start_step) * (self.steps - steps_done)
            summary = self.task.describe({k: v[:models, -1] for k, v in records[-1].items()}) \
                if self.task.describe else ""
            logging.info("%s: step %d/%d (%.0f%%), %.1fs elapsed, ETA %.1fs %s", label, steps_done,
                         self.steps, 100 * steps_done / self.steps, elapsed, eta, summary)
            if on_chunk is not None:
                on_chunk(state, steps_done)
            if (done is not None and bool(np.all(distributed.fetch(all_done(state))[back][:models]))) or (
                    stop_early is not None and stop_early(distributed.fetch(state))):
                logging.info("%s: stopping early at step %d: every model is done", label, steps_done)
                break
        wall_s = time.perf_counter() - t_start

        final = jax.tree.map(lambda x: np.asarray(x)[back][:models], distributed.fetch(state))
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
            compile_cache_hit=cache_hit,
            init_s=init_s,
            group=self.group,
            guard_every=self.guard_every,
        )


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
