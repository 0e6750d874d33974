"""Two independent numerical probes of convexity for f: R^dim -> R, and the verdict they support.

1. Curvature: the smallest Hessian eigenvalue at many points (exact eigh for small dim, Lanczos on
   Hessian-vector products otherwise; see jaxdl/hessian.py).
2. Chords: midpoint convexity f((a+b)/2) <= (f(a)+f(b))/2 on many chords [a, b].

Neither probe can prove convexity; a violation beyond tolerance proves non-convexity, and comes with a
witness (points, value, gap) that can be re-evaluated without trusting the probe. Tolerances are relative
to the size of the quantities compared, so they mean the same thing at any scale of f. Run in float64
(`jax.enable_x64`): float32 rounding alone is ~1e-7 relative and would need tolerances that hide real,
small negative curvature.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxdl import hessian

EIGEN_METHODS = ("exact", "lanczos")


class EigenProbe(NamedTuple):
    """Per point i of n: min_value/max_value [n] extreme Hessian eigenvalues, min_vector [n, dim] unit
    eigenvector of min_value, rayleigh [n] = min_vector^T H min_vector recomputed by one HVP (an
    independent check of the eigensolver)."""

    min_value: jax.Array
    max_value: jax.Array
    min_vector: jax.Array
    rayleigh: jax.Array


def eigen_probe(f, points, *, method: str = "exact", key=None, num_iters: int = 40) -> EigenProbe:
    """Extreme Hessian eigenvalues of f at points [n, dim], vectorised over points.

    method "exact" builds the dense Hessian (dim^2 memory per point); "lanczos" needs `key` and uses
    num_iters HVPs per point. Lanczos can only under-report how negative the smallest eigenvalue is.
    """
    if method not in EIGEN_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(EIGEN_METHODS)}")

    def one(x, k):
        if method == "exact":
            values, vectors = hessian.hessian_eigenvalues_exact(f, x)
            lo, hi, v = values[0], values[-1], vectors[:, 0]
        else:
            ext = hessian.extreme_eigenvalues(f, x, k, num_iters)
            lo, hi, v = ext.min_value, ext.max_value, ext.min_vector
        return lo, hi, v, jnp.vdot(v, hessian.hvp(f, x, v))

    keys = jax.random.split(jax.random.key(0) if key is None else key, points.shape[0])
    return EigenProbe(*jax.vmap(one)(points, keys))


def eigen_tolerance(probe: EigenProbe, rtol: float) -> jax.Array:
    """[n] the most negative min eigenvalue still read as rounding: rtol times the spectral radius."""
    return rtol * jnp.maximum(jnp.abs(probe.min_value), jnp.abs(probe.max_value))


class ChordProbe(NamedTuple):
    """Per chord i of n: f_a, f_b, f_mid [n] and gap = f_mid - (f_a + f_b)/2 [n] (> 0 violates)."""

    f_a: jax.Array
    f_b: jax.Array
    f_mid: jax.Array
    gap: jax.Array


def midpoint_probe(f, a, b) -> ChordProbe:
    """Midpoint-convexity gaps of f on the chords between a [n, dim] and b [n, dim]."""
    f_batch = jax.vmap(f)
    f_a, f_b, f_mid = f_batch(a), f_batch(b), f_batch((a + b) / 2)
    return ChordProbe(f_a, f_b, f_mid, f_mid - (f_a + f_b) / 2)


def chord_tolerance(probe: ChordProbe, rtol: float, atol: float) -> jax.Array:
    """[n] the largest gap still read as rounding in evaluating f: relative to the values compared."""
    return rtol * (jnp.abs(probe.f_a) + jnp.abs(probe.f_b) + jnp.abs(probe.f_mid)) + atol


def verdict(num_eigen_probes: int, eigen_violations: int, num_chords: int, chord_violations: int,
            exact: bool) -> str:
    """One line per (model, loss) cell: 'not convex' when either probe has a violation, else what was
    checked. With Lanczos the no-violation case is weaker (a missed eigenvalue), and says so."""
    if eigen_violations or chord_violations:
        return (f"not convex ({eigen_violations}/{num_eigen_probes} points with a negative eigenvalue, "
                f"{chord_violations}/{num_chords} chords violating)")
    how = "exact Hessian" if exact else "Lanczos"
    return (f"no violation found in {num_eigen_probes} {how} probes (min eigenvalue >= -tol) "
            f"and {num_chords} chords")
