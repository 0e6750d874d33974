"""The compiled chunk program of one device: `chunk` steps of every model it holds, with the divergence
guard and the categorical-choice switch (the engine's module docstring states their contracts).

Inside `jax.shard_map` the leading axis of every array is this device's models. `ChunkProgram` knows
nothing of meshes, placement or the host loop (`engine.Trainer` drives it).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp

CHOICE = "choice"  # the task-state entry holding a task's categorical hyperparameters (Task.categorical)


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.array(True)


def chunk_length(steps: int, chunk_steps: int, record_every: int) -> int:
    """The largest multiple of record_every that divides steps and is <= chunk_steps (equal chunks
    mean one compiled program)."""
    best = record_every
    for length in range(record_every, min(chunk_steps, steps) + 1, record_every):
        if steps % length == 0:
            best = length
    return best


class ChunkProgram:
    """Per-device programs for `task`: `init_local` builds this device's initial states, `local` runs one
    chunk of `chunk` steps (metrics recorded every `record_every`, states checked every `guard_every`)."""

    def __init__(self, task, chunk: int, record_every: int, guard_every: int):
        self.task = task
        self.chunk = chunk
        self.record_every = record_every
        self.guard_every = guard_every

    def init_local(self, keys, hparams):
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

    def _group_chunk(self, carry, data, t0, group):
        """One chunk of a group of models [g, ...], vmapped. With `Task.categorical`, a `lax.switch` on
        the group's values picks a program compiled for exactly those values (constants: XLA drops the
        untaken branches of the step's own switches) when every member shares them, else the per-member
        program; either way each member computes its own choice, so results do not depend on grouping."""
        def run(fixed):
            return jax.vmap(lambda c: self._one_model_chunk(c, data, t0, fixed))

        cat = self.task.categorical
        if not cat or group is None:  # one vmap over a device's models: rarely uniform
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

    def local(self, carry, data, t0, group: int | None):
        """One chunk of this device's models [m, ...]: `lax.map` over vmapped groups of `group` (None =
        one vmap over all), a shorter last group for the remainder."""
        local_models = jax.tree.leaves(carry)[0].shape[0]
        if group is None or group >= local_models:
            return self._group_chunk(carry, data, t0, group)
        n, rest = divmod(local_models, group)
        head = jax.tree.map(lambda x: x[:n * group].reshape(n, group, *x.shape[1:]), carry)
        out = jax.lax.map(lambda c: self._group_chunk(c, data, t0, group), head)
        out = jax.tree.map(lambda x: x.reshape(n * group, *x.shape[2:]), out)
        if rest:
            tail = self._group_chunk(jax.tree.map(lambda x: x[n * group:], carry), data, t0, group)
            out = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), out, tail)
        return out
