"""Loss registry. Binary losses take the output logit z [N] and labels y [N] in {0, 1}; the output
unit is a sigmoid in both, as in the coursework: L2 = mean (sigmoid(z) - y)^2, CE = binary
cross-entropy computed stably from z."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def l2(z: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((jax.nn.sigmoid(z) - y) ** 2)


def ce(z: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean(optax.sigmoid_binary_cross_entropy(z, y))


def softmax_ce(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Multi-class CE: logits [N, C], integer labels [N]."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


BINARY_LOSSES = {"l2": l2, "ce": ce}


def get_binary_loss(name: str):
    if name not in BINARY_LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(BINARY_LOSSES)}")
    return BINARY_LOSSES[name]


def select_binary_loss(names, choice=None):
    """The loss `names` (one name), or `names[choice]` picked by `lax.switch` at run time (a tuple of
    names, integer `choice`): models with different losses then share one compiled program."""
    if isinstance(names, str):
        return get_binary_loss(names)
    fns = [get_binary_loss(n) for n in names]
    if len(fns) == 1:
        return fns[0]
    return lambda z, y: jax.lax.switch(choice, fns, z, y)
