"""Hessian spectra of any scalar loss over a pytree of parameters (the core of PyHessian, in JAX).

Every function takes `loss_fn(params) -> scalar` (close over the data) and `params`, any pytree of
arrays; nothing is materialised beyond `dim` = the number of parameters, except in
`hessian_eigenvalues_exact`, which builds the dense [dim, dim] Hessian and is meant for small models.

- `hvp`: one Hessian-vector product, forward-over-reverse (about the cost of two gradients).
- `lanczos`: Ritz values/vectors of the Hessian from `num_iters` HVPs; its extreme Ritz values converge
  first, and its Ritz weights give the stochastic-Lanczos-quadrature spectral density.
- `extreme_eigenvalues`: smallest and largest Hessian eigenvalue with their eigenvectors, via Lanczos.
- `power_iteration`: the eigenvalue of largest magnitude (PyHessian's top-eigenvalue method).
- `hutchinson_trace`: an unbiased estimate of the Hessian trace from Rademacher probes.

Precision: everything runs in the dtype of `params`. In float32, eigenvalues carry rounding errors of
order 1e-7 * |lambda_max| (measured: logistic regression on two digits of load_digits, whose Hessian is
singular, reads its zero eigenvalue as -1e-7), enough to make a convex loss look non-convex; for sign
decisions run under `with jax.enable_x64(True):` on float64 params (experiments/convexity/ does).
All functions are pure and jit/vmap-compatible, with `loss_fn` and `num_iters` static.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


def hvp(loss_fn, params, v):
    """H(params) @ v, where v is a pytree shaped like params; returns a pytree shaped like params."""
    return jax.jvp(jax.grad(loss_fn), (params,), (v,))[1]


def _flat_matvec(loss_fn, params):
    """The Hessian as a map on flat vectors [dim] -> [dim] (ravel_pytree order), and the flat params."""
    flat, unravel = ravel_pytree(params)

    def matvec(x):
        return ravel_pytree(hvp(loss_fn, params, unravel(x)))[0]

    return matvec, flat


class LanczosResult(NamedTuple):
    """Output of `lanczos` with k = num_iters Krylov vectors over dim parameters.

    ritz_values:  [k] ascending eigenvalues of the Lanczos tridiagonal matrix (each within the Hessian's
                  spectrum; the extreme ones converge first).
    ritz_weights: [k] squared first components of the tridiagonal's eigenvectors: the weights of the
                  stochastic Lanczos quadrature density sum_i w_i delta(lambda - ritz_values[i]).
    ritz_vectors: [k, dim] unit Ritz vectors in ravel_pytree order of params, row i for ritz_values[i].
    """

    ritz_values: jax.Array
    ritz_weights: jax.Array
    ritz_vectors: jax.Array


def lanczos(loss_fn, params, key: jax.Array, num_iters: int) -> LanczosResult:
    """Lanczos with full reorthogonalisation on the Hessian of loss_fn at params.

    num_iters is clipped to dim. Full reorthogonalisation (twice, against every earlier vector) costs
    O(num_iters^2 * dim) but keeps the Ritz values free of the spurious copies plain Lanczos produces.
    When the Krylov space is exhausted (beta ~ 0, e.g. a low-rank Hessian), the iteration restarts from a
    fresh random vector orthogonal to the basis, so every Ritz value is still a genuine one.
    """
    matvec, flat = _flat_matvec(loss_fn, params)
    dim = flat.shape[0]
    k = min(num_iters, dim)
    dtype = flat.dtype
    eps = jnp.finfo(dtype).eps

    def orthogonalise(basis, w):
        for _ in range(2):
            w = w - basis.T @ (basis @ w)
        return w

    def unit(w):
        return w / jnp.linalg.norm(w)

    # Row 0 starts the iteration, row i + 1 restarts it after a breakdown at step i (one RNG call: the
    # threefry kernels are a large part of this function's compile time on CPU).
    randoms = jax.random.normal(key, (k + 1, dim), dtype)
    basis = jnp.zeros((k, dim), dtype).at[0].set(unit(randoms[0]))

    def body(i, state):
        basis, alphas, betas = state
        v = basis[i]
        w = matvec(v)
        alpha = jnp.vdot(v, w)
        scale = jnp.linalg.norm(w)
        w = orthogonalise(basis, w)
        beta = jnp.linalg.norm(w)
        broke_down = beta <= 1e3 * eps * jnp.maximum(scale, jnp.finfo(dtype).tiny)
        next_v = jnp.where(broke_down, unit(orthogonalise(basis, randoms[i + 1])),
                           w / jnp.where(broke_down, 1.0, beta))
        beta = jnp.where(broke_down, 0.0, beta)
        # The last iteration has no row left to fill: mode="drop" discards that write.
        basis = basis.at[i + 1].set(next_v, mode="drop")
        return basis, alphas.at[i].set(alpha), betas.at[i].set(beta)

    basis, alphas, betas = jax.lax.fori_loop(
        0, k, body, (basis, jnp.zeros((k,), dtype), jnp.zeros((k,), dtype))
    )
    tridiagonal = jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)
    values, vectors = jnp.linalg.eigh(tridiagonal)
    return LanczosResult(values, vectors[0] ** 2, vectors.T @ basis)


class ExtremeEigen(NamedTuple):
    """Smallest and largest eigenvalue (scalars) with unit eigenvectors (pytrees shaped like params)."""

    min_value: jax.Array
    max_value: jax.Array
    min_vector: object
    max_vector: object


def extreme_eigenvalues(loss_fn, params, key: jax.Array, num_iters: int = 40) -> ExtremeEigen:
    """The extreme Hessian eigenvalues by Lanczos.

    The smallest Ritz value is always >= the true smallest eigenvalue (interlacing), so a negative one
    proves a negative eigenvalue exists; a non-negative one only means none was found.
    """
    result = lanczos(loss_fn, params, key, num_iters)
    unravel = ravel_pytree(params)[1]
    return ExtremeEigen(
        result.ritz_values[0],
        result.ritz_values[-1],
        unravel(result.ritz_vectors[0]),
        unravel(result.ritz_vectors[-1]),
    )


def power_iteration(loss_fn, params, key: jax.Array, num_iters: int = 100):
    """(eigenvalue, unit eigenvector pytree) of largest magnitude, by power iteration on HVPs.

    Converges at rate |lambda_2 / lambda_1| per step; prefer `extreme_eigenvalues` when the top two are
    close. The eigenvalue is the Rayleigh quotient of the final vector, so its sign is the true sign.
    """
    matvec, flat = _flat_matvec(loss_fn, params)
    v = jax.random.normal(key, flat.shape, flat.dtype)

    def body(_, v):
        w = matvec(v)
        return w / jnp.linalg.norm(w)

    v = jax.lax.fori_loop(0, num_iters, body, v / jnp.linalg.norm(v))
    return jnp.vdot(v, matvec(v)), ravel_pytree(params)[1](v)


def hutchinson_trace(loss_fn, params, key: jax.Array, num_probes: int = 100) -> jax.Array:
    """Unbiased estimate of tr(H): the mean of z^T H z over Rademacher vectors z."""
    matvec, flat = _flat_matvec(loss_fn, params)
    probes = jax.random.rademacher(key, (num_probes, flat.shape[0]), flat.dtype)
    return jnp.mean(jax.vmap(lambda z: jnp.vdot(z, matvec(z)))(probes))


def hessian_eigenvalues_exact(loss_fn, params):
    """All eigenvalues [dim] (ascending) and unit eigenvectors [dim, dim] (column i for value i, in
    ravel_pytree order) of the dense Hessian. Memory and time grow as dim^2 and dim^3: small models only."""
    flat, unravel = ravel_pytree(params)
    hessian = jax.hessian(lambda x: loss_fn(unravel(x)))(flat)
    # Autodiff Hessians are symmetric only up to rounding; eigh reads one triangle, so symmetrise first.
    return jnp.linalg.eigh((hessian + hessian.T) / 2)
