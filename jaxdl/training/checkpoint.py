"""Checkpoints of any pytree state plus JSON metadata, through orbax's CheckpointManager.

    ckpt = Checkpoints(workdir / "lenet5")
    ckpt.save(step, state, {"fingerprint": {...}, "wall_s": 12.3})     # each engine chunk (on_chunk)
    step = ckpt.latest_step()                                           # None: nothing saved yet
    state, meta = ckpt.restore(template)        # template: same pytree structure, shapes, shardings
    ckpt.close()                                # waits for a pending background save

Each step is written to a temporary directory and renamed into place only once complete (orbax's
atomicity), so a process killed mid-save (SIGKILL included) leaves the previous step as the latest;
its leftovers are cleaned up on the next start. Saves run in the background: `save` returns once the
arrays are copied to host memory, so training goes on while they are written.

`refuse_mismatch(saved, current)` guards resumption: a workdir written under different settings is
refused with the names of the settings that differ, rather than silently mixing two runs.

Multi-process runs (jaxdl.training.distributed) follow orbax's multi-host rules: every process calls `save`,
`restore` and `close` with its global arrays (the engine's `on_chunk` runs in every process), each
writes its own shards, and process 0 finalises the step. So the directory must be one that every
process sees (a shared file system); a node-local path is refused at start with that fix.

`with_metric_history(task, ...)` keeps a task's recorded metrics inside its state, so that a checkpoint
of the state carries the curves recorded before it and a resumed run ends with the same curves as an
uninterrupted one (the engine returns only the metrics of the chunks it ran itself).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from jaxdl.training import engine


def _orbax():
    """orbax.checkpoint, imported on first use: its import is 0.43 s of every process's start-up, and only runs
    that checkpoint need it (experiments import this module for `with_metric_history` and `CheckpointError`)."""
    import orbax.checkpoint as ocp

    return ocp


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be used as asked; the message names the fix."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint was written under settings different from the current run's."""


def require_shared_directory(directory: Path) -> None:
    """In a multi-process run, proves that every process sees `directory` (orbax writes one step from all
    processes into it): process 0 creates a probe file there, every process must find it. Otherwise
    CheckpointError; every process reaches the same verdict, so none is left waiting on the others."""
    if jax.process_count() == 1:
        return
    token = int(multihost_utils.broadcast_one_to_all(np.int32(int.from_bytes(os.urandom(3), "little"))))
    probe = directory / f".jaxdl-shared-probe-{token}"
    if jax.process_index() == 0:
        directory.mkdir(parents=True, exist_ok=True)
        probe.touch()
    multihost_utils.sync_global_devices(f"jaxdl checkpoint probe {token}")
    seen = multihost_utils.process_allgather(np.int32(probe.exists()))
    if jax.process_index() == 0:
        probe.unlink()
    blind = [int(i) for i in np.nonzero(seen == 0)[0]]
    if blind:
        raise CheckpointError(
            f"process(es) {blind} cannot see {directory} as process 0 does: multi-process checkpoints are written "
            "by every process into one directory, so --workdir must be on a file system all processes share")


class Checkpoints:
    """Numbered checkpoints under `directory`: item "state" (a pytree of arrays) and "meta" (JSON).

    max_to_keep: how many of the latest steps stay on disk (1 is enough to resume; each holds a full
    copy of the state).
    """

    def __init__(self, directory: str | os.PathLike, *, max_to_keep: int = 1, background: bool = True):
        self.directory = Path(directory).resolve()
        require_shared_directory(self.directory)
        ocp = _orbax()
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=background,
                                               cleanup_tmp_directories=True, create=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "meta"))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state: Any, metadata: dict) -> None:
        """Saves `state` (arrays, possibly sharded over devices) and JSON-able `metadata` as `step`."""
        ocp = _orbax()
        self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                         meta=ocp.args.JsonSave(metadata)))

    def metadata(self, step: int | None = None) -> dict:
        """The JSON metadata of `step` (default: the latest), without reading the arrays."""
        step, ocp = self._step(step), _orbax()
        return dict(self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"])

    def restore(self, template: Any, step: int | None = None) -> tuple[Any, dict]:
        """(state, metadata) of `step` (default: the latest). `template` is a pytree of arrays (or
        jax.ShapeDtypeStruct with shardings) of the saved structure: the state comes back with its
        shapes, dtypes and shardings, bit for bit as saved."""
        step, ocp = self._step(step), _orbax()
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
        restored = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
        return restored["state"], dict(restored["meta"])

    def wait(self) -> None:
        """Blocks until a background save has finished writing."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()

    def __enter__(self) -> Checkpoints:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _step(self, step: int | None) -> int:
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        return step


def mismatched_settings(saved: dict, current: dict) -> list[str]:
    """Names whose values differ between two flat settings dicts (missing on one side counts)."""
    return sorted(k for k in saved.keys() | current.keys() if saved.get(k, "<absent>") != current.get(k, "<absent>"))


def refuse_mismatch(saved: dict, current: dict, where: str | os.PathLike, hint: str = "") -> None:
    """Raises CheckpointMismatchError naming each differing setting (saved vs current) if any differ."""
    names = mismatched_settings(saved, current)
    if names:
        diffs = ", ".join(f"{n}: checkpoint {saved.get(n, '<absent>')!r} vs now {current.get(n, '<absent>')!r}"
                          for n in names)
        raise CheckpointMismatchError(
            f"{where} holds a checkpoint written with different settings ({diffs}). Refusing to mix two runs: "
            f"rerun with the same settings to resume{hint}.")


def with_metric_history(task: engine.Task, *, steps: int, record_every: int, names: tuple[str, ...]) -> engine.Task:
    """`task` whose state also keeps metric `names` of every recorded step (t % record_every == 0):
    state = {"task": inner state, "history": {name: float32 [steps // record_every]}} (NaN until
    recorded). The recorded values equal the engine's Result.metrics of an uninterrupted run, except
    at a step the engine rejects as non-finite (its state, history included, is not kept)."""
    records = steps // record_every

    def init(key, hp):
        return {"task": task.init(key, hp),
                "history": {n: jnp.zeros((records,), jnp.float32) for n in names}}

    def step(state, data, t):
        inner, metrics = task.step(state["task"], data, t)
        slot = jnp.minimum(t // record_every, records - 1)
        recorded = t % record_every == 0
        history = {n: jnp.where(recorded, h.at[slot].set(jnp.asarray(metrics[n], jnp.float32)), h)
                   for n, h in state["history"].items()}
        return {"task": inner, "history": history}, metrics

    return engine.Task(init=init, step=step, describe=task.describe, evaluate=task.evaluate)
