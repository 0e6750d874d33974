"""Full-batch binary classification as an engine task: the fully connected grid and XOR use it.

Per model the state carries the first step at which training accuracy was 100%, so "iterations to
reach 100%" costs nothing per step and survives any number of steps.
"""

from __future__ import annotations

import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.models import mlp
from jaxdl.training import engine, losses, optim

FLAT = 0.01  # act'(z) below this passes (almost) no gradient: sigmoid |z| > ~4.6, tanh |z| > ~3.8, ReLU z <= 0


def make_task(model: nn.Module, loss, optimizer: str, input_dim: int, diagnose_every: int = 0,
              batched: bool = True) -> engine.Task:
    """Task for `model` (logit output [N, 1]) trained full-batch on data = (x [N, D], y [N]).

    `loss` is a name, or a tuple of names picked per model by hparams["loss"] (an index), as a tuple
    `model.activation` is by hparams["activation"]: one program then trains every combination, and with
    one name each it is the plain per-cell task (the reference the one-program grid is tested against).
    hparams: {"lr": scalar, ["activation": index], ["loss": index]}. Metrics per step: loss, acc (both
    before the step's update); with `diagnose_every` > 0, at steps that are multiples of it (the record
    steps; elsewhere 0, skipped by a lax.cond), the first hidden layer's gradient norm `grad_norm`, the
    share of (unit, point) pairs with act'(z) < FLAT `flat`, and the share of units flat on every point
    `dead`. State: params, opt_state, hit_step (first step with acc == 1, -1 while never) [, choice].

    Vmapped (the engine's groups), a one-hidden-layer MLP's step runs as one program for the group with
    the models on the fast axis (`group_step`), unless `batched` is False (vmap of the per-model step:
    the reference it is tested against).
    """
    tx = optim.make_optimizer(optimizer)
    picks = [name for name, names in (("activation", model.activation), ("loss", loss))
             if not isinstance(names, str) and len(names) > 1]

    def init(key, hp):
        params = model.init(key, jnp.zeros((1, input_dim), jnp.float32))["params"]
        opt_state = optim.with_lr(tx.init(params), hp["lr"])
        state = {"params": params, "opt_state": opt_state, "hit_step": jnp.array(-1, jnp.int32)}
        if picks:
            state[engine.CHOICE] = {name: jnp.asarray(hp[name], jnp.int32) for name in picks}
        return state

    def objective(params, x, y, choice):
        act, li = choice.get("activation", 0), choice.get("loss", 0)
        if not diagnose_every:
            z = model.apply({"params": params}, x, choice=act)[:, 0]
            return losses.select_binary_loss(loss, li)(z, y), (z, None)
        z, inter = model.apply({"params": params}, x, choice=act, capture_intermediates=_first_layer)
        z = z[:, 0]
        return losses.select_binary_loss(loss, li)(z, y), (z, inter["intermediates"]["Dense_0"]["__call__"][0])

    def diagnose(grads, hidden, choice):
        act = mlp.select_activation(model.activation, choice.get("activation", 0))
        slope = jax.jvp(act, (hidden,), (jnp.ones_like(hidden),))[1]  # act'(z), elementwise
        flat = slope < FLAT
        norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads["Dense_0"])))
        return {"grad_norm": norm, "flat": jnp.mean(flat), "dead": jnp.mean(jnp.all(flat, axis=0))}

    def advance(state, t, grads, loss_value, acc, update, diagnosis):
        """The step after the gradients, for one model or (acc [G], `update` vmapped) a group: hit_step,
        the update, the metrics and, on record steps, `diagnosis()`."""
        hit = jnp.where((state["hit_step"] < 0) & (acc >= 1.0), t, state["hit_step"])
        updates, opt_state = update(grads, state["opt_state"], state["params"])
        params = jax.tree.map(jnp.add, state["params"], updates)
        metrics = {"loss": loss_value, "acc": acc}
        if diagnose_every:
            zero = {k: jnp.zeros_like(acc) for k in ("grad_norm", "flat", "dead")}
            metrics |= jax.lax.cond(t % diagnose_every == 0, diagnosis, lambda: zero)
        return {**state, "params": params, "opt_state": opt_state, "hit_step": hit}, metrics

    def step(state, data, t):
        x, y = data
        choice = state.get(engine.CHOICE, {})
        (loss_value, (z, hidden)), grads = jax.value_and_grad(objective, has_aux=True)(state["params"], x, y, choice)
        acc = jnp.mean((z > 0) == (y > 0.5))
        return advance(state, t, grads, loss_value, acc, tx.update, lambda: diagnose(grads, hidden, choice))

    def group_step(state, data, t):
        """`step` of G models at once (state [G, ...]; data, t and the choices shared) with the models on
        the fast axis (`mlp.group_logits`); each member's values equal its own step's to float rounding."""
        x, y = data
        choice = state.get(engine.CHOICE, {})
        act = mlp.select_activation(model.activation, choice.get("activation", 0))
        loss_of = losses.select_binary_loss(loss, choice.get("loss", 0))

        def objective(params):  # the sum of the members' losses: each member's gradient is its own
            z = mlp.group_logits(params, x, act)[0]
            per_model = jax.vmap(loss_of, in_axes=(1, None))(z, y)
            return jnp.sum(per_model), (per_model, z)

        (_, (loss_value, z)), grads = jax.value_and_grad(objective, has_aux=True)(state["params"])
        acc = jnp.mean((z > 0) == (y > 0.5)[:, None], axis=0)

        # The diagnosis recomputes the hidden layer: passed into the cond, its [N, G, H] copy cost every
        # step as much as a fifth of the step.
        def diagnose_group():
            hidden = mlp.group_logits(state["params"], x, act)[1]
            return jax.vmap(diagnose, (0, 1, None))(grads, hidden, choice)

        return advance(state, t, grads, loss_value, acc, jax.vmap(tx.update), diagnose_group)

    def vmapped_step(size, in_batched, state, data, t):
        """vmap's rule for `step`: `group_step` on XLA:CPU where the members share data, step and choices,
        else vmap of `step` (elsewhere the batched dots of plain vmap keep an accelerator busy)."""
        state_b, data_b, t_b = in_batched
        if any(jax.tree.leaves((data_b, t_b, state_b.get(engine.CHOICE, {})))) or jax.default_backend() != "cpu":
            axes = jax.tree.map(lambda b: 0 if b else None, in_batched)
            out = jax.vmap(step, in_axes=axes)(state, data, t)
        else:
            members = {k: v for k, v in state.items() if k != engine.CHOICE}
            members = jax.tree.map(lambda v, b: v if b else jnp.broadcast_to(v, (size, *v.shape)), members,
                                   {k: v for k, v in state_b.items() if k != engine.CHOICE})
            new, metrics = group_step({**state, **members}, data, t)
            if engine.CHOICE in new:  # shared, hence unbatched: give every member its copy
                new[engine.CHOICE] = jax.tree.map(lambda v: jnp.broadcast_to(v, (size, *v.shape)), new[engine.CHOICE])
            out = new, metrics
        return out, jax.tree.map(lambda _: True, out)

    task_step = step
    if batched and mlp.models_fastest(model):
        task_step = jax.custom_batching.custom_vmap(step)
        task_step.def_vmap(vmapped_step)

    def describe(metrics):
        return f"[100% train acc now: {int((metrics['acc'] >= 1).sum())}/{metrics['acc'].size}]"

    # The engine runs groups of models that share their activation and loss with them as constants.
    counts = {n: len(names) for n, names in (("activation", model.activation), ("loss", loss)) if n in picks}
    return engine.Task(init=init, step=task_step, describe=describe, categorical=counts)


def _first_layer(module, method_name) -> bool:
    return module.name == "Dense_0" and method_name == "__call__"


def logits(model: nn.Module, params, x, choice=0) -> jax.Array:
    """Logits [N] of one model (its activation `choice` when `model.activation` is a tuple)."""
    return model.apply({"params": params}, x, choice=choice)[:, 0]


def predict_logits(model: nn.Module, params, x, choice=None) -> jax.Array:
    """Logits [M, N] of M stacked models on points x [N, D] (`choice` [M]: their activation indices)."""
    choice = jnp.zeros(jax.tree.leaves(params)[0].shape[0], jnp.int32) if choice is None else jnp.asarray(choice)
    return jax.vmap(lambda p, c: logits(model, p, x, c))(params, choice)


def step_seconds(model_for, loss: str, data, names, models: int = 64, steps: int = 200, repeats: int = 9,
                 optimizer: str = "sgd") -> dict[str, list[float]]:
    """Seconds per training step of `models` vmapped models, per activation name (`model_for(name)`),
    the activations timed in turn within each repeat (load on a shared machine hits them alike)."""
    keys, runs = engine.seed_keys(np.arange(models)), {}
    for name in names:
        task = make_task(model_for(name), loss, optimizer, input_dim=data[0].shape[1])
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
