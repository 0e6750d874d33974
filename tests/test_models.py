"""Model zoo: exact parameter counts, output shapes, BN/precision behaviour, registry errors, FLOPs.

Big models are only traced (`jax.eval_shape`): counts and shapes need no allocation or compile. Real
forward passes run on the small models and on shrunk ResNet/VGG configurations of the same code.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.models import ACTIVATIONS, MLP, MODELS, PARAM_COUNTS, VGG, ResNet, SmallCNN, get_model
from jaxdl.models.alexnet import AlexNet
from jaxdl.models.flops import flops_per_example
from jaxdl.models.resnet import BasicBlock, Bottleneck

BATCH = 2
# Real inits use the "rbg" PRNG: XLA:CPU takes ~1 s to compile each threefry parameter initializer,
# which made these tests 5x slower; the models do not depend on the PRNG.
KEY = jax.random.key(0, impl="rbg")


def _inputs(*shape: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=shape).astype(np.float32)


@functools.cache
def _abstract_init(model, input_shape):
    x = jnp.zeros((1, *input_shape), jnp.float32)
    return jax.eval_shape(lambda key: model.init(key, x, train=False), jax.random.key(0))


def _count(params) -> int:
    return sum(leaf.size for leaf in jax.tree.leaves(params))


@pytest.mark.parametrize("name", list(PARAM_COUNTS))
def test_param_count_matches_documented_figure(name):
    input_shape, documented = PARAM_COUNTS[name]
    assert _count(_abstract_init(get_model(name, 10), input_shape)["params"]) == documented


def test_mnist_dense_net_has_111146_params():
    model = MLP(features=(128, 64, 32, 10), activation="relu")
    assert _count(_abstract_init(model, (784,))["params"]) == 111_146


def test_every_model_is_in_the_count_table():
    assert set(MODELS) == set(PARAM_COUNTS)


@pytest.mark.parametrize("name", list(PARAM_COUNTS))
@pytest.mark.parametrize("train", [False, True])
def test_output_is_float32_logits(name, train):
    input_shape, _ = PARAM_COUNTS[name]
    model = get_model(name, 10)
    variables = _abstract_init(model, input_shape)
    x = jax.ShapeDtypeStruct((BATCH, *input_shape), jnp.float32)
    # mutable=["batch_stats"] is what a train step passes; models without BN just return no updates.
    logits, _ = jax.eval_shape(
        lambda v, x: model.apply(v, x, train=train, mutable=["batch_stats"]), variables, x)
    assert (logits.shape, logits.dtype) == ((BATCH, 10), jnp.float32)


def _forward(model, x, **kw):
    """Init and eval-mode apply as one jitted program: eager flax compiles every op on its own, 10x slower."""
    return jax.jit(lambda x: model.apply(model.init(KEY, x, train=False), x, train=False, **kw))(x)


@pytest.mark.parametrize("name", ["mlp", "small_cnn", "lenet5"])
def test_small_models_forward(name):
    input_shape, _ = PARAM_COUNTS[name]
    logits = _forward(get_model(name, 10), _inputs(BATCH, *input_shape))
    assert logits.shape == (BATCH, 10)
    assert np.isfinite(logits).all()


def test_small_cnn_regression_head():
    model = SmallCNN(num_classes=10, regression_outputs=4)
    logits, regression = _forward(model, _inputs(BATCH, 32, 32, 3))
    assert logits.shape == (BATCH, 10) and regression.shape == (BATCH, 4)


TINY_BN_MODELS = {
    "resnet_basic": functools.partial(ResNet, stage_sizes=(1, 1), block_cls=BasicBlock, num_filters=4),
    "resnet_bottleneck": functools.partial(ResNet, stage_sizes=(1, 1), block_cls=Bottleneck, num_filters=4),
    "vgg": functools.partial(VGG, stages=((4,), (8, 8))),
}


@pytest.mark.parametrize("name", list(TINY_BN_MODELS))
def test_batch_norm_updates_statistics_only_in_training(name):
    model = TINY_BN_MODELS[name](num_classes=10)
    x = 3.0 + _inputs(4, 8, 8, 3)

    @jax.jit
    def run(x):
        variables = model.init(KEY, x, train=False)
        logits, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
        # Eval mode must use the running statistics: one example's logits must not depend on the batch.
        alone, batched = model.apply(variables, x[:1], train=False), model.apply(variables, x, train=False)
        return logits, variables["batch_stats"], updates["batch_stats"], alone, batched[:1]

    logits, before, after, alone, batched = run(x)
    assert logits.shape == (4, 10)
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)), before, after)))
    np.testing.assert_allclose(alone, batched, rtol=1e-5, atol=1e-5)


def test_bfloat16_computes_in_bf16_with_float32_params():
    model = TINY_BN_MODELS["resnet_bottleneck"](num_classes=10, dtype=jnp.bfloat16)
    x = jax.ShapeDtypeStruct((BATCH, 8, 8, 3), jnp.float32)
    variables = jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), x)
    assert {leaf.dtype for leaf in jax.tree.leaves(variables)} == {jnp.dtype(jnp.float32)}
    logits, state = jax.eval_shape(
        lambda v, x: model.apply(v, x, train=False, capture_intermediates=True), variables, x)
    assert state["intermediates"]["conv_init"]["__call__"][0].dtype == jnp.bfloat16
    assert logits.dtype == jnp.float32


def test_linear_mlp_is_affine():
    x = _inputs(3, 2)
    y = _forward(MLP(features=(16, 1), activation="none"), np.concatenate([0 * x, x, 2 * x]))
    np.testing.assert_allclose(y[6:] - y[:3], 2 * (y[3:6] - y[:3]), rtol=1e-5, atol=1e-5)


def test_xor_nets_for_every_activation():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], np.float32)
    nets = [MLP(features=(4, 1), activation=name) for name in ACTIVATIONS]
    # One program for all of them: a compile per activation would cost more than the test is worth.
    outputs = jax.jit(lambda x: [net.apply(net.init(KEY, x), x) for net in nets])(x)
    assert [y.shape for y in outputs] == [(4, 1)] * len(ACTIVATIONS)


def test_unknown_activation_lists_choices():
    with pytest.raises(ValueError, match="unknown activation 'gelu'.*sigmoid, tanh, relu"):
        MLP(features=(1,), activation="gelu")


def test_unknown_model_lists_choices():
    with pytest.raises(ValueError, match="unknown model 'resnet152'.*lenet5.*resnet101"):
        get_model("resnet152", 10)


def test_get_model_passes_options():
    model = get_model("mlp", 1, hidden=(16,), activation="tanh")
    assert (tuple(model.features), model.activation) == ((16, 1), "tanh")
    assert get_model("resnet18", 100, dtype=jnp.bfloat16).num_classes == 100


def test_dense_flops_match_closed_form():
    fan_in, fan_out = 100, 30
    model = nn.Dense(fan_out)
    variables = jax.eval_shape(lambda k: model.init(k, jnp.zeros((1, fan_in))), jax.random.key(0))
    flops = flops_per_example(model.apply, variables, (fan_in,))
    # XLA also counts the bias add (fan_out FLOPs): 1/(2 fan_in) = 0.5% above 2 fan_in fan_out.
    assert flops == pytest.approx(2 * fan_in * fan_out, rel=0.01)
    assert flops_per_example(model.apply, variables, (fan_in,), batch_size=32) == flops


@pytest.mark.parametrize("padding, counted_taps", [("VALID", 9 * 2 * 2), ("SAME", 4 * 4 + 8 * 6 + 4 * 9)])
def test_conv_flops_count_only_taps_inside_the_image(padding, counted_taps):
    # XLA skips the products with 'SAME' zero padding: on a 4x4 map a 3x3 conv counts 100 of 144 taps
    # (corners 4 taps, edges 6, centre 9), 31% under the textbook 2 k^2 cin cout h w.
    model = nn.Conv(8, (3, 3), padding=padding, use_bias=False)
    variables = jax.eval_shape(lambda k: model.init(k, jnp.zeros((1, 4, 4, 5))), jax.random.key(0))
    assert flops_per_example(model.apply, variables, (4, 4, 5)) == 2 * counted_taps * 5 * 8


def test_scanned_resnet_blocks_compute_what_unrolled_ones_do():
    # Blocks after a stage's first run as one nn.scan (compile time); unrolling keeps the parameters.
    kw = dict(stage_sizes=(1, 3), block_cls=BasicBlock, num_classes=10, num_filters=4)
    scanned, unrolled = ResNet(**kw), ResNet(**kw, unroll_blocks=True)
    x = 3.0 + _inputs(4, 8, 8, 3)

    @jax.jit
    def run(x):
        variables = scanned.init(KEY, x, train=False)
        return variables, [m.apply(variables, x, train=True, mutable=["batch_stats"]) for m in (scanned, unrolled)]

    variables, ((y1, s1), (y2, s2)) = run(x)
    kernels = variables["params"]["stage1_blocks"]["BasicBlock_0"]["Conv_0"]["kernel"]
    assert kernels.shape == (2, 3, 3, 8, 8)  # two repeated blocks, stacked
    assert not np.allclose(kernels[0], kernels[1])  # each block has its own initialisation
    np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), s1, s2)


def test_flops_of_a_scanned_resnet_need_the_unrolled_program():
    def count(stage_sizes, unroll=False):
        model = ResNet(stage_sizes=stage_sizes, block_cls=BasicBlock, num_classes=10, num_filters=4,
                       unroll_blocks=unroll)
        variables = _abstract_init(model, (8, 8, 3))
        return flops_per_example(lambda v, x: model.apply(v, x, train=False), variables, (8, 8, 3))

    base, block = count((1, 1)), count((1, 2)) - count((1, 1))  # a one-step scan is inlined
    # (within 5% of a block: XLA fuses the elementwise work of unrolled blocks a little differently)
    assert count((1, 3), unroll=True) == pytest.approx(base + 2 * block, abs=0.05 * block)
    # XLA counts a loop body once: the scanned program's count misses one of the two repeated blocks.
    assert count((1, 3)) < base + 1.5 * block


ZOO_SHRUNK = {  # the zoo's code at test size: real LeNet-5, narrow AlexNet, VGG and ResNets (scanned blocks)
    "lenet5": (get_model("lenet5", 10), (32, 32, 3)),
    "alexnet": (AlexNet(conv_widths=(8, 12, 16, 8, 8), fc_width=32), (32, 32, 3)),  # narrow
    "vgg": (VGG(stages=((4, 4), (8,), (8,)), num_classes=10), (8, 8, 3)),  # last stage on 2x2 maps
    "resnet_basic": (ResNet(stage_sizes=(2, 2, 2), block_cls=BasicBlock, num_filters=4), (16, 16, 3)),
    "resnet_bottleneck": (ResNet(stage_sizes=(2, 3), block_cls=Bottleneck, num_filters=4), (16, 16, 3)),
}


@pytest.mark.parametrize("name", list(ZOO_SHRUNK))
def test_fast_convolutions_give_flax_gradients_and_batch_statistics(name):
    from jaxdl.models.scan_conv import ScanFriendlyConvs

    model, shape = ZOO_SHRUNK[name]
    x, labels = jnp.asarray(_inputs(4, *shape)), jnp.arange(4) % 10
    variables = jax.jit(lambda: model.init(KEY, x, train=False))()
    if "batch_stats" not in variables:
        variables = {**variables, "batch_stats": {}}

    def grads(m):
        def loss(params):
            logits, upd = m.apply({**variables, "params": params}, x, train=True, mutable=["batch_stats"])
            return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(4), labels]), upd
        return jax.jit(jax.value_and_grad(loss, has_aux=True))(variables["params"])

    (loss_ref, stats_ref), g_ref = grads(model)
    (loss_fast, stats_fast), g_fast = grads(ScanFriendlyConvs(model))
    np.testing.assert_allclose(loss_fast, loss_ref, rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), stats_fast, stats_ref)
    scale = max(float(jnp.max(jnp.abs(g))) for g in jax.tree.leaves(g_ref))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5 * scale), g_fast, g_ref)


def test_resnet_without_skips_has_no_shortcuts_and_same_layers():
    kw = dict(stage_sizes=(1, 2), block_cls=BasicBlock, num_filters=4)
    with_skip = _abstract_init(ResNet(**kw), (8, 8, 3))["params"]
    plain = _abstract_init(ResNet(**kw, skip=False), (8, 8, 3))["params"]
    assert "conv_proj" in with_skip["stage1_block0"] and "conv_proj" not in plain["stage1_block0"]
    assert _count(with_skip) - _count(plain) == _count(with_skip["stage1_block0"]["conv_proj"]) + _count(
        with_skip["stage1_block0"]["norm_proj"])
    # A skip-less block is its body alone: relu(bn(conv(relu(bn(conv(x)))))).
    model = ResNet(**kw, skip=False, zero_init_last_bn=False)
    x = jnp.asarray(_inputs(2, 8, 8, 3))
    variables = jax.jit(lambda v: model.init(KEY, v, train=False))(x)
    y, _ = jax.jit(lambda v: model.apply(v, x, train=True, mutable=["batch_stats"]))(variables)
    assert np.isfinite(y).all() and not np.allclose(y, y[:1])
