"""The binary task's group step (a vmapped one-hidden-layer MLP, models on the fast axis) against vmap of the
per-model step: the same values to float rounding, every activation and loss; the fallbacks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.data.toy import make_toy
from jaxdl.models.mlp import MLP
from jaxdl.tasks import binary
from jaxdl.training import engine

MODELS = 8


def _data():
    x, y = make_toy("xor", 60, 0, 0.1)
    return jnp.asarray(x), jnp.asarray(y, jnp.float32)


def _vmapped_steps(task, state, data, steps):
    """(state, metrics [steps, models]) after `steps` vmapped steps from `state` [models, ...]."""
    def body(s, t):
        return jax.vmap(task.step, (0, None, None))(s, data, t)

    return jax.jit(lambda s: jax.lax.scan(body, s, jnp.arange(steps)))(state)


def _batched_dots(jaxpr) -> int:
    """dot_generals with batch dimensions in a jaxpr and the jaxprs nested in it."""
    count = 0
    for eqn in jaxpr.eqns:
        count += eqn.primitive.name == "dot_general" and bool(eqn.params["dimension_numbers"][1][0])
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                sub = getattr(sub, "jaxpr", sub)
                count += _batched_dots(sub) if hasattr(sub, "eqns") else 0
    return count


def _vmapped_jaxpr(task, state, data):
    return jax.make_jaxpr(jax.vmap(task.step, (0, None, None)))(state, data, jnp.int32(0)).jaxpr


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh", "none"])
@pytest.mark.parametrize("loss", ["l2", "ce"])
def test_group_step_equals_vmap_of_the_model_step(activation, loss):
    data, model = _data(), MLP((16, 1), activation=activation)
    fast, ref = (binary.make_task(model, loss, "sgd", 2, diagnose_every=5, batched=b) for b in (True, False))
    lrs = jnp.asarray(np.linspace(0.3, 3.0, MODELS), jnp.float32)
    state = jax.vmap(fast.init)(engine.seed_keys(np.arange(MODELS)), {"lr": lrs})
    (got, got_m), (want, want_m) = (_vmapped_steps(t, state, data, 40) for t in (fast, ref))
    np.testing.assert_array_equal(got["hit_step"], want["hit_step"])
    for a, b in zip(jax.tree.leaves((got["params"], got_m)), jax.tree.leaves((want["params"], want_m)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert float(jnp.abs(got_m["grad_norm"][5]).min()) > 0 and float(jnp.abs(got_m["grad_norm"][6]).max()) == 0
    # The group step's only matmuls are the shared x's; the reference's second layer is a batched dot.
    assert _batched_dots(_vmapped_jaxpr(fast, state, data)) == 0 < _batched_dots(_vmapped_jaxpr(ref, state, data))


def test_members_with_different_choices_fall_back_to_the_model_step():
    """A vmapped group whose activation and loss differ per member runs the per-model step (bit-identical)."""
    data, model = _data(), MLP((16, 1), activation=("sigmoid", "relu"))
    fast, ref = (binary.make_task(model, ("l2", "ce"), "sgd", 2, batched=b) for b in (True, False))
    hp = {"lr": jnp.full(4, 1.0), "activation": jnp.array([0, 1, 0, 1]), "loss": jnp.array([0, 0, 1, 1])}
    state = jax.vmap(fast.init)(engine.seed_keys(np.arange(4)), hp)
    got, want = (_vmapped_steps(t, state, data, 20) for t in (fast, ref))
    jax.tree.map(np.testing.assert_array_equal, got, want)


def test_deeper_nets_keep_the_model_step():
    data, model = _data(), MLP((8, 8, 1), activation="relu")
    fast, ref = (binary.make_task(model, "ce", "sgd", 2, batched=b) for b in (True, False))
    state = jax.vmap(fast.init)(engine.seed_keys(np.arange(4)), {"lr": jnp.full(4, 1.0)})
    jax.tree.map(np.testing.assert_array_equal, *(_vmapped_steps(t, state, data, 20) for t in (fast, ref)))


def test_probability_is_the_sigmoid_of_the_chosen_activations_logits():
    model = MLP((8, 1), activation=("sigmoid", "relu"))
    params = jax.jit(lambda k: model.init(k, jnp.zeros((1, 2))))(jax.random.key(0))["params"]
    x = jnp.asarray(np.random.default_rng(0).normal(size=(50, 2)), jnp.float32)
    for choice in (0, 1):
        expected = jax.nn.sigmoid(model.apply({"params": params}, x, choice=choice)[:, 0])
        np.testing.assert_allclose(binary.probability(model, params, choice)(x), expected, rtol=1e-6, atol=1e-7)
    assert not np.allclose(binary.probability(model, params, 0)(x), binary.probability(model, params, 1)(x))
