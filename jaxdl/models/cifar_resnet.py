"""The CIFAR-10 nets of He et al. 2016 (§4.2): 6n+2 weighted layers, plain or residual, with or without BN.

    x -> conv3x3(w0) [-BN] -ReLU -> stage 0: n blocks of width w0 -> stage 1: n blocks of w1 (the first with
    stride 2) -> stage 2: n blocks of w2 (stride 2) -> global average pool -> Dense(num_classes)

Each block is conv3x3 [-BN] -ReLU -conv3x3 [-BN] (+ shortcut) -ReLU; widths (16, 32, 64) in the paper.
Shortcuts are option A, the paper's choice for CIFAR: the identity, and where a block halves the
resolution and doubles the width, the input subsampled by 2 and zero-padded in channels, so a shortcut
has no parameters and plain and residual nets of one depth have exactly the same parameters. `shortcut`
builds the addition in (False: a plain net, as He et al.'s "plain-20/56/110"); `skip`, a call argument
that may be traced, multiplies the shortcut, so 0 and 1 switch it per model inside one compiled program
(y + 0 * x is y exactly, for finite x). Depths 20/32/44/56/110 are n = 3/5/7/9/18.

`norm=False` drops every BN and gives the convolutions a bias (the control where nothing rescales a
block's output). Kernels start from `kernel_init` (He et al.: `he_normal`, N(0, 2 / fan_in)).
Each stage's blocks after its first are one `nn.scan` body (parameters stacked on axis 0), as in
jaxdl/models/resnet.py, so a 110-layer net compiles as fast as a 20-layer one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

HE_NORMAL = nn.initializers.variance_scaling(2.0, "fan_in", "normal")


def depth_of(blocks_per_stage: int) -> int:
    """Weighted layers of the net with n blocks per stage: 6n + 2."""
    return 6 * blocks_per_stage + 2


def blocks_for(depth: int) -> int:
    """n for a 6n+2-layer net."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth {depth} is not 6n + 2 with n >= 1 (8, 14, 20, 32, 56, 110, ...)")
    return (depth - 2) // 6


def option_a(x: jax.Array, filters: int, stride: int) -> jax.Array:
    """The parameter-free shortcut: x [B, H, W, C] subsampled by `stride`, zero-padded to `filters` channels."""
    if stride > 1:
        x = x[:, ::stride, ::stride, :]
    return jnp.pad(x, ((0, 0), (0, 0), (0, 0), (0, filters - x.shape[-1])))


class Block(nn.Module):
    """x [B, H, W, C] -> [B, H/stride, W/stride, filters]."""

    filters: int
    stride: int = 1
    norm: bool = True
    shortcut: bool = True
    kernel_init: Any = HE_NORMAL
    train: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, skip=1.0) -> jax.Array:
        conv = functools.partial(nn.Conv, self.filters, (3, 3), use_bias=not self.norm, kernel_init=self.kernel_init)
        bn = _norm(self.norm, self.train)
        y = nn.relu(bn()(conv(strides=self.stride)(x)))
        y = bn()(conv()(y))
        if self.shortcut:
            y = y + skip * option_a(x, self.filters, self.stride)
        return nn.relu(y)


class _Repeated(nn.Module):
    """A block as an `nn.scan` body: (x, skip) -> (block(x, skip), None)."""

    filters: int
    norm: bool
    shortcut: bool
    kernel_init: Any
    train: bool

    @nn.compact
    def __call__(self, x: jax.Array, skip) -> tuple[jax.Array, None]:
        return Block(self.filters, 1, self.norm, self.shortcut, self.kernel_init, self.train)(x, skip), None


def _norm(on: bool, train: bool):
    if not on:
        return lambda: (lambda y: y)
    return functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.9, epsilon=1e-5)


class CifarResNet(nn.Module):
    """x: [B, H, W, C] -> logits [B, num_classes]; `blocks_per_stage` = n (6n+2 layers)."""

    blocks_per_stage: int
    widths: Sequence[int] = (16, 32, 64)
    num_classes: int = 10
    norm: bool = True
    shortcut: bool = True
    kernel_init: Any = HE_NORMAL

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = True, skip=1.0) -> jax.Array:
        x = nn.Conv(self.widths[0], (3, 3), use_bias=not self.norm, kernel_init=self.kernel_init, name="conv_init")(x)
        x = nn.relu(_norm(self.norm, train)(name="bn_init")(x) if self.norm else x)
        for i, filters in enumerate(self.widths):
            x = Block(filters, 1 if i == 0 else 2, self.norm, self.shortcut, self.kernel_init, train,
                      name=f"stage{i}_block0")(x, skip)
            if self.blocks_per_stage > 1:
                repeated = nn.scan(_Repeated, variable_axes={"params": 0, "batch_stats": 0},
                                   split_rngs={"params": True}, in_axes=nn.broadcast,
                                   length=self.blocks_per_stage - 1)
                x, _ = repeated(filters, self.norm, self.shortcut, self.kernel_init, train,
                                name=f"stage{i}_blocks")(x, skip)
        return nn.Dense(self.num_classes, name="head")(jnp.mean(x, axis=(1, 2)))


def block_sq_norms(grads: dict, blocks_per_stage: int, stages: int = 3) -> jax.Array:
    """Squared L2 norm of each block's gradient, in depth order: [stages * blocks_per_stage]. `grads`: the
    gradient w.r.t. a CifarResNet's params (scanned blocks stacked on axis 0)."""
    out = []
    for i in range(stages):
        out.append(sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads[f"stage{i}_block0"])))
        if blocks_per_stage > 1:
            per = jax.tree.map(lambda g: jnp.sum(jnp.square(g), axis=tuple(range(1, g.ndim))),
                               grads[f"stage{i}_blocks"])
            out.extend(sum(jax.tree.leaves(per)))
    return jnp.stack([jnp.asarray(v) for v in out])
