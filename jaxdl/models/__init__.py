"""Model registry: `get_model(name, num_classes, **kw)` builds a flax.linen module by name.

Every model applies as `model.apply(variables, x, train=...)` on x: [B, H, W, C] (the MLP flattens any
[B, ...]) and returns float32 logits [B, num_classes]. BN models (vgg16, resnet*) keep running statistics
in the `batch_stats` collection: apply with `mutable=["batch_stats"]` when train=True. Each takes
`dtype` (e.g. jnp.bfloat16) for the computation; parameters stay float32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn

from jaxdl.models.alexnet import AlexNet
from jaxdl.models.cnn import SmallCNN
from jaxdl.models.lenet import LeNet5
from jaxdl.models.mlp import ACTIVATIONS, MLP, get_activation
from jaxdl.models.resnet import ResNet, ResNet18, ResNet34, ResNet50, ResNet101
from jaxdl.models.vgg import VGG, VGG16


def _mlp(num_classes: int, hidden: Sequence[int] = (128, 64, 32), activation: str = "relu", **kw) -> MLP:
    """The MNIST dense net 784-128-64-32-10 by default; `hidden` sets the hidden widths."""
    return MLP(features=(*hidden, num_classes), activation=activation, **kw)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": _mlp,
    "small_cnn": SmallCNN,
    "lenet5": LeNet5,
    "alexnet": AlexNet,
    "vgg16": VGG16,
    "resnet18": ResNet18,
    "resnet34": ResNet34,
    "resnet50": ResNet50,
    "resnet101": ResNet101,
}

# Exact parameter counts (the `params` collection) with 10 classes, on the input each model is meant
# for; tests/test_models.py holds every model to its figure. Only mlp, small_cnn, lenet5 and alexnet
# depend on the input size (they flatten a feature map).
PARAM_COUNTS: dict[str, tuple[tuple[int, int, int], int]] = {
    "mlp": ((28, 28, 1), 111_146),
    "small_cnn": ((28, 28, 1), 421_642),
    "lenet5": ((32, 32, 3), 62_006),
    "alexnet": ((32, 32, 3), 23_272_266),
    "vgg16": ((32, 32, 3), 14_724_042),
    "resnet18": ((32, 32, 3), 11_173_962),
    "resnet34": ((32, 32, 3), 21_282_122),
    "resnet50": ((32, 32, 3), 23_520_842),
    "resnet101": ((32, 32, 3), 42_512_970),
}


def get_model(name: str, num_classes: int, **kw) -> nn.Module:
    """The model `name` with `num_classes` outputs; `kw` goes to its constructor (e.g. dtype)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](num_classes=num_classes, **kw)


__all__ = [
    "ACTIVATIONS", "MLP", "MODELS", "PARAM_COUNTS", "VGG", "VGG16", "AlexNet", "LeNet5", "ResNet", "ResNet18",
    "ResNet34", "ResNet50", "ResNet101", "SmallCNN", "get_activation", "get_model",
]
