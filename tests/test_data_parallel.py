"""Data parallelism: a ("models", "batch") mesh splits each model's batch over devices and trains the same
model as a single device does (to float rounding of the split reductions)."""

import jax
import numpy as np
import optax
import pytest

from jaxdl.models import get_model
from jaxdl.models.resnet import BasicBlock, ResNet
from jaxdl.tasks import classify
from jaxdl.training import engine


def tiny_resnet():
    """Batch norm is the part a split batch could get wrong: its statistics must span the whole batch."""
    return ResNet(stage_sizes=(1, 1), block_cls=BasicBlock, num_classes=3, num_filters=4)


def train(mesh, model, steps=6):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 8, 8, 1), dtype=np.uint8)
    labels = rng.integers(0, 3, 64).astype(np.int32)
    task = classify.make_task(model, optax.sgd(0.1, momentum=0.9), num_train=64, batch_size=16, input_shape=(8, 8, 1),
                              mean=np.float32([0.5]), std=np.float32([0.25]), eval_every=None,
                              batch_sharding=engine.batch_sharding(mesh))
    trainer = engine.make_train(task, steps=steps, chunk_steps=3, record_every=1, group=1, mesh=mesh)
    data = {"train": (images, labels), "eval": (images[:8], labels[:8])}
    return trainer(engine.seed_keys([0, 1, 2]), {}, data)


@pytest.mark.parametrize("make_model", [lambda: get_model("mlp", 3, hidden=(16,)), tiny_resnet])
def test_a_split_batch_trains_like_one_device(make_model):
    single = train(engine.device_mesh(jax.devices()[:1]), make_model())
    split = train(engine.device_mesh(jax.devices()[:2], batch_shards=2), make_model())
    assert split.state["params"]["Dense_0"]["kernel"].shape == single.state["params"]["Dense_0"]["kernel"].shape
    for name in ("params", "extra"):  # extra: BN running statistics
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6), split.state[name],
                     single.state[name])
    np.testing.assert_allclose(split.metrics["loss"], single.metrics["loss"], rtol=1e-5)
    # Different seeds stay different models.
    assert not np.allclose(split.state["params"]["Dense_0"]["kernel"][0], split.state["params"]["Dense_0"]["kernel"][1])


def test_batch_shards_must_divide_the_devices():
    with pytest.raises(ValueError, match="must be >= 1 and divide the 2 devices"):
        engine.device_mesh(jax.devices()[:2], batch_shards=3)
    assert engine.batch_sharding(engine.device_mesh()) is None
