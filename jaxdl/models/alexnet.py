"""AlexNet (Krizhevsky et al. 2012) adapted to 32x32x3 images (SVHN, CIFAR), 10 classes.

The common CIFAR adaptation: the same 5 conv + 3 FC layers and conv widths 64-192-384-256-256
(torchvision's single-GPU widths), with kernels and strides shrunk so a 32x32 image is not reduced to
nothing by the 11x11/4 stem:

    x [B, 32, 32, 3]
    conv3x3/2-64   -> [B, 16, 16, 64]   maxpool2 -> [B, 8, 8, 64]
    conv3x3-192    -> [B, 8, 8, 192]    maxpool2 -> [B, 4, 4, 192]
    conv3x3-384    -> [B, 4, 4, 384]
    conv3x3-256    -> [B, 4, 4, 256]
    conv3x3-256    -> [B, 4, 4, 256]    maxpool2 -> [B, 2, 2, 256] -> flatten [B, 1024]
    fc4096 -> fc4096 -> fc10 (logits)

All convolutions 'SAME', ReLU after every layer but the last. Other adaptations: 2x2 non-overlapping
max-pooling instead of 3x3/2 overlapping, no local response normalisation (no measurable benefit, as
the VGG paper found), and dropout off by default (`dropout_rate`, classic value 0.5) so that every zoo
model applies without a PRNG key; with `dropout_rate` > 0 and train=True pass rngs={"dropout": key}.

Parameters (10 classes, the default widths): 23,272,266, of which the three FC layers hold 21,020,682 (90%).
Forward FLOPs per image (XLA count, flops.py): 102M, 41% of them in the FC layers.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


class AlexNet(nn.Module):
    """x: [B, 32, 32, C] -> logits [B, num_classes]."""

    num_classes: int = 10
    dropout_rate: float = 0.0
    dtype: Any = jnp.float32
    # The five convolutions' and the two hidden FC layers' widths; narrower ones keep the architecture at test size.
    conv_widths: tuple[int, int, int, int, int] = (64, 192, 384, 256, 256)
    fc_width: int = 4096

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        conv = functools.partial(nn.Conv, kernel_size=(3, 3), dtype=self.dtype, param_dtype=jnp.float32)
        dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=jnp.float32)
        pool = functools.partial(nn.max_pool, window_shape=(2, 2), strides=(2, 2))
        w = self.conv_widths
        x = pool(nn.relu(conv(w[0], strides=(2, 2))(x)))
        x = pool(nn.relu(conv(w[1])(x)))
        for width in w[2:]:
            x = nn.relu(conv(width)(x))
        x = pool(x).reshape((x.shape[0], -1))
        for _ in range(2):
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
            x = nn.relu(dense(self.fc_width)(x))
        # Logits in float32: the loss's softmax is not where bf16 pays.
        return jnp.asarray(dense(self.num_classes)(x), jnp.float32)
