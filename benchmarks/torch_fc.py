"""The batched PyTorch formulation of an fc_grid run, as a process of its own: the contender a user would
write instead of `python -m experiments.fc_grid`.

Every cell (activation x loss on a sigmoid output) trains its models as one batch: 2-H-1 MLPs as `baddbmm`
over [models, points, features], autograd for the gradients, full-batch SGD with one learning rate per model
(the grid's lrs, seeds fastest), on the same 2-D points as fc_grid (jaxdl.data.toy). It runs every step: fc_grid
stops early only once every model is done, which its default grid never is within 2000 steps (sigmoid-L2 at
lr 0.1 does not reach 100%). benchmarks/fc_program_bench.py passes fc_grid's defaults (`args_of`); this process
imports neither JAX nor the experiment, so it pays only what a PyTorch user's program pays.

    python -m benchmarks.torch_fc --steps=2000 --seeds=64 --lr=0.1,1 --cells=relu-ce --hidden=16 \\
        --dataset=xor --points=200 --margin=0.1 --data_seed=0        # prints its training seconds
"""

from __future__ import annotations

import argparse
import time


def args_of(cfg) -> list[str]:
    """This program's arguments for an fc_grid Config (its grid, network and data)."""
    cells = ",".join(f"{a}-{lo}" for a in cfg.activation for lo in cfg.loss)
    return [f"--steps={cfg.steps}", f"--seeds={cfg.seeds}", f"--lr={','.join(map(str, cfg.lr))}",
            f"--cells={cells}", f"--hidden={cfg.hidden[0]}", f"--dataset={cfg.dataset}",
            f"--points={cfg.num_points}", f"--margin={cfg.margin}", f"--data_seed={cfg.data_seed}"]


def train_cell(x, y, activation: str, loss: str, lrs: list[float], seeds: int, hidden: int, steps: int) -> None:
    import torch

    models = len(lrs) * seeds
    g = torch.Generator().manual_seed(0)
    w1 = (torch.randn(models, x.shape[1], hidden, generator=g) / x.shape[1] ** 0.5).requires_grad_()
    b1 = torch.zeros(models, 1, hidden, requires_grad=True)
    w2 = (torch.randn(models, hidden, 1, generator=g) / hidden**0.5).requires_grad_()
    b2 = torch.zeros(models, 1, 1, requires_grad=True)
    params = [w1, b1, w2, b2]
    lr = torch.repeat_interleave(torch.tensor(lrs), seeds).reshape(models, 1, 1)
    xb, yb = x.expand(models, -1, -1), y.expand(models, -1)
    act = {"sigmoid": torch.sigmoid, "relu": torch.relu}[activation]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--seeds", type=int, required=True)
    parser.add_argument("--lr", type=lambda s: [float(v) for v in s.split(",")], required=True)
    parser.add_argument("--cells", type=lambda s: [tuple(c.split("-")) for c in s.split(",")], required=True)
    parser.add_argument("--hidden", type=int, required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--points", type=int, required=True)
    parser.add_argument("--margin", type=float, required=True)
    parser.add_argument("--data_seed", type=int, required=True)
    args = parser.parse_args()
    import torch

    from jaxdl.data.toy import make_toy

    x_np, y_np = make_toy(args.dataset, args.points, args.data_seed, args.margin)
    x, y = torch.from_numpy(x_np).float(), torch.from_numpy(y_np).float()
    t0 = time.perf_counter()
    for activation, loss in args.cells:
        train_cell(x, y, activation, loss, args.lr, args.seeds, args.hidden, args.steps)
    print(f"trained {len(args.cells) * len(args.lr) * args.seeds} models x {args.steps} steps in "
          f"{time.perf_counter() - t0:.1f} s ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
