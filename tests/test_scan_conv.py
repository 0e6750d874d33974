"""scan_friendly_conv: lax's values and gradients for every stride, padding and kernel the zoo uses, inside
loops and under vmap, with every gradient convolution in the canonical NHWC/HWIO layout."""

import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.models import scan_conv
from jaxdl.models.scan_conv import ScanFriendlyConvs, scan_friendly_conv

NHWC = ("NHWC", "HWIO", "NHWC")


def _lax(x, w, strides, padding):
    return jax.lax.conv_general_dilated(x, w, strides, padding, dimension_numbers=NHWC)


def _fast(x, w, strides, padding):
    dn = jax.lax.conv_dimension_numbers(x.shape, w.shape, NHWC)
    return scan_friendly_conv(x, w, strides, padding, dimension_numbers=dn)


CASES = [  # kernel, strides, padding, input [B, H, W, C]
    ((3, 3), (2, 2), "SAME", (2, 9, 8, 3)),  # a stride that does not divide the padded height
    ((3, 3), (2, 2), ((1, 1), (1, 1)), (2, 8, 8, 4)),  # ResNet's 3x3/2
    ((3, 2), (1, 2), ((2, 0), (0, 1)), (1, 7, 6, 2)),  # asymmetric everything
    ((5, 5), (1, 1), "VALID", (2, 12, 12, 3)),  # LeNet-5
    ((1, 1), (2, 2), "SAME", (2, 8, 8, 6)),  # ResNet's 1x1/2 projection
    ((1, 1), (1, 1), "VALID", (2, 5, 5, 6)),  # Bottleneck's 1x1
    ((1, 1), (2, 2), ((1, 0), (0, 1)), (1, 5, 5, 2)),  # a padded 1x1
    ((3, 3), (1, 1), "SAME", (2, 2, 2, 4)),  # VGG's last stage: a map smaller than the kernel
    ((3, 3), (2, 2), ((1, 1), (1, 1)), (2, 3, 3, 4)),  # the same, strided
]


@pytest.mark.parametrize("kernel, strides, padding, shape", CASES)
def test_values_and_gradients_match_lax_inside_a_scan_and_under_vmap(kernel, strides, padding, shape):
    kx, kw, kg = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(kx, (3, *shape))  # 3 models' inputs and kernels, for the vmap
    w = jax.random.normal(kw, (3, *kernel, shape[-1], 5))

    def looped(conv):
        def loss(x, w):  # two trips of a scan: the place where XLA:CPU's own gradients fall back
            def body(h, _):
                return h, jnp.sum(jnp.sin(conv(h, w, strides, padding)))
            return jnp.sum(jax.lax.scan(body, x, None, length=2)[1])
        return jax.jit(jax.vmap(jax.value_and_grad(loss, argnums=(0, 1))))

    (v_ref, g_ref), (v_fast, g_fast) = looped(_lax)(x, w), looped(_fast)(x, w)
    np.testing.assert_allclose(v_fast, v_ref, rtol=1e-5, atol=1e-4)
    for a, b in zip(g_fast, g_ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_every_gradient_convolution_of_a_resnet_is_canonical():
    from jaxdl.models.resnet import Bottleneck, ResNet

    model = ResNet(stage_sizes=(2, 2), block_cls=Bottleneck, num_filters=4)
    x = jnp.ones((2, 8, 8, 3))
    params = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), x, train=False))

    def loss(variables):
        return ScanFriendlyConvs(model).apply(variables, x, train=True, mutable=["batch_stats"])[0].sum()

    text = str(jax.make_jaxpr(jax.grad(loss))(params))  # nested jaxprs (scan, custom_vjp) included
    convs = re.findall(r"conv_general_dilated\[(.*?)\n\s*\]", text, flags=re.S)
    # the 3x3 convolutions: 5 in the program (the scanned block's once), each forward + dx (dw is a
    # matmul, as are the 1x1s)
    assert len(convs) == 2 * 5
    for params_text in convs:
        assert "lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2)" in params_text
        assert "feature_group_count=1" in params_text


def test_materialized_returns_its_input_and_stays_a_loop_xla_cannot_fold():
    t = jax.random.normal(jax.random.PRNGKey(3), (2, 4, 4, 3))
    nan_first = t.at[0, 0, 0, 0].set(jnp.nan)  # trip count 0: still the input
    for value in (t, nan_first):
        np.testing.assert_array_equal(jax.jit(scan_conv._materialized)(value), value)  # NaN where NaN
    # The point is the fusion boundary: the optimised program must still hold the loop.
    compiled = jax.jit(lambda v: scan_conv._materialized(v * 2.0).T).lower(t[0, 0]).compile().as_text()
    assert "while" in compiled


def test_grouped_and_dilated_convolutions_fall_back_to_lax():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 6, 4))
    for conv in (nn.Conv(4, (3, 3), feature_group_count=2), nn.Conv(4, (3, 3), kernel_dilation=2)):
        params = conv.init(jax.random.PRNGKey(1), x)
        np.testing.assert_allclose(ScanFriendlyConvs(conv).apply(params, x), conv.apply(params, x), rtol=1e-6)


def test_wrap_for_backend_wraps_on_cpu_only():
    model = nn.Conv(2, (3, 3))
    wrapped = scan_conv.wrap_for_backend(model)
    assert isinstance(wrapped, ScanFriendlyConvs) == (jax.default_backend() == "cpu")


@pytest.mark.parametrize("kernel, strides", [((1, 1), (2, 2)), ((3, 3), (2, 2))])
def test_bfloat16_convolutions_keep_flax_dtypes_and_values(kernel, strides):
    """bf16 compute with f32 parameters (the zoo's accelerator setting): outputs in bf16 and parameter
    gradients in f32, as flax's own convolution gives them, and the same values to bf16 rounding."""
    conv = nn.Conv(6, kernel, strides, use_bias=False, dtype=jnp.bfloat16, param_dtype=jnp.float32)
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 4))
    params = conv.init(jax.random.PRNGKey(1), x)

    def value_and_grad(model):
        return jax.jit(jax.value_and_grad(lambda p: jnp.sum(jnp.sin(model.apply(p, x).astype(jnp.float32)))))(params)

    (v_ref, g_ref), (v_fast, g_fast) = value_and_grad(conv), value_and_grad(ScanFriendlyConvs(conv))
    assert ScanFriendlyConvs(conv).apply(params, x).dtype == jnp.bfloat16
    assert g_fast["params"]["kernel"].dtype == jnp.float32
    np.testing.assert_allclose(v_fast, v_ref, rtol=2e-2, atol=0.2)
    np.testing.assert_allclose(g_fast["params"]["kernel"], g_ref["params"]["kernel"], rtol=5e-2, atol=0.2)
