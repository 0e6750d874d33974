"""FLOPs per example from XLA's cost analysis of the compiled program (no hand-written layer formulas).

XLA counts a multiply-add as 2 FLOPs and also counts elementwise work (bias adds, activations, batch
norm, pooling), so a Dense layer in -> out costs 2*in*out + out per example: within 1/(2*in) of the
textbook 2*in*out. Convolutions count only the taps that land inside the image: a 3x3 'SAME' conv counts
96% of 2*9*cin*cout*h*w on a 32x32 map but 69% on a 4x4 one, so CIFAR ResNet-18 measures 0.97 GFLOPs
where the textbook (padding-inclusive) figure is 1.11 (0.56 GMACs). The count is of the program XLA
compiles for the CPU, whatever the default backend, for one batch divided by the batch size: on a GPU the
compiled program's convolutions and matmuls are library calls (cuDNN, cuBLAS) that XLA's cost analysis
does not count (measured on an H200: 0.003 GFLOPs for ResNet-18's forward), so an MFU from it would be ~0.

`variables` may be real arrays or `jax.eval_shape(model.init, ...)` output: only shapes are needed,
so nothing is allocated or run. `forward_flops(name, ...)` counts a registry model's forward pass;
`jaxdl.reporting.peaks.peak_bf16(device_kind)` is the chip's data-sheet peak, the denominator of a model-FLOPs
utilisation.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp


def flops_per_example(apply_fn: Callable[[Any, jax.Array], Any], variables: Any, input_shape: Sequence[int],
                      batch_size: int = 8) -> float:
    """FLOPs of `apply_fn(variables, x)` per example, x: [batch_size, *input_shape] float32."""
    cpu = jax.sharding.SingleDeviceSharding(jax.devices("cpu")[0])
    x = jax.ShapeDtypeStruct((batch_size, *input_shape), jnp.float32, sharding=cpu)
    abstract = jax.tree.map(lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=cpu), variables)
    # jax 0.10 returns a dict for the one compiled program ("flops" key); backends that cannot
    # analyse a program return None or leave the key out.
    cost = jax.jit(apply_fn).lower(abstract, x).compile().cost_analysis()
    if not cost or "flops" not in cost:
        raise RuntimeError("XLA reported no FLOP count for this program on the CPU")
    return float(cost["flops"]) / batch_size


def forward_flops(name: str, num_classes: int, input_shape: Sequence[int]) -> float:
    """FLOPs of registry model `name`'s forward pass (inference mode) per image, its repeated blocks
    unrolled (XLA counts a loop body once)."""
    from jaxdl.models import get_model

    model = get_model(name, num_classes)
    if "unroll_blocks" in {f.name for f in dataclasses.fields(model)}:
        model = model.clone(unroll_blocks=True)
    init = functools.partial(model.init, train=False)  # train stays a Python bool, not a traced argument
    variables = jax.eval_shape(init, jax.random.PRNGKey(0), jnp.zeros((1, *input_shape)))
    return flops_per_example(lambda v, x: model.apply(v, x, train=False), variables, input_shape)
