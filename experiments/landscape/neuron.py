"""One sigmoid neuron, p = sigmoid(w*x + b), under cross-entropy (CE) and L2 loss: its 1-D curves in the
logit, its (w, b) surface, Newton's minimum and batched gradient descent (experiments/landscape/).

Every gradient is `jax.grad`; the closed forms (dCE/dz = sigmoid(z) - y, dL2/dz = 2(sigmoid(z) - y)
sigmoid(z)(1 - sigmoid(z))) are only the check.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.training import losses

LOSSES = ("ce", "l2")


def closed_form_grad(loss: str, z, y):
    """dL/dz of the per-sample loss at z [n] for labels y, from the formulas in the seed's course."""
    s = jax.nn.sigmoid(z)
    return s - y if loss == "ce" else 2 * (s - y) * s * (1 - s)


def per_sample(loss: str, y: float):
    return lambda z: losses.BINARY_LOSSES[loss](z, jnp.asarray(y, z.dtype))


def curve(loss: str, z: jax.Array, y: float):
    """(loss [n], dL/dz [n]) of one sample with label y at every logit in z [n], by vmapped jax.grad."""
    return jax.vmap(jax.value_and_grad(per_sample(loss, y)))(z)


def derivatives(loss: str, z: jax.Array, y: float, order: int = 3) -> jax.Array:
    """[order, n]: d^k L/dz^k for k = 1..order at every z, by nested jax.grad."""
    out, f = [], per_sample(loss, y)
    for _ in range(order):
        f = jax.grad(f)
        out.append(jax.vmap(f)(z))
    return jnp.stack(out)


def sign_changes(z: np.ndarray, values: np.ndarray, atol: float) -> np.ndarray:
    """The z where `values` changes sign (midpoints of the bracketing grid points), ignoring entries
    with |value| <= atol: in the tails a derivative is rounding noise around 0, not a root."""
    keep = np.abs(values) > atol
    zs, s = z[keep], np.sign(values[keep])
    i = np.nonzero(np.diff(s))[0]
    return (zs[i] + zs[i + 1]) / 2


def extrema_and_inflections(z: np.ndarray, d: np.ndarray, rtol: float) -> tuple[list, list]:
    """(extrema z, inflection z) of a gradient curve dL/dz, from d = `derivatives` [3, n]: the sign changes
    of d2L/dz2 and d3L/dz3, each ignoring values within `rtol` of its maximum magnitude (rounding)."""
    return tuple(sign_changes(z, d[k], rtol * np.abs(d[k]).max()).tolist() for k in (1, 2))


def neuron_loss(loss: str, params: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean loss of the neuron with params [2] = (w, b) on the dataset x [m], y [m]."""
    return losses.BINARY_LOSSES[loss](params[0] * x + params[1], y)


def surface(loss: str, w: jax.Array, b: jax.Array, x, y):
    """(loss [len(b), len(w)], |grad L| [len(b), len(w)]) over the (w, b) grid; rows are b."""
    value_grad = jax.value_and_grad(lambda p: neuron_loss(loss, p, x, y))
    ww, bb = jnp.meshgrid(w, b)
    value, grad = jax.vmap(value_grad)(jnp.stack([ww.ravel(), bb.ravel()], -1))
    return value.reshape(ww.shape), jnp.linalg.norm(grad, axis=-1).reshape(ww.shape)


def descend(loss: str, starts: jax.Array, x, y, lr: float, steps: int):
    """Full-batch gradient descent from every start [s, 2] at once.

    Returns (path [s, steps + 1, 2], loss [s, steps + 1]); entry t is before step t.
    """
    value_grad = jax.value_and_grad(lambda p: neuron_loss(loss, p, x, y))

    def run(start):
        def step(p, _):
            value, grad = value_grad(p)
            return p - lr * grad, (p, value)

        last, (path, values) = jax.lax.scan(step, start, None, length=steps)
        return jnp.concatenate([path, last[None]]), jnp.concatenate([values, value_grad(last)[0][None]])

    return jax.vmap(run)(starts)


def minimum(loss: str, start: jax.Array, x, y, iters: int = 50):
    """(params [2], loss, Hessian eigenvalues [2]) at the minimum nearest `start`, by Newton's method.

    Started from the grid's best point, which already lies in the minimum's basin; Newton then removes
    the grid's discretisation error so the Hessian is read at the minimum itself.
    """
    f = lambda p: neuron_loss(loss, p, x, y)

    def newton(p, _):
        return p - jnp.linalg.solve(jax.hessian(f)(p), jax.grad(f)(p)), None

    p = jax.lax.scan(newton, start, None, length=iters)[0]
    return p, f(p), jnp.linalg.eigvalsh(jax.hessian(f)(p))


def steps_to_progress(values: np.ndarray, floor: float, fraction: float) -> np.ndarray:
    """[s] first step at which each loss curve values [s, T] has made `fraction` of its possible
    decrease (start -> floor); -1 where it never does."""
    target = values[:, :1] - fraction * (values[:, :1] - floor)
    reached = values <= target
    return np.where(reached.any(1), reached.argmax(1), -1)


def valley_floor(loss_grid: np.ndarray, w: np.ndarray, b: np.ndarray, ceiling: float):
    """Line b = slope * w + intercept through the per-w minimum over b of loss_grid [len(b), len(w)].

    Uses only columns whose minimum is inside the grid and below `ceiling` (the loss of a constant 0.5
    prediction): elsewhere the "floor" is the edge of a plateau, not a valley.
    Returns (slope, intercept, columns used).
    """
    rows = loss_grid.argmin(0)
    inside = (rows > 0) & (rows < len(b) - 1) & (loss_grid.min(0) < ceiling)
    if inside.sum() < 2:
        return float("nan"), float("nan"), int(inside.sum())
    slope, intercept = np.polyfit(w[inside], b[rows[inside]], 1)
    return float(slope), float(intercept), int(inside.sum())


def far_starts(keys: jax.Array, radius: tuple[float, float]) -> jax.Array:
    """[s, 2] one start per key: a uniform direction at a distance uniform in `radius` from the origin."""
    def one(key):
        k_angle, k_r = jax.random.split(key)
        angle = jax.random.uniform(k_angle, (), minval=0.0, maxval=2 * jnp.pi)
        r = jax.random.uniform(k_r, (), minval=radius[0], maxval=radius[1])
        return r * jnp.stack([jnp.cos(angle), jnp.sin(angle)])

    return jax.vmap(one)(keys)


@partial(jax.jit, static_argnums=(0, 8))
def landscape(loss: str, z, x, y, axis, starts, far, lr, steps: int, ray) -> dict:
    """Every array for one loss, in one compiled program (op by op it is ~190 small CPU compiles).

    z [n] 1-D grid; x, y [m] dataset; axis [g] grid of w and of b; starts [s, 2] the fixed starts,
    far [S, 2] the random far starts; ray [r] distances from the minimum towards starts[0].
    """
    out = {"curves": {}, "closed": {}, "derivatives": {}}
    for label in (1, 0):
        out["curves"][label] = curve(loss, z, label)
        out["closed"][label] = closed_form_grad(loss, z, label)
        out["derivatives"][label] = derivatives(loss, z, label)
    value, grad_norm = surface(loss, axis, axis, x, y)
    best = jnp.unravel_index(jnp.argmin(value), value.shape)
    p_min, l_min, eig = minimum(loss, jnp.stack([axis[best[1]], axis[best[0]]]), x, y)
    # Along a ray from the minimum towards the first start: does |grad L| die out or level off?
    u = (starts[0] - p_min) / jnp.linalg.norm(starts[0] - p_min)
    grad_norm_at = jax.vmap(lambda p: jnp.linalg.norm(jax.grad(neuron_loss, 1)(loss, p, x, y)))
    far_path, far_values = descend(loss, far, x, y, lr, steps)
    last = far_path[:, -1]
    return out | {
        "grid": (value, grad_norm), "min": (p_min, l_min, eig),
        "gd": descend(loss, starts, x, y, lr, steps),
        "far": {"values": far_values, "start_grad": grad_norm_at(far),
                "accuracy": jnp.mean(((last[:, :1] * x + last[:, 1:]) > 0) == (y > 0.5), axis=1)},
        "ray": grad_norm_at(p_min + ray[:, None] * u),
        "start_grad": grad_norm_at(starts),
        "chance": losses.BINARY_LOSSES[loss](jnp.zeros_like(y), y),  # the loss of predicting 0.5
    }
