"""VGG (Simonyan & Zisserman 2014) adapted to 32x32x3 images (SVHN, CIFAR): VGG-16, 10 classes.

The 13 convolutions of configuration D are kept (3x3 'SAME', widths 64,64 | 128,128 | 256x3 | 512x3 |
512x3, a 2x2 max-pool after each stage), so a 32x32 image ends as [B, 1, 1, 512]. Adaptations:
* Batch norm after every convolution (then ReLU). VGG-16 without it does not train reliably from
  scratch (the paper initialised it from a trained VGG-11); with it, plain SGD works. The convolutions
  then have no bias: BN's mean subtraction would cancel it.
* The classifier is a single Dense 512 -> num_classes. The 4096-4096 head was sized for 7x7x512
  ImageNet features (102M parameters); on 1x1x512 it would only add parameters to overfit.

Parameters (10 classes): 14,724,042 = convolutions 14,710,464 + BN scale/bias 8,448 + classifier 5,130
(BN running statistics live in `batch_stats`, not counted). The widely quoted CIFAR VGG-16 figure,
14,728,266, keeps the 4,224 redundant conv biases. Forward FLOPs per image (XLA count, flops.py): 496M.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


class VGG(nn.Module):
    """Stages of 3x3 conv-BN-ReLU layers (`stages`: widths per stage), each stage followed by a 2x2
    max-pool, global average pool, then Dense(num_classes). x: [B, H, W, C] -> logits [B, num_classes]."""

    stages: Sequence[Sequence[int]]
    num_classes: int = 10
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        conv = functools.partial(nn.Conv, kernel_size=(3, 3), use_bias=False, dtype=self.dtype,
                                 param_dtype=jnp.float32)
        norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.9, epsilon=1e-5,
                                 dtype=self.dtype, param_dtype=jnp.float32)
        for widths in self.stages:
            for width in widths:
                x = nn.relu(norm()(conv(width)(x)))
            x = nn.max_pool(x, (2, 2), strides=(2, 2))
        # A no-op on 32x32 input (1x1 left); lets larger inputs reach the same classifier.
        x = jnp.mean(x, axis=(1, 2))
        # Logits in float32: the loss's softmax is not where bf16 pays.
        return jnp.asarray(nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32)(x),
                           jnp.float32)


VGG16 = functools.partial(VGG, stages=((64, 64), (128, 128), (256,) * 3, (512,) * 3, (512,) * 3))
