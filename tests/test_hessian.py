"""jaxdl.analysis.hessian against dense Hessians and numpy.linalg.eigvalsh, in float64."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.flatten_util import ravel_pytree

from jaxdl.analysis import hessian

DIM = 12


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def tiny_mlp_loss(params, x, y):
    """A 3-4-1 tanh network with squared error: a non-quadratic loss with an indefinite Hessian."""
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    return jnp.mean((h @ params["w2"] + params["b2"] - y) ** 2)


def tiny_mlp(seed=0):
    rng = np.random.default_rng(seed)
    params = {"w1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4), "w2": rng.normal(size=4),
              "b2": rng.normal(size=())}
    x, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    return jax.tree.map(jnp.asarray, params), (lambda p: tiny_mlp_loss(p, x, y))


def dense_hessian(loss_fn, params):
    flat, unravel = ravel_pytree(params)
    # Jitted: eager jax.hessian dispatches (and compiles) op by op, seconds on CPU.
    return np.asarray(jax.jit(jax.hessian(lambda v: loss_fn(unravel(v))))(flat))


def test_hvp_matches_dense_hessian_on_pytree_params():
    params, loss_fn = tiny_mlp()
    flat, unravel = ravel_pytree(params)
    v = np.random.default_rng(1).normal(size=flat.shape)
    got = jax.jit(lambda p, v: ravel_pytree(hessian.hvp(loss_fn, p, unravel(v)))[0])(params, jnp.asarray(v))
    np.testing.assert_allclose(got, dense_hessian(loss_fn, params) @ v, rtol=1e-10, atol=1e-12)


def test_lanczos_extremes_match_eigvalsh_of_exact_hessian():
    params, loss_fn = tiny_mlp()
    expected = np.linalg.eigvalsh(dense_hessian(loss_fn, params))
    assert expected[0] < 0 < expected[-1]  # indefinite: both ends are informative
    dim = expected.size

    @jax.jit  # one compile instead of one per eager op
    def spectra(params):
        ext = hessian.extreme_eigenvalues(loss_fn, params, jax.random.key(1), num_iters=dim - 4)
        return (hessian.lanczos(loss_fn, params, jax.random.key(0), dim), ext,
                hessian.hessian_eigenvalues_exact(loss_fn, params)[0],
                ravel_pytree(hessian.hvp(loss_fn, params, ext.max_vector))[0])

    full, ext, exact, hv = spectra(params)
    np.testing.assert_allclose(np.sort(full.ritz_values), expected, atol=1e-9)
    np.testing.assert_allclose(full.ritz_weights.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose([ext.min_value, ext.max_value], expected[[0, -1]], rtol=1e-6)
    np.testing.assert_allclose(exact, expected, atol=1e-10)
    # The returned vector is an eigenvector: H v = lambda v.
    np.testing.assert_allclose(hv, ext.max_value * ravel_pytree(ext.max_vector)[0], atol=1e-6)


@jax.jit
def _quadratic_spectra(a, key):
    loss_fn = lambda p: 0.5 * p @ a @ p
    p = jnp.zeros(DIM, a.dtype)
    lz = hessian.lanczos(loss_fn, p, key, DIM)
    return jnp.sort(lz.ritz_values), hessian.power_iteration(loss_fn, p, key, 500)[0]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rank=st.integers(1, DIM))
def test_lanczos_full_krylov_recovers_spectrum_even_when_low_rank(seed, rank):
    # Low rank exhausts the Krylov space early: the restart path must still give genuine eigenvalues.
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(DIM, rank))
    a = b @ np.diag(rng.choice([-1.0, 1.0], rank)) @ b.T
    expected = np.linalg.eigvalsh(a)
    values, top = _quadratic_spectra(jnp.asarray(a), jax.random.key(seed))
    scale = np.abs(expected).max()
    np.testing.assert_allclose(values, expected, atol=1e-9 * scale)
    dominant = expected[np.argmax(np.abs(expected))]
    # Power iteration converges to the dominant eigenvalue unless +-lambda tie in magnitude.
    if np.sort(np.abs(expected))[-2] < 0.9 * abs(dominant):
        np.testing.assert_allclose(top, dominant, rtol=1e-6)


def test_hutchinson_trace_is_exact_for_a_diagonal_hessian():
    # z^T D z = tr(D) for every Rademacher z, so the estimate has zero variance.
    d = jnp.arange(1.0, 7.0)
    params = {"a": jnp.ones(2), "b": jnp.ones(4)}
    loss_fn = lambda p: 0.5 * jnp.sum(d * ravel_pytree(p)[0] ** 2)
    estimate = jax.jit(lambda p: hessian.hutchinson_trace(loss_fn, p, jax.random.key(0), 3))(params)
    np.testing.assert_allclose(estimate, d.sum())


def test_lanczos_is_vmappable_over_points():
    a = jnp.diag(jnp.arange(-3.0, 3.0))
    loss_fn = lambda p: 0.5 * p @ a @ p + jnp.sum(p**3) / 6
    points = jnp.asarray(np.random.default_rng(0).normal(size=(5, 6)))
    keys = jax.random.split(jax.random.key(0), 5)
    batched = jax.jit(jax.vmap(lambda p, k: hessian.lanczos(loss_fn, p, k, 6).ritz_values))(points, keys)
    for p, row in zip(points, batched, strict=True):
        np.testing.assert_allclose(row, np.linalg.eigvalsh(np.asarray(a) + np.diag(np.asarray(p))), atol=1e-9)
