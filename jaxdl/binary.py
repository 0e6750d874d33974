"""Full-batch binary classification as an engine task: the fully connected grid and XOR use it.

Per model the state carries the first step at which training accuracy was 100%, so "iterations to
reach 100%" costs nothing per step and survives any number of steps.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl import engine, losses, optim


def make_task(model: nn.Module, loss: str, optimizer: str, input_dim: int) -> engine.Task:
    """Task for `model` (logit output [N, 1]) trained full-batch on data = (x [N, D], y [N]).

    hparams: {"lr": scalar}. Metrics per step: loss, acc (both before the step's update).
    State: params, opt_state, hit_step (first step with acc == 1, -1 while never).
    """
    loss_fn = losses.get_binary_loss(loss)
    tx = optim.make_optimizer(optimizer)

    def init(key, hp):
        params = model.init(key, jnp.zeros((1, input_dim), jnp.float32))["params"]
        opt_state = optim.with_lr(tx.init(params), hp["lr"])
        return {"params": params, "opt_state": opt_state, "hit_step": jnp.array(-1, jnp.int32)}

    def objective(params, x, y):
        z = model.apply({"params": params}, x)[:, 0]
        return loss_fn(z, y), z

    def step(state, data, t):
        x, y = data
        (loss_value, z), grads = jax.value_and_grad(objective, has_aux=True)(state["params"], x, y)
        acc = jnp.mean((z > 0) == (y > 0.5))
        hit = jnp.where((state["hit_step"] < 0) & (acc >= 1.0), t, state["hit_step"])
        updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
        params = jax.tree.map(jnp.add, state["params"], updates)
        return {"params": params, "opt_state": opt_state, "hit_step": hit}, {"loss": loss_value, "acc": acc}

    def describe(metrics):
        return f"[100% train acc now: {int((metrics['acc'] >= 1).sum())}/{metrics['acc'].size}]"

    return engine.Task(init=init, step=step, describe=describe)


def predict_logits(model: nn.Module, params, x) -> jax.Array:
    """Logits [M, N] of M stacked models on points x [N, D]."""
    return jax.vmap(lambda p: model.apply({"params": p}, x)[:, 0])(params)
