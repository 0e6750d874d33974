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
