"""The zoo's one training recipe: its schedule and decay against closed forms, and bf16 training (the GPU
default) run end to end on CPU."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxdl.tasks import recipe
from jaxdl.training import engine


def test_sgd_learning_rate_scales_linearly_with_the_batch_and_adams_does_not():
    assert recipe.peak_lr(recipe.Recipe(optimizer="sgd", peak_lr=0.05, batch_size=128)) == pytest.approx(0.05)
    assert recipe.peak_lr(recipe.Recipe(optimizer="sgd", peak_lr=0.05, batch_size=16)) == pytest.approx(0.00625)
    assert recipe.peak_lr(recipe.Recipe(optimizer="adam", peak_lr=1e-3, batch_size=16)) == 1e-3


def test_adam_is_adamw_with_the_recipes_schedule():
    r = recipe.Recipe(optimizer="adam", peak_lr=1e-3, batch_size=16, weight_decay=0.0, warmup_fraction=0.5)
    params = {"w": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.array([0.3, -0.4])}
    opt = recipe.optimizer(r, 4)
    state = opt.init(params)
    for _ in range(2):  # warm-up over 2 steps: lr 0, then 0.5e-3
        updates, state = opt.update(grads, state, params)
    # Adam's second step with a constant gradient moves each weight by lr x sign(g) (bias-corrected m/sqrt(v)).
    np.testing.assert_allclose(np.asarray(updates["w"]), [-0.5e-3, 0.5e-3], rtol=1e-4)


def test_bad_recipe_choices_name_the_choices():
    with pytest.raises(ValueError, match="choose one of adam, sgd"):
        recipe.optimizer(recipe.Recipe(optimizer="rmsprop"), 10)
    images = np.zeros((8, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="choose one of image, channel"):
        recipe.make_task("lenet5", recipe.Recipe(standardize="global"), steps=2, train=(images, np.zeros(8)),
                         eval_size=8, num_classes=10, eval_every=None)


@pytest.mark.parametrize("zero_init", [False, True])
def test_zero_init_residual_reaches_the_resnets_last_batch_norms(zero_init):
    images = np.zeros((8, 32, 32, 3), np.uint8)
    _, task = recipe.make_task("resnet18", recipe.Recipe(zero_init_residual=zero_init, batch_size=8), steps=2,
                               train=(images, np.zeros(8, np.int32)), eval_size=8, num_classes=10, eval_every=None)
    params = jax.jit(task.init)(jax.random.key(0), {})["params"]
    last = params["stage0_block0"]["BatchNorm_1"]["scale"]  # the first block's second (last) BN
    np.testing.assert_array_equal(np.asarray(last), 0.0 if zero_init else 1.0)


def test_schedule_warms_up_linearly_then_follows_a_cosine_to_zero():
    r = recipe.Recipe(peak_lr=0.1, batch_size=128, warmup_fraction=0.1)
    lr = recipe.schedule(r, 100)
    assert float(lr(0)) == 0.0
    np.testing.assert_allclose(float(lr(5)), 0.05, rtol=1e-6)  # half-way up the 10 warm-up steps
    np.testing.assert_allclose(float(lr(10)), 0.1, rtol=1e-6)
    for t in (30, 55, 80):  # cosine over the remaining 90 steps
        np.testing.assert_allclose(float(lr(t)), 0.05 * (1 + math.cos(math.pi * (t - 10) / 90)), rtol=1e-5)
    assert float(lr(100)) == pytest.approx(0.0, abs=1e-9)


def test_a_tiny_budget_still_gets_one_warm_up_step():
    lr = recipe.schedule(recipe.Recipe(peak_lr=0.1, batch_size=128), 2)
    assert float(lr(0)) == 0.0 and float(lr(1)) == pytest.approx(0.1)


@pytest.mark.parametrize("optimizer", recipe.OPTIMIZERS)
def test_weight_decay_reaches_kernels_only(optimizer):
    params = {"conv": {"kernel": jnp.ones((3, 3, 1, 2)), "bias": jnp.ones(2)}, "bn": {"scale": jnp.ones(2)}}
    grads = jax.tree.map(jnp.zeros_like, params)
    opt = recipe.optimizer(recipe.Recipe(optimizer=optimizer, peak_lr=0.1, batch_size=128, weight_decay=0.5,
                                         warmup_fraction=0.0), 10)
    updates, _ = opt.update(grads, opt.init(params), params)
    new = optax.apply_updates(params, updates)
    # Zero gradient: only the decay moves a parameter; step 0 of the schedule has lr 0, so run a second step.
    assert jax.tree.map(lambda a, b: bool(jnp.all(a == b)), params, new) == jax.tree.map(lambda _: True, params)
    state = opt.init(params)
    for _ in range(2):
        updates, state = opt.update(grads, state, params)
    moved = optax.apply_updates(params, updates)
    assert bool(jnp.all(moved["conv"]["kernel"] < 1.0))
    assert bool(jnp.all(moved["conv"]["bias"] == 1.0)) and bool(jnp.all(moved["bn"]["scale"] == 1.0))


def test_unknown_dtype_names_the_choices():
    with pytest.raises(ValueError, match="choose auto or one of float32, bfloat16"):
        recipe.compute_dtype("float16")
    assert recipe.compute_dtype("auto") == jnp.float32  # the tests run on CPU


def _train(dtype, steps=40):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 256).astype(np.int32)
    # Two classes a LeNet separates quickly: bright vs dark images, with noise.
    images = np.clip(rng.normal(80 + 100 * labels[:, None, None, None], 30, (256, 32, 32, 3)), 0, 255).astype(np.uint8)
    # Brightness is the signal here, which per-image standardisation would remove: per-channel statistics.
    r = recipe.Recipe(optimizer="sgd", peak_lr=0.05, batch_size=32, crop_pad=2, standardize="channel")
    _, task = recipe.make_task("lenet5", r, steps=steps, train=(images, labels), eval_size=64,
                               num_classes=2, eval_every=None, dtype=dtype)
    trainer = engine.make_train(task, steps=steps, chunk_steps=steps, record_every=steps // 4, group=1)
    return trainer(engine.seed_keys([0, 1]), {}, recipe.device_data((images, labels), images[:64], labels[:64]))


def test_bfloat16_compute_trains_like_float32_and_keeps_float32_params():
    f32, bf16 = _train(jnp.float32), _train(jnp.bfloat16)
    assert {leaf.dtype for leaf in jax.tree.leaves(bf16.state["params"])} == {np.dtype(np.float32)}
    loss16, loss32 = bf16.metrics["loss"], f32.metrics["loss"]
    assert np.isfinite(loss16).all() and (bf16.diverged_at < 0).all()
    assert (loss16[:, -1] < 0.5 * loss16[:, 0]).all()  # it learns
    # Same seeds, same batches: bf16 rounding moves the trajectory only a little.
    np.testing.assert_allclose(loss16[:, 0], loss32[:, 0], rtol=0.02)
    assert np.abs(loss16[:, -1] - loss32[:, -1]).max() < 0.1
