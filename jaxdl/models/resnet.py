"""ResNet (He et al. 2015), CIFAR style, for 32x32x3 images (SVHN, CIFAR); defined once, as in the
flax imagenet example, with the depths as `functools.partial` variants.

Adaptations from the ImageNet network (as in the widely used CIFAR ResNets, e.g. kuangliu/pytorch-cifar):
* Stem: one 3x3/1 convolution (64) + BN + ReLU and no max-pool, instead of 7x7/2 + 3x3/2 max-pool,
  which would shrink a 32x32 image to 8x8 before the first block.
* Stages at 32x32, 16x16, 8x8, 4x4 with widths 64-128-256-512 (x4 outputs in Bottleneck blocks), then
  global average pool and Dense(num_classes).
Kept from the ImageNet recipe: stride on the 3x3 convolution of a Bottleneck ("v1.5"), 1x1 conv + BN
projection shortcuts only where the shape changes, convolutions without bias (BN follows each), BN
momentum 0.9 (PyTorch's 0.1), and each block's last BN scale initialised to 0 so every block starts
as the identity (Goyal et al. 2017; the flax example does the same). `skip=False` drops every shortcut
(a "plain" net of the same layers, for experiments/svhn_zoo/'s vanishing-gradient measurement); with
it, `zero_init_last_bn=False` keeps each block's output alive at initialisation.

Compile time: the identical blocks after each stage's first run as one `nn.scan` (stacked parameters,
as big_vision and MaxText scan their layers), so the compiled program holds two blocks per stage however
deep the stage is. ResNet-101's training chunk (2 seeds, engine on 2 CPU devices) compiles in 60 s
scanned against 642 s unrolled, ResNet-50's in 55 s against 120 s: XLA's compile time grows faster than
the program. `unroll_blocks=True` unrolls the
scan (same parameters): XLA's cost analysis counts a loop body once, so FLOP counts need it.

Parameters (10 classes; BN scale/bias counted, running statistics are `batch_stats`):
ResNet18 11,173,962 · ResNet34 21,282,122 · ResNet50 23,520,842 · ResNet101 42,512,970.
Forward FLOPs per image (XLA count, flops.py; excludes taps on the zero padding):
ResNet18 0.97G · ResNet34 2.01G · ResNet50 2.47G · ResNet101 4.78G.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

ModuleDef = Any


class BasicBlock(nn.Module):
    """3x3 conv-BN-ReLU, 3x3 conv-BN, + shortcut, ReLU. x: [B, H, W, C] -> [B, H/s, W/s, filters]."""

    filters: int
    conv: ModuleDef
    norm: ModuleDef
    strides: tuple[int, int] = (1, 1)
    skip: bool = True
    zero_init_last_bn: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = nn.relu(self.norm()(self.conv(self.filters, (3, 3), self.strides)(x)))
        y = _last_norm(self.norm, self.zero_init_last_bn)(self.conv(self.filters, (3, 3))(y))
        return nn.relu(y + _shortcut(x, y, self.conv, self.norm, self.strides) if self.skip else y)


class Bottleneck(nn.Module):
    """1x1 conv-BN-ReLU, 3x3/s conv-BN-ReLU, 1x1 conv (4 x filters)-BN, + shortcut, ReLU.
    x: [B, H, W, C] -> [B, H/s, W/s, 4 * filters]."""

    filters: int
    conv: ModuleDef
    norm: ModuleDef
    strides: tuple[int, int] = (1, 1)
    skip: bool = True
    zero_init_last_bn: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = nn.relu(self.norm()(self.conv(self.filters, (1, 1))(x)))
        y = nn.relu(self.norm()(self.conv(self.filters, (3, 3), self.strides)(y)))
        y = _last_norm(self.norm, self.zero_init_last_bn)(self.conv(4 * self.filters, (1, 1))(y))
        return nn.relu(y + _shortcut(x, y, self.conv, self.norm, self.strides) if self.skip else y)


def _last_norm(norm: Callable, zero_init: bool):
    """A block's last BN; scale 0 makes the block start as the identity (only meaningful with a skip:
    without one it would cut the signal and every gradient below it)."""
    return norm(scale_init=nn.initializers.zeros_init()) if zero_init else norm()


def _shortcut(x: jax.Array, y: jax.Array, conv: Callable, norm: Callable, strides) -> jax.Array:
    """Identity, or a 1x1/s conv + BN projection where the block changes the shape."""
    if x.shape == y.shape:
        return x
    return norm(name="norm_proj")(conv(y.shape[-1], (1, 1), strides, name="conv_proj")(x))


class _Repeated(nn.Module):
    """One block as an `nn.scan` body: (x, None) -> (block(x), None)."""

    block_cls: ModuleDef
    filters: int
    conv: ModuleDef
    norm: ModuleDef
    skip: bool = True
    zero_init_last_bn: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, _) -> tuple[jax.Array, None]:
        block = self.block_cls(self.filters, conv=self.conv, norm=self.norm, skip=self.skip,
                               zero_init_last_bn=self.zero_init_last_bn)
        return block(x), None


class ResNet(nn.Module):
    """x: [B, H, W, C] -> logits [B, num_classes]. `stage_sizes`: blocks per stage; stage i has
    `num_filters * 2**i` filters and (from the second stage on) halves the resolution."""

    stage_sizes: Sequence[int]
    block_cls: ModuleDef
    num_classes: int = 10
    num_filters: int = 64
    dtype: Any = jnp.float32
    unroll_blocks: bool = False
    skip: bool = True  # False: a "plain" net of the same layers (He et al.'s comparison), no shortcuts
    zero_init_last_bn: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype, param_dtype=jnp.float32)
        norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.9, epsilon=1e-5,
                                 dtype=self.dtype, param_dtype=jnp.float32)
        x = nn.relu(norm(name="bn_init")(conv(self.num_filters, (3, 3), name="conv_init")(x)))
        for i, block_count in enumerate(self.stage_sizes):
            filters, strides = self.num_filters * 2**i, (2, 2) if i > 0 else (1, 1)
            block = functools.partial(self.block_cls, filters, conv=conv, norm=norm, skip=self.skip,
                                      zero_init_last_bn=self.zero_init_last_bn)
            x = block(strides=strides, name=f"stage{i}_block0")(x)
            if block_count > 1:  # the rest keep the shape: one scanned block, parameters stacked on axis 0
                repeated = nn.scan(_Repeated, variable_axes={"params": 0, "batch_stats": 0},
                                   split_rngs={"params": True}, length=block_count - 1,
                                   unroll=block_count - 1 if self.unroll_blocks else 1)
                x, _ = repeated(self.block_cls, filters, conv, norm, self.skip, self.zero_init_last_bn,
                                name=f"stage{i}_blocks")(x, None)
        x = jnp.mean(x, axis=(1, 2))
        # Logits in float32: the loss's softmax is not where bf16 pays.
        return jnp.asarray(nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32)(x),
                           jnp.float32)


ResNet18 = functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), block_cls=BasicBlock)
ResNet34 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block_cls=BasicBlock)
ResNet50 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block_cls=Bottleneck)
ResNet101 = functools.partial(ResNet, stage_sizes=(3, 4, 23, 3), block_cls=Bottleneck)
