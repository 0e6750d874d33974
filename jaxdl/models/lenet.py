"""LeNet-5 (LeCun et al. 1998) for 32x32x3 images (SVHN, CIFAR), 10 classes.

x [B, 32, 32, 3] -> conv5x5-6 'VALID' [B, 28, 28, 6] -> maxpool2 [B, 14, 14, 6]
-> conv5x5-16 'VALID' [B, 10, 10, 16] -> maxpool2 [B, 5, 5, 16] -> fc120 -> fc84 -> fc10 (logits).

Adaptations from the 1998 network:
* 3 input channels instead of 1; the layer sizes are unchanged because the paper already padded its
  28x28 digits to 32x32.
* ReLU and max-pooling instead of scaled tanh and trainable average-pool "subsampling": the modern
  reading of LeNet-5 (as in most CIFAR/SVHN baselines), and ReLU trains faster with plain SGD, so
  comparisons with the other zoo models are not confounded by slow saturating units.
* C3 is fully connected to all 6 maps (the paper's sparse connection table was a compute saving).
* A plain linear output layer (softmax cross-entropy) replaces the Gaussian RBF output units.

Parameters (10 classes): 62,006 = conv1 456 + conv2 2,416 + fc120 48,120 + fc84 10,164 + fc10 850.
Forward FLOPs per image (XLA count, flops.py): 1.32M.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


class LeNet5(nn.Module):
    """x: [B, 32, 32, C] -> logits [B, num_classes]."""

    num_classes: int = 10
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        conv = functools.partial(nn.Conv, kernel_size=(5, 5), padding="VALID", dtype=self.dtype,
                                 param_dtype=jnp.float32)
        dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=jnp.float32)
        for width in (6, 16):
            x = nn.max_pool(nn.relu(conv(width)(x)), (2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        for width in (120, 84):
            x = nn.relu(dense(width)(x))
        # Logits in float32: the loss's softmax is not where bf16 pays.
        return jnp.asarray(dense(self.num_classes)(x), jnp.float32)
