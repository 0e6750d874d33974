"""Full-batch binary classification as an engine task: the fully connected grid and XOR use it.

Per model the state carries the first step at which training accuracy was 100%, so "iterations to
reach 100%" costs nothing per step and survives any number of steps.
"""

from __future__ import annotations

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

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
    b = _Binary(model, loss, optim.make_optimizer(optimizer), input_dim, diagnose_every)
    task_step = b.step
    if batched and mlp.models_fastest(model):
        task_step = jax.custom_batching.custom_vmap(b.step)
        task_step.def_vmap(b.vmapped_step)
    # The engine runs groups of models that share their activation and loss with them as constants.
    counts = {n: len(names) for n, names in (("activation", model.activation), ("loss", loss)) if n in b.picks}
    return engine.Task(init=b.init, step=task_step, describe=_describe, categorical=counts)


def _describe(metrics) -> str:
    return f"[100% train acc now: {int((metrics['acc'] >= 1).sum())}/{metrics['acc'].size}]"


@dataclasses.dataclass(frozen=True)
class _Binary:
    """make_task's arguments and the task's functions over them."""

    model: nn.Module
    loss: str | tuple[str, ...]
    tx: optax.GradientTransformation
    input_dim: int
    diagnose_every: int

    @property
    def picks(self) -> list[str]:
        """The categorical hyperparameters: activation and/or loss where several are given."""
        return [name for name, names in (("activation", self.model.activation), ("loss", self.loss))
                if not isinstance(names, str) and len(names) > 1]

    def init(self, key, hp):
        params = self.model.init(key, jnp.zeros((1, self.input_dim), jnp.float32))["params"]
        opt_state = optim.with_lr(self.tx.init(params), hp["lr"])
        state = {"params": params, "opt_state": opt_state, "hit_step": jnp.array(-1, jnp.int32)}
        if self.picks:
            state[engine.CHOICE] = {name: jnp.asarray(hp[name], jnp.int32) for name in self.picks}
        return state

    def step(self, state, data, t):
        x, y = data
        choice = state.get(engine.CHOICE, {})
        grad_fn = jax.value_and_grad(self.objective, has_aux=True)
        (loss_value, (z, hidden)), grads = grad_fn(state["params"], x, y, choice)
        acc = jnp.mean((z > 0) == (y > 0.5))
        return self.advance(state, t, grads, loss_value, acc, self.tx.update,
                            lambda: self.diagnose(grads, hidden, choice))

    def objective(self, params, x, y, choice):
        act, li = choice.get("activation", 0), choice.get("loss", 0)
        loss_of = losses.select_binary_loss(self.loss, li)
        if not self.diagnose_every:
            z = self.model.apply({"params": params}, x, choice=act)[:, 0]
            return loss_of(z, y), (z, None)
        z, inter = self.model.apply({"params": params}, x, choice=act, capture_intermediates=_first_layer)
        return loss_of(z[:, 0], y), (z[:, 0], inter["intermediates"]["Dense_0"]["__call__"][0])

    def diagnose(self, grads, hidden, choice):
        act = mlp.select_activation(self.model.activation, choice.get("activation", 0))
        slope = jax.jvp(act, (hidden,), (jnp.ones_like(hidden),))[1]  # act'(z), elementwise
        flat = slope < FLAT
        norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads["Dense_0"])))
        return {"grad_norm": norm, "flat": jnp.mean(flat), "dead": jnp.mean(jnp.all(flat, axis=0))}

    def advance(self, state, t, grads, loss_value, acc, update, diagnosis):
        """The step after the gradients, for one model or (acc [G], `update` vmapped) a group: hit_step,
        the update, the metrics and, on record steps, `diagnosis()`."""
        hit = jnp.where((state["hit_step"] < 0) & (acc >= 1.0), t, state["hit_step"])
        updates, opt_state = update(grads, state["opt_state"], state["params"])
        params = jax.tree.map(jnp.add, state["params"], updates)
        metrics = {"loss": loss_value, "acc": acc}
        if self.diagnose_every:
            zero = {k: jnp.zeros_like(acc) for k in ("grad_norm", "flat", "dead")}
            metrics |= jax.lax.cond(t % self.diagnose_every == 0, diagnosis, lambda: zero)
        return {**state, "params": params, "opt_state": opt_state, "hit_step": hit}, metrics

    def group_step(self, state, data, t):
        """`step` of G models at once (state [G, ...]; data, t and the choices shared) with the models on
        the fast axis (`mlp.group_logits`); each member's values equal its own step's to float rounding."""
        x, y = data
        choice = state.get(engine.CHOICE, {})
        act = mlp.select_activation(self.model.activation, choice.get("activation", 0))
        loss_of = losses.select_binary_loss(self.loss, choice.get("loss", 0))

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
            return jax.vmap(self.diagnose, (0, 1, None))(grads, hidden, choice)

        return self.advance(state, t, grads, loss_value, acc, jax.vmap(self.tx.update), diagnose_group)

    def vmapped_step(self, size, in_batched, state, data, t):
        """vmap's rule for `step`: `group_step` on XLA:CPU where the members share data, step and choices,
        else vmap of `step` (elsewhere the batched dots of plain vmap keep an accelerator busy)."""
        state_b, data_b, t_b = in_batched
        if any(jax.tree.leaves((data_b, t_b, state_b.get(engine.CHOICE, {})))) or jax.default_backend() != "cpu":
            axes = jax.tree.map(lambda b: 0 if b else None, in_batched)
            out = jax.vmap(self.step, in_axes=axes)(state, data, t)
        else:
            members = {k: v for k, v in state.items() if k != engine.CHOICE}
            members = jax.tree.map(lambda v, b: v if b else jnp.broadcast_to(v, (size, *v.shape)), members,
                                   {k: v for k, v in state_b.items() if k != engine.CHOICE})
            new, metrics = self.group_step({**state, **members}, data, t)
            if engine.CHOICE in new:  # shared, hence unbatched: give every member its copy
                new[engine.CHOICE] = jax.tree.map(lambda v: jnp.broadcast_to(v, (size, *v.shape)), new[engine.CHOICE])
            out = new, metrics
        return out, jax.tree.map(lambda _: True, out)


def _first_layer(module, method_name) -> bool:
    return module.name == "Dense_0" and method_name == "__call__"


def logits(model: nn.Module, params, x, choice=0) -> jax.Array:
    """Logits [N] of one model (its activation `choice` when `model.activation` is a tuple)."""
    return model.apply({"params": params}, x, choice=choice)[:, 0]


@functools.partial(jax.jit, static_argnums=0)
def _probability(model: nn.Module, params, x, choice) -> jax.Array:
    return jax.nn.sigmoid(logits(model, params, x, choice))


def probability(model: nn.Module, params, choice=0):
    """P(class 1) on points [K, D] of one model, as a compiled function: a figure evaluates it on a dense grid,
    which op by op would compile every operation for every panel; compiled, panels of one shape share one
    program (parameters and `choice` are arguments)."""
    return lambda x: _probability(model, params, x, choice)


def predict_logits(model: nn.Module, params, x, choice=None) -> jax.Array:
    """Logits [M, N] of M stacked models on points x [N, D] (`choice` [M]: their activation indices)."""
    choice = jnp.zeros(jax.tree.leaves(params)[0].shape[0], jnp.int32) if choice is None else jnp.asarray(choice)
    return jax.vmap(lambda p, c: logits(model, p, x, c))(params, choice)
