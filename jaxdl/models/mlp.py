"""Fully connected nets with a named hidden activation: the FC toy grid (2-16-1), XOR (2-H-1) and the
MNIST dense net (784-128-64-32-10, 111,146 parameters).

The input is flattened to [B, -1]; the last layer has no activation, so the output is logits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def _identity(x: jax.Array) -> jax.Array:
    return x


# "none" and "identity" both name the linear net: the coursework says "no activation".
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "none": _identity,
    "identity": _identity,
    "sigmoid": nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": nn.relu,
}


def get_activation(name: str) -> Callable[[jax.Array], jax.Array]:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def select_activation(names: str | Sequence[str], choice=None) -> Callable[[jax.Array], jax.Array]:
    """The activation `names` (one name), or `names[choice]` picked by `lax.switch` at run time (a tuple
    of names and an integer `choice`), so models with different activations share one program. Under
    vmap with a per-model `choice` every branch runs and the selected value is taken: elementwise, so it
    costs little (benchmarks/fc_program_bench.py). The chosen branch computes what the fixed activation
    computes, but XLA fuses the larger program differently: float32 results can differ in the last bit
    (tests/test_fc_grid.py bounds what that does to iteration counts)."""
    if isinstance(names, str):
        return get_activation(names)
    fns = [get_activation(n) for n in names]
    if len(fns) == 1:
        return fns[0]
    return lambda x: jax.lax.switch(choice, fns, x)


class MLP(nn.Module):
    """Dense layers of widths `features` (the last one is the output width), `activation` between them.

    x: [B, ...] -> logits [B, features[-1]].
    """

    features: Sequence[int]
    activation: str = "relu"
    dtype: Any = jnp.float32

    def __post_init__(self):
        # Fail at construction (flag parsing time), not at the first init deep inside a jitted grid.
        for name in (self.activation,) if isinstance(self.activation, str) else self.activation:
            get_activation(name)
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False, choice=0) -> jax.Array:
        # `train` changes nothing here; it is accepted so every model in the registry applies alike.
        act = select_activation(self.activation, choice)
        x = x.reshape((x.shape[0], -1))
        for i, width in enumerate(self.features):
            x = nn.Dense(width, dtype=self.dtype, param_dtype=jnp.float32)(x)
            if i < len(self.features) - 1:
                x = act(x)
        return x


def models_fastest(model: nn.Module) -> bool:
    """Whether `group_logits` can run `model`: one hidden layer, one float32 output (the FC grid, XOR)."""
    return isinstance(model, MLP) and len(model.features) == 2 and model.features[-1] == 1 \
        and model.dtype == jnp.float32


def group_logits(params, x: jax.Array, act: Callable[[jax.Array], jax.Array]) -> tuple[jax.Array, jax.Array]:
    """G stacked one-hidden-layer MLPs (`models_fastest`) on shared points x [N, D], the models on the fast
    axis: (logits [N, G], first-layer pre-activations [N, G, H]). vmap of `MLP.__call__` computes the same
    values with the models as the leading axis, where XLA:CPU transposes every [G, N, H] activation
    between the shared first-layer matmul and the batched second layer (4 of a step's 6 costliest ops);
    here x times every model's first layer is one [N, D] x [D, G*H] matmul and the second layer a
    multiply and an [N*G, H] x [H] matvec, so nothing is transposed (1.2-1.3x per step for groups of 32).
    The matvec, not a sum over H: XLA:CPU's fused multiply-and-sum gave +-inf where inf - inf is NaN, so
    a model blown up by a huge learning rate kept finite metrics and escaped the divergence guard."""
    kernel, bias = params["Dense_0"]["kernel"], params["Dense_0"]["bias"]  # [G, D, H], [G, H]
    models, dim, width = kernel.shape
    x = x.reshape((x.shape[0], -1))
    pre = x @ jnp.transpose(kernel, (1, 0, 2)).reshape(dim, models * width) + bias.reshape(-1)
    out = act(pre) * params["Dense_1"]["kernel"].reshape(-1)  # [G, H, 1] -> [G*H]
    logits = (out.reshape(-1, width) @ jnp.ones(width, out.dtype)).reshape(x.shape[0], models) \
        + params["Dense_1"]["bias"][:, 0]
    return logits, pre.reshape(x.shape[0], models, width)
