"""How many models the engine vmaps together per device: the one place this policy is decided.

`make_train(group="auto")` resolves it per workload with `auto_group` when a trainer first sees its state;
code that stacks models outside the engine (evaluating stacked final states) asks `one_model_at_a_time`.
The thresholds were measured with benchmarks/{fc,mnist,cnn}_bench.py on XLA:CPU and
benchmarks/gpu_check on an H100/H200 (BUILD.md, "Batching").
"""

from __future__ import annotations

from collections.abc import Callable

import jax

AUTO = "auto"
# XLA:CPU (benchmarks/{fc,mnist,cnn}_bench.py): a vmapped group's states should stay within about this
# many bytes, and groups beyond this size stopped paying.
_CPU_GROUP_STATE_BYTES = 4 << 20
_CPU_GROUP_MAX = 32
# Accelerators (results/bench_gpu*.md): vmapping the cnn_aux CNN (state < 1 MB) over every seed is the
# fastest (1.75x one at a time at batch 64), but a vmapped ResNet-18 (state ~90 MB) runs grouped
# convolutions at half the speed of one seed at a time. The threshold sits between the two.
_ACCELERATOR_CONV_STATE_BYTES = 16 << 20


def default_group() -> str:
    """What to pass as `group` for the engine's choice: "auto" (make_train's default), resolved per
    workload by `auto_group` when the trainer first sees its state."""
    return AUTO


def auto_group(step_convolves: bool, state_bytes: int, models_per_device: int,
               backend: str | None = None) -> int | None:
    """Models vmapped together per device (None = all), from what the engine knows of a workload.

    On an accelerator one vmap over the device's models keeps the chip busy, except for convolutional
    models whose state exceeds `_ACCELERATOR_CONV_STATE_BYTES`: those run one at a time. On XLA:CPU, a
    step with a convolution runs one model at a time (vmapped convolutions become grouped convolutions,
    3x slower for the cnn_aux CNN); other models run in the largest power-of-two group whose states fit
    in `_CPU_GROUP_STATE_BYTES`, at most `_CPU_GROUP_MAX` (2 for the dense net's 1.8 MB Adam state, 32
    for the FC grid's tiny MLPs). `backend` defaults to JAX's default backend."""
    backend = backend or jax.default_backend()
    if models_per_device <= 1:
        return None
    if backend != "cpu":
        return 1 if step_convolves and state_bytes > _ACCELERATOR_CONV_STATE_BYTES else None
    if step_convolves:
        return 1
    fit = min(_CPU_GROUP_MAX, max(1, _CPU_GROUP_STATE_BYTES // max(state_bytes, 1)))
    group = 1 << (fit.bit_length() - 1)
    return None if group >= models_per_device else group


def step_group(step: Callable, one_state, data, models_per_device: int) -> int | None:
    """`auto_group` for a task's `step(state, data, t)` on one model's state (ShapeDtypeStructs will do). The
    step is traced (not run) only where convolving would change the answer: tracing a ResNet's step costs
    seconds, and on an accelerator a small state's group is the same either way."""
    state_bytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(one_state))
    plain = auto_group(False, state_bytes, models_per_device)
    if auto_group(True, state_bytes, models_per_device) == plain:
        return plain
    jaxpr = jax.make_jaxpr(step)(one_state, data, jax.numpy.int32(0)).jaxpr
    return auto_group(_convolves(jaxpr), state_bytes, models_per_device)


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
