"""On-device batching: complete epochs, per-key orders, jit + vmap + scan, crops, normalisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.data import batching


def _epoch_indices(key, epoch, n, batch_size):
    """The example ids of every batch of one epoch, gathered inside jit with lax.scan: [steps, B]."""
    ids = jnp.arange(n)
    images = jnp.zeros((n, 4, 4, 1), jnp.uint8)

    def step(perm, i):
        _, y = batching.get_batch(images, ids, perm, i, batch_size)
        return perm, y

    perm = batching.epoch_permutation(key, epoch, n)
    return jax.lax.scan(step, perm, jnp.arange(n // batch_size))[1]


_epoch = jax.jit(_epoch_indices, static_argnums=(2, 3))


def test_every_example_once_per_epoch():
    seen = np.asarray(_epoch(jax.random.key(0), 0, 60, 12))
    assert seen.shape == (5, 12)
    np.testing.assert_array_equal(np.sort(seen.ravel()), np.arange(60))


def test_drop_remainder_never_repeats():
    seen = np.asarray(_epoch(jax.random.key(0), 0, 65, 12)).ravel()
    assert len(seen) == 60 and len(set(seen.tolist())) == 60
    assert batching.steps_per_epoch(65, 12) == 5
    with pytest.raises(ValueError):
        batching.steps_per_epoch(10, 11)


def test_same_key_same_order_other_key_or_epoch_other_order():
    a = np.asarray(_epoch(jax.random.key(1), 0, 60, 10))
    np.testing.assert_array_equal(a, np.asarray(_epoch(jax.random.key(1), 0, 60, 10)))
    assert not np.array_equal(a, np.asarray(_epoch(jax.random.key(2), 0, 60, 10)))
    assert not np.array_equal(a, np.asarray(_epoch(jax.random.key(1), 1, 60, 10)))


def test_vmapped_seeds_see_different_orders():
    keys = jax.random.split(jax.random.key(0), 4)
    orders = np.asarray(jax.jit(jax.vmap(_epoch_indices, (0, None, None, None)), static_argnums=(2, 3))(
        keys, 3, 40, 8))
    assert orders.shape == (4, 5, 8)
    flat = orders.reshape(4, -1)
    for row in flat:
        np.testing.assert_array_equal(np.sort(row), np.arange(40))
    assert len({row.tobytes() for row in flat}) == 4
    # Each vmapped model gets exactly the order it would get alone.
    np.testing.assert_array_equal(orders[2], np.asarray(_epoch(keys[2], 3, 40, 8)))


def test_get_batch_takes_images_and_labels_together():
    images = jnp.arange(10, dtype=jnp.uint8)[:, None, None, None] * jnp.ones((1, 2, 2, 1), jnp.uint8)
    labels = jnp.arange(10, dtype=jnp.int32)
    perm = batching.epoch_permutation(jax.random.key(5), 0, 10)
    x, y = jax.jit(batching.get_batch, static_argnums=4)(images, labels, perm, 1, 4)
    assert x.shape == (4, 2, 2, 1) and x.dtype == jnp.uint8
    np.testing.assert_array_equal(np.asarray(x[:, 0, 0, 0]), np.asarray(y))
    np.testing.assert_array_equal(np.asarray(y), np.asarray(perm[4:8]))


def test_normalize():
    x = jnp.array([[[[0, 255, 51]]]], jnp.uint8)
    out = batching.normalize(x, mean=[0.0, 0.5, 0.2], std=[1.0, 0.5, 0.1])
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out).ravel(), [0.0, 1.0, 0.0], atol=1e-6)


def test_per_image_standardisation_against_numpy():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (4, 6, 5, 3), np.uint8)
    x[2] = 77  # a flat image: its std is floored, so it maps to zeros, not NaN
    out = np.asarray(batching.normalize(jnp.asarray(x), None, None))
    ref = x.astype(np.float64) / 255
    mean = ref.mean(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(ref.std(axis=(1, 2, 3), keepdims=True), 1 / np.sqrt(6 * 5 * 3))
    np.testing.assert_allclose(out, (ref - mean) / std, atol=1e-5)
    np.testing.assert_allclose(out[2], 0.0, atol=1e-5)
    for i in (0, 1, 3):
        assert abs(out[i].mean()) < 1e-5 and out[i].std() == pytest.approx(1.0, abs=1e-5)
    # Each image alone: the batch does not leak into an image's statistics.
    np.testing.assert_allclose(np.asarray(batching.normalize(jnp.asarray(x[:1]), None, None)), out[:1], atol=1e-6)


def test_channel_stats_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 5, 5, 3), np.uint8)
    mean, std = batching.channel_stats(x)
    np.testing.assert_allclose(mean, (x / 255.0).mean((0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(std, (x / 255.0).std((0, 1, 2)), rtol=1e-4)


def test_random_crop_is_a_shifted_window_per_image():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (16, 6, 6, 2), np.uint8)
    pad = 2
    out = np.asarray(jax.jit(batching.random_crop, static_argnums=2)(jax.random.key(0), images, pad))
    assert out.shape == images.shape and out.dtype == np.uint8
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    offsets = []
    for b in range(16):
        matches = [(i, j) for i in range(2 * pad + 1) for j in range(2 * pad + 1)
                   if np.array_equal(padded[b, i:i + 6, j:j + 6], out[b])]
        assert matches, f"image {b} is not a window of its padded self"
        offsets.append(matches[0])
    assert len(set(offsets)) > 3  # independent offsets per image
    np.testing.assert_array_equal(batching.random_crop(jax.random.key(0), images, 0), images)


def test_prepare_under_vmap_gives_each_model_its_own_crops():
    images = jnp.asarray(np.random.default_rng(1).integers(0, 256, (8, 6, 6, 1), np.uint8))
    keys = jax.random.split(jax.random.key(0), 3)
    fn = jax.jit(jax.vmap(lambda k: batching.prepare(k, images, 0.5, 0.25, crop_pad=1)))
    out = np.asarray(fn(keys))
    assert out.shape == (3, 8, 6, 6, 1) and out.dtype == np.float32
    assert not np.array_equal(out[0], out[1])
