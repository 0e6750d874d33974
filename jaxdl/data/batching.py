"""On-device shuffling, batching, normalisation and augmentation: pure jax, jit- and vmap-safe.

The dataset lives on the device once (images uint8 [N, H, W, C], labels int32 [N]); every step slices
its batch there, so training never goes back to the host. Each model has its own key, so when the
engine vmaps a step over models, each model sees its own order and its own crops.

Compute the permutation once per epoch (it sorts N keys), not once per step:

    def run_epoch(carry, epoch):
        perm = epoch_permutation(key, epoch, n)                        # int32 [N]
        def step(carry, i):
            x, y = get_batch(images, labels, perm, i, batch_size)      # uint8 [B, H, W, C], int32 [B]
            x = prepare(jax.random.fold_in(crop_key, epoch * steps + i), x, mean, std, crop_pad=2)
            ...
        return jax.lax.scan(step, carry, jnp.arange(steps))           # steps = n // batch_size
    jax.lax.scan(run_epoch, carry, jnp.arange(num_epochs))

Batches drop the remainder (shapes must be static): each epoch uses n // batch_size * batch_size
examples, every one at most once, and a different remainder is left out each epoch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    if batch_size < 1 or batch_size > num_examples:
        raise ValueError(f"batch_size must be in [1, {num_examples}], got {batch_size}")
    return num_examples // batch_size


def epoch_permutation(key: jax.Array, epoch, num_examples: int) -> jax.Array:
    """The order of epoch `epoch` (int or traced int32 scalar): int32 [num_examples]."""
    return jax.random.permutation(jax.random.fold_in(key, epoch), num_examples).astype(jnp.int32)


def get_batch(images: jax.Array, labels: jax.Array, perm: jax.Array, step, batch_size: int):
    """Batch `step` of the epoch ordered by perm: (images [B, ...], labels [B]); batch_size is static."""
    idx = jax.lax.dynamic_slice_in_dim(perm, step * batch_size, batch_size)
    return jnp.take(images, idx, axis=0), jnp.take(labels, idx, axis=0)


def normalize(images: jax.Array, mean, std) -> jax.Array:
    """uint8 [..., C] -> float32 (x / 255 - mean) / std, with mean, std per channel in [0, 1] units.

    mean = std = None: per-image standardisation instead, each image [H, W, C] of images [B, H, W, C] to
    mean 0 and std 1 over its pixels and channels, the std floored at 1/sqrt(H*W*C) so a flat image stays
    finite (tf.image.per_image_standardization's rule): it removes each photo's brightness and contrast,
    which in SVHN vary far more between images than between digits."""
    x = images.astype(jnp.float32) / 255.0
    if mean is None and std is None:
        axes = tuple(range(x.ndim - 3, x.ndim))
        floor = 1.0 / np.sqrt(np.prod(x.shape[-3:]))
        centred = x - jnp.mean(x, axis=axes, keepdims=True)
        return centred / jnp.maximum(jnp.std(x, axis=axes, keepdims=True), floor)
    return (x - jnp.asarray(mean, jnp.float32)) / jnp.asarray(std, jnp.float32)


def random_crop(key: jax.Array, images: jax.Array, pad: int) -> jax.Array:
    """Pads images [B, H, W, C] by `pad` (static) zeros on each side and crops back to [B, H, W, C]
    at an independent random offset per image. No flips: digits are not mirror-symmetric."""
    if pad == 0:
        return images
    b, h, w, _ = images.shape
    padded = jnp.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    offsets = jax.random.randint(key, (b, 2), 0, 2 * pad + 1)

    def crop(image, offset):
        return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, image.shape[-1]))

    return jax.vmap(crop)(padded, offsets)


def prepare(key: jax.Array, images: jax.Array, mean, std, crop_pad: int = 0) -> jax.Array:
    """Augment (random crop, if crop_pad > 0) then normalise: uint8 [B, H, W, C] -> float32."""
    if crop_pad:
        images = random_crop(key, images, crop_pad)
    return normalize(images, mean, std)


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (float32 [C], in [0, 1] units) of uint8 [N, H, W, C], on the host.

    Compute them on the training split only, then pass them to normalize/prepare.
    """
    x = np.asarray(images)
    flat = x.reshape(-1, x.shape[-1])
    total, total_sq = np.zeros(flat.shape[1]), np.zeros(flat.shape[1])
    # In blocks: a float64 copy of a whole 73k-image split would take ~2 GB.
    for start in range(0, len(flat), 1 << 20):
        block = flat[start : start + (1 << 20)].astype(np.float64) / 255.0
        total += block.sum(0)
        total_sq += np.square(block).sum(0)
    mean = total / len(flat)
    std = np.sqrt(np.maximum(total_sq / len(flat) - mean**2, 1e-12))
    return mean.astype(np.float32), std.astype(np.float32)
