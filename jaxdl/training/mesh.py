"""Where models live: the device mesh over the model axis, and the order models are dealt out in."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "models"
BATCH_AXIS = "batch"


def device_mesh(devices=None, batch_shards: int = 1) -> jax.sharding.Mesh:
    """A mesh over all devices (all processes' devices in a multi-host run): 1-D over "models", or with
    `batch_shards` > 1 a 2-D ("models", "batch") mesh whose "batch" axis splits each model's batch over
    that many devices (data parallelism, for models too big or too few to fill every device alone)."""
    devices = jax.devices() if devices is None else devices
    if batch_shards == 1:
        return jax.make_mesh((len(devices),), (AXIS,), devices=devices)
    if batch_shards < 1 or len(devices) % batch_shards:
        raise ValueError(f"batch_shards={batch_shards} must be >= 1 and divide the {len(devices)} devices")
    auto = jax.sharding.AxisType.Auto  # "batch" is left to the compiler (GSPMD), "models" is manual
    return jax.make_mesh((len(devices) // batch_shards, batch_shards), (AXIS, BATCH_AXIS), devices=devices,
                         axis_types=(auto, auto))


def batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding | None:
    """The sharding a task gives its per-step batch (leading axis) so that the mesh's "batch" axis
    splits it; None for a 1-D mesh. Gradients and batch statistics are then reduced across that axis
    by the compiler (all-reduce), so a data-parallel model trains like one on a single device."""
    return NamedSharding(mesh, P(BATCH_AXIS)) if BATCH_AXIS in mesh.axis_names else None


def pad_models(tree, count: int):
    """Pads the model axis to `count` by repeating the last member (its results are dropped)."""

    def pad(x):
        extra = count - x.shape[0]
        return x if extra == 0 else jnp.concatenate([x, jnp.repeat(x[-1:], extra, axis=0)])

    return jax.tree.map(pad, tree)


def padded_count(models: int, devices: int) -> int:
    """The model count rounded up to a multiple of the device count (the mesh's equal shards)."""
    return -(-models // devices) * devices


def layout(categorical: Mapping[str, int], hparams, models: int, devices: int) -> np.ndarray | None:
    """The order of the (padded) models on the mesh: None for the given order, else `order` with model
    order[i] at position i. With `Task.categorical`, a grid lists each choice's models in one run (e.g.
    every lr and seed of one activation); left in order, one device would train only the costly
    choices (sigmoid) while another finishes the cheap ones (ReLU) and waits. So every run of equal
    choices whose length the device count divides is dealt out in equal slices, one per device,
    each device's slices in grid order (its lax.map groups stay uniform). Fixed by the hparams alone:
    a trainer's `init`, its call and a restored checkpoint agree."""
    names = [n for n in categorical if n in hparams]
    if not names or devices == 1:
        return None
    padded = padded_count(models, devices)
    codes = np.stack([np.broadcast_to(np.asarray(hparams[n]), (models,)) for n in names], 1)
    codes = np.concatenate([codes, np.repeat(codes[-1:], padded - models, axis=0)])
    starts = np.flatnonzero(np.r_[True, np.any(codes[1:] != codes[:-1], axis=1)])
    ends = np.r_[starts[1:], padded]
    if len(starts) == 1 or np.any((ends - starts) % devices):
        return None
    n = devices
    return np.concatenate([np.arange(a + d * (b - a) // n, a + (d + 1) * (b - a) // n)
                           for d in range(n) for a, b in zip(starts, ends, strict=True)])

