"""The batched PyTorch formulation of an fc_grid run, as a process of its own: the contender a user would
write instead of `python -m experiments.fc_grid`.

Every cell (sigmoid/ReLU x L2/CE on a sigmoid output) trains its models as one batch: 2-16-1 MLPs as
`baddbmm` over [models, points, features], autograd for the gradients, full-batch SGD with one learning rate
per model (the grid's lrs, seeds fastest), on the same 200 XOR points (margin 0.1) as fc_grid's default. It
runs every step (no early stop: fc_grid stops only once every model is done, which the default grid never
is within 2000 steps: sigmoid-L2 at lr 0.1 does not reach 100%).

    python -m benchmarks.torch_fc --steps=2000 --seeds=64     # prints its training seconds
"""

from __future__ import annotations

import sys
import time

LRS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)  # fc_grid's default --lr
CELLS = (("sigmoid", "l2"), ("sigmoid", "ce"), ("relu", "l2"), ("relu", "ce"))
HIDDEN = 16


def train_cell(x, y, activation: str, loss: str, seeds: int, steps: int) -> None:
    import torch

    models = len(LRS) * seeds
    g = torch.Generator().manual_seed(0)
    w1 = (torch.randn(models, 2, HIDDEN, generator=g) / 2**0.5).requires_grad_()
    b1 = torch.zeros(models, 1, HIDDEN, requires_grad=True)
    w2 = (torch.randn(models, HIDDEN, 1, generator=g) / HIDDEN**0.5).requires_grad_()
    b2 = torch.zeros(models, 1, 1, requires_grad=True)
    params = [w1, b1, w2, b2]
    lr = torch.repeat_interleave(torch.tensor(LRS), seeds).reshape(models, 1, 1)
    xb, yb = x.expand(models, -1, -1), y.expand(models, -1)
    act = torch.sigmoid if activation == "sigmoid" else torch.relu
    for _ in range(steps):
        z = torch.baddbmm(b2, act(torch.baddbmm(b1, xb, w1)), w2)[..., 0]
        if loss == "ce":
            per_model = torch.nn.functional.binary_cross_entropy_with_logits(z, yb, reduction="none").mean(1)
        else:
            per_model = ((torch.sigmoid(z) - yb) ** 2).mean(1)
        grads = torch.autograd.grad(per_model.sum(), params)  # the sum: each model's gradient is its own
        with torch.no_grad():
            for p, grad in zip(params, grads, strict=True):
                p.sub_(lr * grad)


def main(argv: list[str]) -> None:
    opts = dict(a.lstrip("-").split("=") for a in argv)
    steps, seeds = int(opts.get("steps", 2000)), int(opts.get("seeds", 64))
    import torch

    from jaxdl.data.toy import make_toy

    x_np, y_np = make_toy("xor", 200, 0, 0.1)
    x, y = torch.from_numpy(x_np).float(), torch.from_numpy(y_np).float()
    t0 = time.perf_counter()
    for activation, loss in CELLS:
        train_cell(x, y, activation, loss, seeds, steps)
    print(f"trained {len(CELLS) * len(LRS) * seeds} models x {steps} steps in {time.perf_counter() - t0:.1f} s "
          f"({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main(sys.argv[1:])
