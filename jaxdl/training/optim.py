"""Optimizers whose learning rate is a per-model traced value (optax.inject_hyperparams), so one
compiled program trains a whole learning-rate sweep."""

from __future__ import annotations

import jax.numpy as jnp
import optax

OPTIMIZERS = ("sgd", "momentum", "adam")


def make_optimizer(name: str, **static) -> optax.GradientTransformation:
    """An inject_hyperparams optimizer; the learning rate is set per model with `with_lr`."""
    factories = {
        "sgd": lambda learning_rate: optax.sgd(learning_rate),
        "momentum": lambda learning_rate: optax.sgd(learning_rate, momentum=static.get("momentum", 0.9)),
        "adam": lambda learning_rate: optax.adam(learning_rate),
    }
    if name not in factories:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return optax.inject_hyperparams(factories[name])(learning_rate=0.0)


def with_lr(opt_state, lr) -> optax.OptState:
    """`opt_state` of an inject_hyperparams optimizer with its learning rate replaced by `lr`."""
    hyper = dict(opt_state.hyperparams)
    hyper["learning_rate"] = jnp.asarray(lr, jnp.float32)
    return opt_state._replace(hyperparams=hyper)
