"""The auxiliary regression branch of seed 000 §4's CNN: regression targets (uint8 images [B, H, W, C],
labels [B] -> float32 [B, outputs]), the CE + λ·L2 objective, the task and the head's test error."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.data import batching
from jaxdl.models.cnn import SmallCNN
from jaxdl.models.scan_conv import ScanFriendlyConvs, wrap_for_backend
from jaxdl.tasks import classify
from jaxdl.training import losses, optim


def digit_value(images: jax.Array, labels: jax.Array) -> jax.Array:
    """The label as a number: [B, 1]."""
    del images
    return jnp.asarray(labels, jnp.float32)[:, None]


def centroid(images: jax.Array, labels: jax.Array) -> jax.Array:
    """Ink centre of mass (x, y) in image-size units, pixel centres at (i + 0.5) / size: [B, 2].
    An image without ink has its centroid at the middle (0.5, 0.5)."""
    del labels
    ink = jnp.asarray(images, jnp.float32).mean(-1)  # [B, H, W]
    h, w = ink.shape[1:]
    total = ink.sum((1, 2))
    xs, ys = (jnp.arange(w) + 0.5) / w, (jnp.arange(h) + 0.5) / h
    safe = jnp.where(total > 0, total, 1.0)
    cx = jnp.where(total > 0, ink.sum(1) @ xs / safe, 0.5)
    cy = jnp.where(total > 0, ink.sum(2) @ ys / safe, 0.5)
    return jnp.stack([cx, cy], -1)


def ink(images: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean pixel intensity in [0, 1]: [B, 1]."""
    del labels
    return jnp.asarray(images, jnp.float32).mean((1, 2, 3))[:, None] / 255.0


TARGETS = {"digit_value": digit_value, "centroid": centroid, "ink": ink}
TARGET_OUTPUTS = {"digit_value": 1, "centroid": 2, "ink": 1}


def target_stats(target: str, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std [outputs] of a target over a training split (host side, in blocks)."""
    fn = jax.jit(TARGETS[target])
    values = np.concatenate([np.asarray(fn(images[i:i + 4096], labels[i:i + 4096]))
                             for i in range(0, len(labels), 4096)])
    return values.mean(0).astype(np.float32), np.maximum(values.std(0), 1e-6).astype(np.float32)


def make_objective(target: str, mean, std):
    """CE + λ·L2 for classify.make_task; λ = hp["aux_weight"]. Its *value* is the CE alone (classify
    records it as the train loss, comparable across λ), its *gradient* that of CE + λ·L2:
    `l2 - stop_gradient(l2)` is exactly 0 in value and has l2's gradient."""
    fn = TARGETS[target]

    def objective(outputs, images, labels, hp):
        logits, regression = outputs
        l2 = jnp.mean(jnp.square(regression - (fn(images, labels) - mean) / std))
        aux_weight = hp.get("aux_weight", 0.0)  # classify's evaluation passes hp={} and keeps the logits
        return losses.softmax_ce(logits, labels) + aux_weight * (l2 - jax.lax.stop_gradient(l2)), logits

    return objective


def total_loss(model, params, images, labels, objective, aux_weight, mean, std) -> jax.Array:
    """The loss whose gradient training follows, CE + λ·L2, for one model (used by tests)."""
    outputs = model.apply({"params": params}, batching.normalize(images, mean, std), train=False)
    return objective(outputs, images, labels, {"aux_weight": aux_weight})[0]


def make_task(target: str, *, num_classes: int, input_shape, train_images, train_labels, optimizer: str,
              batch_size: int, eval_every: int, steps: int | None = None, scan_friendly: bool | None = None):
    """(model, engine Task) for one target; hparams per model: lr, aux_weight. `scan_friendly`: the
    SmallCNN's convolutions run as jaxdl.models.scan_conv's (None: on CPU only; False: flax's own)."""
    model = SmallCNN(num_classes=num_classes, regression_outputs=TARGET_OUTPUTS[target])
    model = wrap_for_backend(model) if scan_friendly is None else ScanFriendlyConvs(model) if scan_friendly else model
    t_mean, t_std = target_stats(target, train_images, train_labels)
    task = classify.make_task(
        model, optim.make_optimizer(optimizer), num_train=len(train_labels), batch_size=batch_size,
        input_shape=tuple(input_shape), mean=batching.channel_stats(train_images)[0],
        std=batching.channel_stats(train_images)[1], eval_every=eval_every, steps=steps,
        objective=make_objective(target, t_mean, t_std))
    return model, task


def head_test_mse(model, target: str, train, test, state) -> np.ndarray:
    """[M]: the regression head's MSE on the standardised target over the test split."""
    mean, std = batching.channel_stats(train.images)
    t_mean, t_std = target_stats(target, train.images, train.labels)
    x = jnp.asarray(test.images)
    z = (TARGETS[target](x, jnp.asarray(test.labels)) - t_mean) / t_std

    def mse(params, extra, x, z):
        _, regression = model.apply({"params": params, **extra}, batching.normalize(x, mean, std), train=False)
        return jnp.mean(jnp.square(regression - z))

    sequential = classify.one_model_at_a_time(model, train.shape)
    return np.asarray(classify.over_models(mse, sequential)(state["params"], state["extra"], x, z), np.float64)
