"""Binary losses and their gradients against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxdl.training import losses

finite_z = st.floats(-30, 30, allow_nan=False, width=32)


def sigmoid(z):
    return 1 / (1 + np.exp(-np.float64(z)))


@settings(deadline=None, max_examples=60)
@given(z=finite_z, y=st.sampled_from([0.0, 1.0]))
def test_l2_value_and_gradient_match_closed_form(z, y):
    zz, yy = jnp.array([z]), jnp.array([y])
    s = sigmoid(z)
    np.testing.assert_allclose(losses.l2(zz, yy), (s - y) ** 2, rtol=1e-5, atol=1e-7)
    grad = jax.grad(lambda q: losses.l2(q, yy))(zz)[0]
    # float32: 1 - sigmoid(z) loses digits once sigmoid(z) ~ 1, hence an absolute tolerance of 1e-6.
    np.testing.assert_allclose(grad, 2 * (s - y) * s * (1 - s), rtol=1e-4, atol=1e-6)


@settings(deadline=None, max_examples=60)
@given(z=finite_z, y=st.sampled_from([0.0, 1.0]))
def test_ce_value_and_gradient_match_closed_form(z, y):
    zz, yy = jnp.array([z]), jnp.array([y])
    s = sigmoid(z)
    # -log(sigmoid(z)) = softplus(-z): stable for large |z|, as the loss must be.
    expected = np.logaddexp(0, -z) if y == 1 else np.logaddexp(0, z)
    np.testing.assert_allclose(losses.ce(zz, yy), expected, rtol=1e-5, atol=1e-6)
    grad = jax.grad(lambda q: losses.ce(q, yy))(zz)[0]
    np.testing.assert_allclose(grad, s - y, rtol=1e-4, atol=1e-6)


def test_losses_average_over_points():
    z, y = jnp.array([0.0, 2.0, -1.0]), jnp.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(losses.ce(z, y), np.mean([np.log(2), np.log1p(np.exp(2)), np.log1p(np.exp(-1))]),
                               rtol=1e-6)


def test_unknown_loss_names_the_choices():
    try:
        losses.get_binary_loss("hinge")
    except ValueError as err:
        assert "l2" in str(err) and "ce" in str(err)
    else:
        raise AssertionError("expected ValueError")


def test_a_per_model_loss_index_picks_that_loss_under_vmap():
    z = jax.random.normal(jax.random.PRNGKey(0), (4, 50))
    y = (jax.random.uniform(jax.random.PRNGKey(1), (50,)) > 0.5).astype(jnp.float32)
    choice = jnp.array([0, 1, 1, 0])
    picked = jax.vmap(lambda z, c: losses.select_binary_loss(("l2", "ce"), c)(z, y))(z, choice)
    expected = [losses.BINARY_LOSSES[("l2", "ce")[int(c)]](zi, y) for zi, c in zip(z, choice, strict=True)]
    np.testing.assert_allclose(picked, expected, rtol=1e-6)
    assert losses.select_binary_loss("ce") is losses.ce and losses.select_binary_loss(("l2",)) is losses.l2
