"""Seconds per training step per activation, for `relu_cheaper` (the seed's "ReLU is cheaper to compute").

The activations are timed in turn within each repeat, so load on a shared machine hits them alike; the
claim compares medians over repeats.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.tasks import binary
from jaxdl.training import engine


def step_seconds(model_for, loss: str, data, names, models: int = 64, steps: int = 200, repeats: int = 9,
                 optimizer: str = "sgd") -> dict[str, list[float]]:
    """Seconds per training step of `models` vmapped models, per activation name (`model_for(name)`),
    the activations timed in turn within each repeat (load on a shared machine hits them alike)."""
    keys, runs = engine.seed_keys(np.arange(models)), {}
    for name in names:
        task = binary.make_task(model_for(name), loss, optimizer, input_dim=data[0].shape[1])
        state = jax.vmap(task.init)(keys, {"lr": jnp.full(models, 0.1, jnp.float32)})

        def train(s, task=task):
            return jax.lax.scan(lambda c, t: (jax.vmap(task.step, (0, None, None))(c, data, t)[0], None), s,
                                jnp.arange(steps))[0]

        runs[name] = (jax.jit(train), state)
        jax.block_until_ready(runs[name][0](state))  # compile
    out = {name: [] for name in names}
    for _ in range(repeats):
        for name, (fn, state) in runs.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(state))
            out[name].append((time.perf_counter() - t0) / steps)
    return out
