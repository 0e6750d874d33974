"""Convolutions that stay fast inside `lax.scan` and `nn.scan` on XLA:CPU, for any flax model.

XLA:CPU runs jax's gradient convolutions (dim_labels f01b_i01o->01bf and the like) with its fast kernels
only outside loops; inside the engine's `lax.scan` or the ResNets' `nn.scan` over repeated blocks they
fall back to a naive loop: a plain jit of ResNet-18's gradient took 88x its forward. `scan_friendly_conv`
computes the same convolution with a custom VJP whose gradients avoid that path:
* dx: a stride-1 convolution, in the canonical NHWC/HWIO layout, of the cotangent dilated by the stride
  (`lhs_dilation`) with the flipped kernel;
* dw: per kernel tap, one matmul of the cotangent with the input's shifted (strided) view
  (`dot_general` never falls back; as a canonical convolution with the cotangent as a 32x32 kernel it
  ran slower, and an im2col of all taps spent more time copying than multiplying);
* the cotangent is computed into a buffer of its own first (`_materialized`): otherwise XLA fuses batch
  norm's backward into the transpose the dw matmuls need, and that fusion ran ~10x slower than the
  plain transpose (ResNet-18 trains ~1.17x faster with it, ResNet-50 1.08x; engine, 2026-12-04);
* 1x1 convolutions (ResNet projections, Bottleneck ends) are 2-D matmuls of the (strided) pixels; so is
  any convolution whose output map is smaller than its kernel (VGG's 2x2 maps), which XLA:CPU otherwise
  rewrites into a slow form, forward included.
Every stride and padding takes this path; dilated or grouped convolutions run as lax's own (none in the
zoo; a vmap over models batches our canonical convolutions into grouped canonical ones, which stay fast).
`ScanFriendlyConvs(model)` runs every `nn.Conv` of a model with it: same parameters, values and
gradients (tests/test_scan_conv.py, tests/test_models.py, tests/test_cnn_aux.py). GPUs use flax's own
convolution: `wrap_for_backend` applies it on CPU only.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

_NHWC = ("NHWC", "HWIO", "NHWC")


def _dilate(n: int, d: int) -> int:
    return 0 if n == 0 else (n - 1) * d + 1


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_nhwc(x, w, strides, pads):
    return jax.lax.conv_general_dilated(x, w, strides, pads, dimension_numbers=_NHWC)


def _conv_nhwc_fwd(x, w, strides, pads):
    return _conv_nhwc(x, w, strides, pads), (x, w)


def _materialized(t):
    """`t`, computed into a buffer of its own before anything reads it.

    XLA:CPU fuses the producer of a dw matmul's cotangent (batch norm's backward: an elementwise
    function of several operands) into the transpose the matmul needs, and that transposing fusion reads
    every operand with a stride: 28 ms per step for one 32x32x32x64 cotangent where a plain transpose of
    it takes ~2 ms, 16% of ResNet-18's step (profiled). A while loop is a fusion boundary; its trip count
    (1, or 0 if the first entry is NaN) is data XLA cannot fold, and its body adds the counter (0) so the
    loop is not forwarded away. The result equals `t` (-0.0 reads +0.0)."""
    first = t.reshape(-1)[0]
    trips = (first == first).astype(jnp.int32)
    return jax.lax.while_loop(lambda c: c[0] < trips, lambda c: (c[0] + 1, c[1] + c[0].astype(c[1].dtype)),
                              (jnp.int32(0), t))[1]


def _conv_nhwc_bwd(strides, pads, residuals, g):
    x, w = residuals
    g = _materialized(g)
    kernel, in_hw, out_hw = w.shape[:2], x.shape[1:3], g.shape[1:3]
    # d/dx: the cotangent dilated by the stride (zeros between its pixels), correlated with the flipped
    # kernel, in/out channels swapped. The padding is jax's own (_conv_general_vjp_lhs_padding).
    back = []
    for k, n, m, s, (lo, _) in zip(kernel, in_hw, out_hw, strides, pads, strict=True):
        before = k - 1 - lo
        back.append((before, n + k - 1 - _dilate(m, s) - before))
    dx = jax.lax.conv_general_dilated(g, jnp.flip(w, (0, 1)).transpose(0, 1, 3, 2), (1, 1), back,
                                      lhs_dilation=strides, dimension_numbers=_NHWC)
    # d/dw: per tap, one matmul of the cotangent with the tap's shifted (strided) view of the padded
    # input, contracting batch and pixels: [B, Ho, Wo, O] x [B, Ho, Wo, I] -> [O, I]. The cotangent is the
    # operand XLA transposes (once, shared by the kh*kw matmuls) and each view is used as it lies.
    # Stacking the views first ([B, Ho, Wo, kh*kw, I], an im2col 9x the input) for one matmul made XLA
    # copy and transpose that whole im2col: dw of a 32x32x64 -> 64 layer took 71 ms against 33 ms, and
    # ResNet-18's / ResNet-50's training steps 1.3x / 1.5x as long (plain jit, 2-step scan, side by side,
    # with the 1x1 change below; at 4x4 maps the two are within 20% either way). As a canonical
    # convolution (batch as features, the cotangent as the kernel) that dw took 56 ms; jax's own dw
    # convolution takes XLA:CPU's slow loop (3.8 s).
    xp = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    taps = [xp[:, i:i + _dilate(out_hw[0], strides[0]):strides[0], j:j + _dilate(out_hw[1], strides[1]):strides[1]]
            for i in range(kernel[0]) for j in range(kernel[1])]
    dw = jnp.stack([jnp.einsum("bhwo,bhwi->oi", g, tap) for tap in taps]).transpose(0, 2, 1)
    return dx, dw.reshape(w.shape).astype(w.dtype)


_conv_nhwc.defvjp(_conv_nhwc_fwd, _conv_nhwc_bwd)


def _conv_1x1(x, w, strides, pads):
    """A 1x1 convolution is a matmul over channels (of the strided pixels): dot_general, whose gradients
    are matmuls too, never a convolution."""
    if any(lo or hi for lo, hi in pads):
        x = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    x = x[:, ::strides[0], ::strides[1]]
    # As a 2-D matmul of [B*H*W, I] pixels: its gradient dw = x^T g is one plain matmul, which XLA:CPU ran
    # 1.2-1.5x faster than the einsum's contraction over (b, h, w) at 4 of 5 ResNet-50 shapes (equal at
    # the fifth).
    dtype = jnp.result_type(x, w)
    out = _matmul(x.reshape(-1, x.shape[-1]).astype(dtype), w[0, 0].astype(dtype))
    return out.reshape(*x.shape[:3], w.shape[-1])


def _conv_im2col(x, w, strides, pads):
    """The convolution as one matmul of the kh*kw shifted (strided) views with the kernel; for maps
    smaller than the kernel, where XLA:CPU rewrites a convolution (even the forward one) into a
    non-canonical form that takes its slow loop: VGG-16's 3x3 convolutions on 2x2 maps spent ~0.45 s each
    per step there, 85% of its step (profiled). Its gradients are matmuls and pads, never convolutions."""
    kh, kw = w.shape[:2]
    xp = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    out_h, out_w = (xp.shape[1] - kh) // strides[0] + 1, (xp.shape[2] - kw) // strides[1] + 1
    taps = [xp[:, i:i + _dilate(out_h, strides[0]):strides[0], j:j + _dilate(out_w, strides[1]):strides[1]]
            for i in range(kh) for j in range(kw)]
    return jnp.einsum("bhwki,kio->bhwo", jnp.stack(taps, axis=3), w.reshape(kh * kw, *w.shape[2:]))


def scan_friendly_conv(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                       dimension_numbers=None, feature_group_count=1, **kwargs):
    """`lax.conv_general_dilated` for flax's nn.Conv whose gradient convolutions are written in the
    canonical NHWC/HWIO form (strides as dilations of the cotangent), and 1x1 convolutions as matmuls.
    XLA:CPU runs jax's own gradient convolutions (dim_labels f01b_i01o->01bf) with its Eigen kernels
    only outside loops; inside the engine's lax.scan or a model's nn.scan they fall back to a naive loop
    (jax#12868; measured in benchmarks/cnn_bench.py and benchmarks/zoo_bench.py). Same values and
    gradients (tested). Dilated or grouped convolutions, and other layouts, run as lax's own."""
    plain = (feature_group_count == 1 and rhs.ndim == 4 and not kwargs.get("batch_group_count", 1) > 1
             and all(d is None or tuple(d) == (1, 1) for d in (lhs_dilation, rhs_dilation))
             and dimension_numbers == jax.lax.conv_dimension_numbers(lhs.shape, rhs.shape, _NHWC))
    if not plain:
        return jax.lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                            dimension_numbers, feature_group_count, **kwargs)
    strides = tuple(int(s) for s in window_strides)
    if isinstance(padding, str):
        padding = jax.lax.padtype_to_pads(lhs.shape[1:3], rhs.shape[:2], strides, padding)
    pads = tuple(tuple(int(p) for p in pair) for pair in padding)
    if rhs.shape[:2] == (1, 1):
        return _conv_1x1(lhs, rhs, strides, pads)
    out_hw = [(n + lo + hi - k) // st + 1 for n, (lo, hi), k, st in zip(lhs.shape[1:3], pads, rhs.shape[:2], strides,
                                                                         strict=True)]
    if out_hw[0] < rhs.shape[0] or out_hw[1] < rhs.shape[1]:
        return _conv_im2col(lhs, rhs, strides, pads)
    return _conv_nhwc(lhs, rhs, strides, pads)


@jax.custom_vjp
def _matmul(x, w):
    return jnp.einsum("...i,io->...o", x, w)


def _matmul_fwd(x, w):
    return _matmul(x, w), (x, w)


def _matmul_bwd(residuals, g):
    x, w = residuals
    # dw straight in the kernel's [in, out] order. jax's own transpose rule computes [out, in] and then
    # transposes; under the engine's vmap XLA:CPU runs that transpose as an elementwise loop: 1 s per
    # step for AlexNet's 4096x4096 kernel, 85% of its step (profiled).
    dw = jnp.einsum("...i,...o->io", x, g)
    return jnp.einsum("...o,io->...i", g, w).astype(x.dtype), dw.astype(w.dtype)


_matmul.defvjp(_matmul_fwd, _matmul_bwd)


def scan_friendly_dot(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, **kwargs):
    """`lax.dot_general` for flax's nn.Dense (x [..., in] . kernel [in, out]) with the kernel gradient
    computed in the kernel's own layout; any other contraction runs as lax's own."""
    plain = (rhs.ndim == 2 and tuple(map(tuple, dimension_numbers[0])) == ((lhs.ndim - 1,), (0,))
             and not any(dimension_numbers[1]) and lhs.dtype == rhs.dtype
             and preferred_element_type in (None, lhs.dtype) and not kwargs)
    if not plain:
        return jax.lax.dot_general(lhs, rhs, dimension_numbers, precision=precision,
                                   preferred_element_type=preferred_element_type, **kwargs)
    return _matmul(lhs, rhs)


def _use_scan_friendly_conv(next_fun, args, kwargs, context):
    module = context.module
    if context.method_name != "__call__" or not module.has_variable("params", "kernel"):
        return next_fun(*args, **kwargs)
    # The same Conv/Dense (padding, bias, dtype handling) on the same parameters, with our convolution
    # or matmul.
    if type(module) is nn.Conv and module.conv_general_dilated is None:
        clone = module.clone(parent=None, conv_general_dilated=scan_friendly_conv)
    elif type(module) is nn.Dense and module.dot_general is None and module.dot_general_cls is None:
        clone = module.clone(parent=None, dot_general=scan_friendly_dot)
    else:
        return next_fun(*args, **kwargs)
    return clone.apply({"params": module.variables["params"]}, *args, **kwargs)


class Intercepted:
    """A flax model (init/apply, as classify.make_task uses it) whose `apply` runs under the class's method
    `interceptor` (nn.intercept_methods), e.g. to swap the convolution every nn.Conv calls. Parameters are
    the wrapped model's."""

    interceptor = None  # (next_fun, args, kwargs, context) -> output; set by each subclass

    def __init__(self, module: nn.Module):
        self.module = module

    def init(self, *args, **kwargs):
        return self.module.init(*args, **kwargs)

    def apply(self, *args, **kwargs):
        with nn.intercept_methods(type(self).interceptor):
            return self.module.apply(*args, **kwargs)


class ScanFriendlyConvs(Intercepted):
    """Every nn.Conv (and nn.Dense) of the wrapped model runs with `scan_friendly_conv` (`scan_friendly_dot`).
    Parameters and outputs are those of the wrapped model."""

    interceptor = staticmethod(_use_scan_friendly_conv)


def wrap_for_backend(model: nn.Module):
    """`ScanFriendlyConvs(model)` on XLA:CPU, `model` itself elsewhere."""
    return ScanFriendlyConvs(model) if jax.default_backend() == "cpu" else model
