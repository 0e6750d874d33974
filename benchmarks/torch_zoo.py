"""PyTorch twins of the zoo's models (jaxdl.models), for benchmarks/zoo_bench.py's side-by-side throughput.

Same layers, widths, strides, padding, BN placement and parameter counts as the flax definitions
(LeNet-5, AlexNet, VGG-16 with BN, CIFAR-style ResNet-18/50/101 with projection shortcuts); NCHW, as
PyTorch's CPU kernels (oneDNN) want it. Only imported when torch is installed (`make bench` installs it).
"""

from __future__ import annotations

import torch
from torch import nn

from benchmarks import timing


def lenet5(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))


def alexnet(num_classes: int = 10) -> nn.Module:
    layers, cin = [], 3
    for width, stride, pool in ((64, 2, True), (192, 1, True), (384, 1, False), (256, 1, False), (256, 1, True)):
        layers += [nn.Conv2d(cin, width, 3, stride, 1), nn.ReLU()] + ([nn.MaxPool2d(2)] if pool else [])
        cin = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                         nn.Linear(4096, num_classes))


def vgg16(num_classes: int = 10) -> nn.Module:
    layers, cin = [], 3
    for widths in ((64, 64), (128, 128), (256,) * 3, (512,) * 3, (512,) * 3):
        for width in widths:
            layers += [nn.Conv2d(cin, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            cin = width
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, num_classes))


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]


class _Block(nn.Module):
    def __init__(self, cin: int, filters: int, stride: int, bottleneck: bool):
        super().__init__()
        cout = 4 * filters if bottleneck else filters
        if bottleneck:  # v1.5: the stride on the 3x3
            body = [*_conv_bn(cin, filters, 1), nn.ReLU(), *_conv_bn(filters, filters, 3, stride), nn.ReLU(),
                    *_conv_bn(filters, cout, 1)]
        else:
            body = [*_conv_bn(cin, filters, 3, stride), nn.ReLU(), *_conv_bn(filters, cout, 3)]
        self.body = nn.Sequential(*body)
        self.shortcut = (nn.Sequential(*_conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout
                         else nn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet(stage_sizes, bottleneck: bool, num_classes: int = 10) -> nn.Module:
    layers, cin = [*_conv_bn(3, 64, 3), nn.ReLU()], 64
    for i, count in enumerate(stage_sizes):
        for j in range(count):
            layers.append(_Block(cin, 64 * 2**i, 2 if i > 0 and j == 0 else 1, bottleneck))
            cin = 64 * 2**i * (4 if bottleneck else 1)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))


MODELS = {
    "lenet5": lenet5, "alexnet": alexnet, "vgg16": vgg16,
    "resnet18": lambda num_classes=10: resnet((2, 2, 2, 2), False, num_classes),
    "resnet50": lambda num_classes=10: resnet((3, 4, 6, 3), True, num_classes),
    "resnet101": lambda num_classes=10: resnet((3, 4, 23, 3), True, num_classes),
}


def train_seconds(name: str, batch: int, steps: int, repeats: int, threads: int,
                  optimizer: str = "adam") -> list[float]:
    """Wall seconds of `steps` optimizer steps (jaxdl.tasks.recipe's: "adam" = AdamW with weight decay 5e-4, or
    "sgd" = SGD + Nesterov 0.9 with weight decay 5e-4) on random 32x32x3 batches, `repeats` times after
    one warm-up step; one model, `threads` intra-op threads."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = MODELS[name]()
    if optimizer == "adam":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=5e-4)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    def train():
        for _ in range(steps):
            step()

    step()
    return timing.repeat_seconds(train, repeats)


if __name__ == "__main__":
    # One repeat in a process of its own, printed as JSON: benchmarks.zoo_bench runs PyTorch this way because
    # PyTorch trained inside the JAX process slows the engine's ResNet-50 by 20-30% for the rest of it.
    import json
    import sys

    model_name, batch_size, num_steps, num_threads, opt_name = sys.argv[1:6]
    print(json.dumps(train_seconds(model_name, int(batch_size), int(num_steps), repeats=1, threads=int(num_threads),
                                   optimizer=opt_name)))
