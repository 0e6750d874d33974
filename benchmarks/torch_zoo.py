"""PyTorch twins of the zoo's models (jaxdl.models), for benchmarks/zoo_bench.py's side-by-side throughput
and benchmarks/zoo_run_bench.py's whole runs:

    python -m benchmarks.torch_zoo --model=resnet18 --steps=12 --batch=32 --seeds=2   # a whole run, JSON

Same layers, widths, strides, padding, BN placement and parameter counts as the flax definitions
(LeNet-5, AlexNet, VGG-16 with BN, CIFAR-style ResNet-18/50/101 with projection shortcuts); NCHW, as
PyTorch's CPU kernels (oneDNN) want it. Only imported when torch is installed (`make bench` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

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


def whole_run(name: str, *, steps: int, batch: int, seeds: int, threads: int, optimizer: str = "adam",
              peak_lr: float = 5e-4, weight_decay: float = 5e-4, warmup_fraction: float = 0.05,
              train_size: int = 20_000, test_size: int = 200) -> dict:
    """PyTorch's side of a whole `python -m experiments.svhn_zoo --models=NAME --steps=STEPS` run: `seeds`
    models trained one after another, each `steps` steps of `batch` images drawn without replacement from
    `train_size` random uint8 32x32x3 images, standardised per image (the zoo recipe's default, no
    augmentation), under the recipe's optimizer (AdamW, or SGD + Nesterov 0.9; weight decay on kernels
    only; linear warm-up then cosine to 0), the loss read every step (svhn_zoo records it every step), then
    evaluated once on `test_size` images. Returns its phases' seconds: data (the images made), train (every
    seed's model built and trained), eval (the test split), and the images trained."""
    import math

    import numpy as np

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    train_x = torch.from_numpy(rng.integers(0, 256, (train_size, 32, 32, 3), dtype=np.uint8))
    train_y = torch.from_numpy(rng.integers(0, 10, train_size).astype(np.int64))
    test_x = torch.from_numpy(rng.integers(0, 256, (test_size, 32, 32, 3), dtype=np.uint8))
    test_y = torch.from_numpy(rng.integers(0, 10, test_size).astype(np.int64))
    t_data = time.perf_counter()

    def prepare(images):  # uint8 NHWC -> float32 NCHW, each image to mean 0, std 1 (floored as batching's)
        x = images.permute(0, 3, 1, 2).float() / 255.0
        centred = x - x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False).clamp_min(1 / math.sqrt(x[0].numel()))
        return (centred / std).contiguous()

    warmup = max(1, round(warmup_fraction * steps))
    total = max(steps, warmup + 1)

    def lr_factor(t: int) -> float:
        if t < warmup:
            return t / warmup
        return 0.5 * (1 + math.cos(math.pi * min(t - warmup, total - warmup) / (total - warmup)))

    loss_fn = nn.CrossEntropyLoss()
    losses, models = [], []
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = MODELS[name]()
        decay = [p for p in model.parameters() if p.ndim >= 2]
        rest = [p for p in model.parameters() if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
        if optimizer == "adam":
            opt = torch.optim.AdamW(groups, lr=peak_lr)
        else:
            opt = torch.optim.SGD(groups, lr=peak_lr * batch / 128, momentum=0.9, nesterov=True)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
        order = torch.randperm(train_size)
        model.train()
        history = []
        for t in range(steps):
            index = order[(t * batch) % train_size:][:batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(prepare(train_x[index])), train_y[index])
            loss.backward()
            opt.step()
            schedule.step()
            history.append(loss.item())
        losses.append(history)
        models.append(model)
    t_train = time.perf_counter()
    accs = []
    with torch.no_grad():
        for model in models:
            model.eval()
            accs.append(float((model(prepare(test_x)).argmax(-1) == test_y).float().mean()))
    t_eval = time.perf_counter()
    return {"model": name, "steps": steps, "batch": batch, "seeds": seeds, "threads": threads,
            "images": seeds * steps * batch, "data_s": t_data - t0, "train_s": t_train - t_data,
            "eval_s": t_eval - t_train, "final_loss": [h[-1] for h in losses], "test_acc": accs}


def main(argv: list[str]) -> None:
    """Two forms. `MODEL BATCH STEPS THREADS OPTIMIZER` (benchmarks.zoo_bench): one timed repeat after a
    warm-up step, in a process of its own, printed as a JSON list (PyTorch trained inside the JAX process
    slows the engine's ResNet-50 by 20-30% for the rest of it). `--model=M --steps=S --batch=B --seeds=K`
    (benchmarks.zoo_run_bench): a whole run, `whole_run`'s dict printed as one JSON line."""
    if not any(a.startswith("--") for a in argv):
        model_name, batch_size, num_steps, num_threads, opt_name = argv[:5]
        print(json.dumps(train_seconds(model_name, int(batch_size), int(num_steps), repeats=1,
                                       threads=int(num_threads), optimizer=opt_name)))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_zoo")
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--optimizer", default="adam", choices=("adam", "sgd"))
    parser.add_argument("--peak_lr", type=float, default=5e-4)
    parser.add_argument("--train_size", type=int, default=20_000)
    parser.add_argument("--test_size", type=int, default=200)
    a = parser.parse_args(argv)
    print(json.dumps(whole_run(a.model, steps=a.steps, batch=a.batch, seeds=a.seeds, threads=a.threads,
                               optimizer=a.optimizer, peak_lr=a.peak_lr, train_size=a.train_size,
                               test_size=a.test_size)))


if __name__ == "__main__":
    main(sys.argv[1:])
