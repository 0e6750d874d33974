"""SmallCNN: conv-pool-conv-pool-dense for 28x28x1 (MNIST-like) or 32x32x3 (CIFAR/SVHN-like) images.

Layers: conv3x3-32, relu, maxpool2, conv3x3-64, relu, maxpool2, dense-128, relu, then the heads:
a classification head (logits [B, num_classes]) and, when `regression_outputs` > 0, a regression head
[B, regression_outputs] on the same 128 features (e.g. to predict a box or a count beside the class).

Parameters on 28x28x1 with 10 classes (no regression head): 421,642
(conv1 320 + conv2 18,496 + dense 401,536 + logits 1,290); on 32x32x3: 545,098. The dense layer holds
95% of them, because 'SAME' convolutions keep a 7x7x64 (8x8x64) map to flatten.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


class SmallCNN(nn.Module):
    """x: [B, H, W, C] -> logits [B, num_classes], or (logits, regression [B, regression_outputs])."""

    num_classes: int
    regression_outputs: int = 0
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array | tuple[jax.Array, jax.Array]:
        conv = functools.partial(nn.Conv, kernel_size=(3, 3), dtype=self.dtype, param_dtype=jnp.float32)
        dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=jnp.float32)
        for width in (32, 64):
            x = nn.relu(conv(width)(x))
            x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = nn.relu(dense(128)(x.reshape((x.shape[0], -1))))
        # Heads in float32: losses on bf16 logits lose precision for no speed gain.
        logits = jnp.asarray(dense(self.num_classes, name="logits")(x), jnp.float32)
        if not self.regression_outputs:
            return logits
        return logits, jnp.asarray(dense(self.regression_outputs, name="regression")(x), jnp.float32)
