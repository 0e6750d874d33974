"""Convolutions that stay fast inside `lax.scan` on XLA:CPU, for any flax model.

XLA:CPU rewrites jax's gradient convolutions (dim_labels f01b_i01o->01bf) into its fast Eigen kernels
only outside loops; inside the engine's `lax.scan` they fall back to a naive loop. Measured on the cnn_aux
SmallCNN (benchmarks/cnn_bench.py, results/bench.md): 24.1 vs 2.7 model-steps/s, 9x. `scan_friendly_conv`
computes the same convolution with a custom VJP whose two gradient convolutions are written in the
canonical NHWC/HWIO form XLA:CPU keeps fast; `ScanFriendlyConvs(model)` runs every `nn.Conv` of a model
with it (same parameters, values and gradients: tests/test_cnn_aux.py). Only stride 1, no dilation, one
group takes the fast path; other convolutions (e.g. ResNet's stride-2 ones) run as flax's own.
GPUs do not need it: `wrap_for_backend` applies it on CPU only.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

_NHWC = ("NHWC", "HWIO", "NHWC")


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _conv_nhwc(x, w, pads):
    return jax.lax.conv_general_dilated(x, w, (1, 1), pads, dimension_numbers=_NHWC)


def _conv_nhwc_fwd(x, w, pads):
    return _conv_nhwc(x, w, pads), (x, w)


def _conv_nhwc_bwd(pads, residuals, g):
    x, w = residuals
    # d/dx: correlate g with the flipped kernel, in/out channels swapped.
    back = tuple((k - 1 - lo, k - 1 - hi) for k, (lo, hi) in zip(w.shape[:2], pads, strict=True))
    dx = jax.lax.conv_general_dilated(g, jnp.flip(w, (0, 1)).transpose(0, 1, 3, 2), (1, 1), back,
                                      dimension_numbers=_NHWC)
    # d/dw: x's channels as the batch, the batch as the features: [I, Hp, Wp, B] * [H, W, B, O] -> [I, kh, kw, O].
    xp = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    dw = jax.lax.conv_general_dilated(xp.transpose(3, 1, 2, 0), g.transpose(1, 2, 0, 3), (1, 1), "VALID",
                                      dimension_numbers=_NHWC)
    return dx, dw.transpose(1, 2, 0, 3).astype(w.dtype)


_conv_nhwc.defvjp(_conv_nhwc_fwd, _conv_nhwc_bwd)


def scan_friendly_conv(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                       dimension_numbers=None, feature_group_count=1, **kwargs):
    """`lax.conv_general_dilated` for flax's nn.Conv whose gradient convolutions are written in the
    canonical NHWC/HWIO form. XLA:CPU canonicalises jax's own gradient convolutions (dim_labels
    f01b_i01o->01bf) to its Eigen kernels only outside loops; inside the engine's lax.scan they fall
    back to a naive loop, ~7x slower per step (jax#12868; measured in benchmarks/cnn_bench.py).
    Same values and gradients (tested); anything but stride 1, no dilation, one group falls back."""
    plain = (tuple(window_strides) == (1, 1) and feature_group_count == 1 and rhs.ndim == 4
             and all(d is None or tuple(d) == (1, 1) for d in (lhs_dilation, rhs_dilation))
             and dimension_numbers == jax.lax.conv_dimension_numbers(lhs.shape, rhs.shape, _NHWC))
    if not plain:
        return jax.lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                            dimension_numbers, feature_group_count, **kwargs)
    if isinstance(padding, str):
        padding = jax.lax.padtype_to_pads(lhs.shape[1:3], rhs.shape[:2], window_strides, padding)
    return _conv_nhwc(lhs, rhs, tuple(tuple(int(p) for p in pair) for pair in padding))


def _use_scan_friendly_conv(next_fun, args, kwargs, context):
    module = context.module
    if (type(module) is nn.Conv and context.method_name == "__call__" and module.conv_general_dilated is None
            and module.has_variable("params", "kernel")):
        # The same Conv (padding, bias, dtype handling) on the same parameters, with our convolution.
        clone = module.clone(parent=None, conv_general_dilated=scan_friendly_conv)
        return clone.apply({"params": module.variables["params"]}, *args, **kwargs)
    return next_fun(*args, **kwargs)


class ScanFriendlyConvs:
    """Wraps a flax model (init/apply, as classify.make_task uses it) so that every nn.Conv inside runs
    with `scan_friendly_conv`. Parameters and outputs are those of the wrapped model."""

    def __init__(self, module: nn.Module):
        self.module = module

    def init(self, *args, **kwargs):
        return self.module.init(*args, **kwargs)

    def apply(self, *args, **kwargs):
        with nn.intercept_methods(_use_scan_friendly_conv):
            return self.module.apply(*args, **kwargs)


def wrap_for_backend(model: nn.Module):
    """`ScanFriendlyConvs(model)` on XLA:CPU, `model` itself elsewhere."""
    return ScanFriendlyConvs(model) if jax.default_backend() == "cpu" else model
