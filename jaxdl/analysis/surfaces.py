"""Loss surfaces of trained networks (Li et al. 2018; Goodfellow et al. 2015), every point a model on the
engine's model axis.

    d1 = filter_normalized(key1, params)                 # random, each filter scaled to its weights' norm
    d2 = filter_normalized(key2, params)
    planes = {"theta": thetas, "d1": d1s, "d2": d2s, "aux": aux}   # stacked over nets
    out = evaluate_plane(loss_fn, planes, coords, batch, grad=True, curvature_iters=10)
    out["loss"]                                          # [nets, points]: loss_fn(theta + a d1 + b d2, aux, batch)

A plane (theta, d1, d2) and a point (a, b) give the weights theta + a d1 + b d2: a 2-D surface is a grid of
points, a 1-D curve a line of them (b = 0), Goodfellow et al.'s interpolation from the initial weights
theta0 to the trained theta1 the line with d1 = theta0 - theta1 (a = 1 - t). `evaluate_plane` runs every
(net, point) pair as one member of one engine call (`engine.make_train`, one step): sharded over the
devices, vmapped or lax.mapped within each as the engine decides for the workload, one compiled program
for any number of points (`evaluate`: any list of (plane, point) pairs). Li et al.'s reference code
evaluates one point at a time.

Filter normalisation (Li et al. §4): a Gaussian direction d, each filter d_ij rescaled to
||d_ij|| = ||theta_ij||. A filter is one output unit's slice of a kernel: a conv kernel [H, W, I, O] or a
Dense kernel [I, O] has O filters, each the slice at one index of its last axis. Parameters with one axis
per filter or fewer (biases, batch-norm scales and offsets) get a zero direction, as their code's
`--xignore=biasbn`, the setting of every surface in the paper. Kernels stacked by `nn.scan` (a leading
block axis) pass `stacked_axes` so each block's filters are normalised alone.

Curvature: `curvature_iters` > 0 adds the extreme Hessian eigenvalues at every point by
`jaxdl.analysis.hessian.extreme_eigenvalues` (Lanczos on Hessian-vector products; the smallest Ritz value
bounds the true smallest eigenvalue from above, so a negative one proves negative curvature).
`plane_curvature` gives the eigenvalues of the Hessian restricted to the plane, by finite differences of a
surface grid at no extra cost: a negative one there is a direction of negative curvature of the full
Hessian too (v^T H v < 0 for a v in the plane), so its share of points bounds Li et al.'s map from below.

Convolutions and Hessian-vector products: forward-over-reverse differentiation of a convolution runs
XLA:CPU's gradient convolutions, which inside a loop (Lanczos' fori_loop, the engine's scan) take a naive
path (ResNet-20, 8 Lanczos steps on 128 images: 34 s), and `jaxdl.models.scan_conv`'s custom VJP admits no
forward mode. `MatmulConvs(model)` computes every nn.Conv as a matmul of its shifted views (im2col):
its derivatives of any order are matmuls, pads and slices (the same 8 steps: 1.9 s; same values).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.analysis import hessian
from jaxdl.models import scan_conv
from jaxdl.training import engine


def _path_text(path) -> str:
    return "/".join(str(getattr(k, "key", getattr(k, "name", k))) for k in path)


def filter_normalized(key: jax.Array, params, stacked_axes: Callable[[str], int] = lambda path: 0):
    """A random direction shaped like `params`: N(0, 1) entries, each filter rescaled to the norm of the
    same filter of `params` (see the module docstring); zero for parameters with <= 1 axis per filter
    (biases, BN). `stacked_axes(path)`: leading axes of that leaf that index stacked blocks (nn.scan), whose
    slices are normalised separately. Leaf i draws from fold_in(key, i): reproducible from the key."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    out = []
    for i, (path, w) in enumerate(leaves):
        lead = stacked_axes(_path_text(path))
        if w.ndim - lead <= 1:
            out.append(jnp.zeros_like(w))
            continue
        d = jax.random.normal(jax.random.fold_in(key, i), w.shape, w.dtype)
        within = tuple(range(lead, w.ndim - 1))  # a filter: one index of the last axis (and of the stacked ones)
        norm_w, norm_d = (jnp.sqrt(jnp.sum(jnp.square(x), axis=within, keepdims=True)) for x in (w, d))
        out.append(d * norm_w / (norm_d + 1e-10))
    return jax.tree.unflatten(treedef, out)


def plane(theta, d1, d2, alpha, beta):
    """theta + alpha d1 + beta d2, leaf by leaf."""
    return jax.tree.map(lambda t, u, v: t + alpha * u + beta * v, theta, d1, d2)


def grid_coords(limit: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(axis [points], coords [points^2, 2]): the square grid over [-limit, limit]^2, alpha fastest (row j
    of a reshaped [points, points] surface is beta = axis[j])."""
    axis = np.linspace(-limit, limit, points, dtype=np.float32)
    b, a = np.meshgrid(axis, axis, indexing="ij")
    return axis, np.stack([a.ravel(), b.ravel()], 1)


def plane_task(loss_fn: Callable, *, grad: bool = False, curvature_iters: int = 0) -> engine.Task:
    """An engine task whose member (hparams net, alpha, beta) is one point of net's plane; its one step
    records, at theta[net] + alpha d1[net] + beta d2[net]: `loss`, with `grad` `grad_norm`, with
    `curvature_iters` `eig_min` and `eig_max` (Lanczos). loss_fn(params, aux, batch) -> scalar, aux the
    net's own entry of data["aux"] (e.g. its activation or loss index). data: {"theta", "d1", "d2", "aux"
    (stacked over nets), "keys" [nets] (Lanczos start vectors), "batch"}."""

    def init(key, hp):
        del key
        return {"net": jnp.asarray(hp["net"], jnp.int32), "alpha": jnp.float32(hp["alpha"]),
                "beta": jnp.float32(hp["beta"])}

    def step(state, data, t):
        del t
        pick = lambda tree: jax.tree.map(lambda x: x[state["net"]], tree)  # noqa: E731
        aux = pick(data["aux"])
        params = plane(pick(data["theta"]), pick(data["d1"]), pick(data["d2"]), state["alpha"], state["beta"])
        fn = lambda p: loss_fn(p, aux, data["batch"])  # noqa: E731
        if grad:
            loss, g = jax.value_and_grad(fn)(params)
            metrics = {"loss": loss, "grad_norm": jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(g)))}
        else:
            metrics = {"loss": fn(params)}
        if curvature_iters:
            eig = hessian.extreme_eigenvalues(fn, params, pick(data["keys"]), curvature_iters)
            metrics |= {"eig_min": eig.min_value, "eig_max": eig.max_value}
        return state, metrics

    return engine.Task(init=init, step=step)


def evaluate(loss_fn: Callable, planes: dict, which, coords, batch, *, grad: bool = False, curvature_iters: int = 0,
             key: jax.Array | None = None, group=engine.AUTO, mesh=None) -> dict[str, np.ndarray]:
    """Point i = plane `which[i]` at coords[i] = (alpha, beta), every point a member of one engine call:
    {metric: [points]} (see `plane_task`). planes: {"theta", "d1", "d2", "aux"}, pytrees stacked over planes
    [planes, ...]; batch: the data loss_fn evaluates on, shared by every point. `key` (a raw PRNGKey) seeds
    the Lanczos start vectors (plane k: fold_in(key, k))."""
    count = jax.tree.leaves(planes["theta"])[0].shape[0]
    coords = np.asarray(coords, np.float32).reshape(-1, 2)
    key = jax.random.PRNGKey(0) if key is None else key  # a raw key: the engine's data are plain arrays
    data = {**planes, "batch": batch, "keys": jax.vmap(lambda k: jax.random.fold_in(key, k))(jnp.arange(count))}
    hparams = {"net": np.asarray(which, np.float32), "alpha": coords[:, 0], "beta": coords[:, 1]}
    trainer = _trainer(loss_fn, grad, curvature_iters, group, mesh)
    result = trainer(engine.seed_keys(np.zeros(len(coords), np.int64)), hparams, data, label="surface points")
    return {k: v[:, 0] for k, v in result.metrics.items()} | {"compile_s": result.compile_s}


@functools.lru_cache(maxsize=16)
def _trainer(loss_fn, grad, curvature_iters, group, mesh) -> engine.Trainer:
    """One trainer per probe: a second call with the same shapes reuses its compiled program."""
    return engine.make_train(plane_task(loss_fn, grad=grad, curvature_iters=curvature_iters), steps=1,
                             chunk_steps=1, record_every=1, group=group, mesh=mesh)


def evaluate_plane(loss_fn: Callable, planes: dict, coords, batch, **kwargs) -> dict[str, np.ndarray]:
    """Every point of `coords` [points, 2] on every plane, one engine call: {metric: [planes, points]}."""
    count = jax.tree.leaves(planes["theta"])[0].shape[0]
    coords = np.asarray(coords, np.float32)
    out = evaluate(loss_fn, planes, np.repeat(np.arange(count), len(coords)), np.tile(coords, (count, 1)), batch,
                   **kwargs)
    return {k: v if k == "compile_s" else v.reshape(count, len(coords)) for k, v in out.items()}


def plane_curvature(surface: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """(smallest, largest) eigenvalue [..., N-2, N-2] of the 2x2 Hessian of surface grids [..., N, N] (rows
    beta, columns alpha, both with step `spacing`) at their interior points, by central differences."""
    s = np.asarray(surface, np.float64)
    c = s[..., 1:-1, 1:-1]
    f_aa = (s[..., 1:-1, 2:] - 2 * c + s[..., 1:-1, :-2]) / spacing**2
    f_bb = (s[..., 2:, 1:-1] - 2 * c + s[..., :-2, 1:-1]) / spacing**2
    f_ab = (s[..., 2:, 2:] - s[..., 2:, :-2] - s[..., :-2, 2:] + s[..., :-2, :-2]) / (4 * spacing**2)
    mean, radius = (f_aa + f_bb) / 2, np.sqrt(((f_aa - f_bb) / 2) ** 2 + f_ab**2)
    return mean - radius, mean + radius


def eigen_ratio(eig_min, eig_max) -> np.ndarray:
    """Li et al.'s min/max eigenvalue ratio, signed: eig_min / |eig_max|. Below 0: negative curvature
    somewhere (<= -1 where even the largest eigenvalue is negative); near 0: convex-looking."""
    eig_min, eig_max = np.asarray(eig_min, np.float64), np.asarray(eig_max, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(eig_max) > 0, eig_min / np.abs(eig_max), np.where(eig_min < 0, -np.inf, 0.0))


# -- convolutions for Hessian-vector products ---------------------------------------------------------

def im2col_conv(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
                feature_group_count=1, **kwargs):
    """`lax.conv_general_dilated` for nn.Conv (NHWC input, HWIO kernel, no dilation or groups) as one matmul
    of the kernel with the input's kh*kw shifted views: derivatives of any order without a convolution."""
    plain = (feature_group_count == 1 and rhs.ndim == 4 and not kwargs.get("batch_group_count", 1) > 1
             and all(d is None or tuple(d) == (1, 1) for d in (lhs_dilation, rhs_dilation)))
    if not plain:
        raise NotImplementedError("im2col_conv: dilated or grouped convolutions")
    strides = tuple(int(s) for s in window_strides)
    if isinstance(padding, str):
        padding = jax.lax.padtype_to_pads(lhs.shape[1:3], rhs.shape[:2], strides, padding)
    kh, kw = rhs.shape[:2]
    xp = jnp.pad(lhs, ((0, 0), *(tuple(int(p) for p in pair) for pair in padding), (0, 0)))
    out_h, out_w = (xp.shape[1] - kh) // strides[0] + 1, (xp.shape[2] - kw) // strides[1] + 1
    taps = [xp[:, i:i + (out_h - 1) * strides[0] + 1:strides[0], j:j + (out_w - 1) * strides[1] + 1:strides[1]]
            for i in range(kh) for j in range(kw)]
    return jnp.einsum("bhwki,kio->bhwo", jnp.stack(taps, axis=3), rhs.reshape(kh * kw, *rhs.shape[2:]))


def _use_im2col(next_fun, args, kwargs, context):
    module = context.module
    if context.method_name == "__call__" and type(module) is nn.Conv and module.conv_general_dilated is None:
        clone = module.clone(parent=None, conv_general_dilated=im2col_conv)
        return clone.apply({"params": module.variables["params"]}, *args, **kwargs)
    return next_fun(*args, **kwargs)


class MatmulConvs(scan_conv.Intercepted):
    """A flax model whose every nn.Conv runs as `im2col_conv`: the same parameters and outputs (to float
    rounding), and Hessian-vector products that stay fast inside loops on XLA:CPU."""

    interceptor = staticmethod(_use_im2col)
