"""FC-grid throughput: the engine vs one-model-at-a-time JAX vs PyTorch (per-model loop and batched bmm).

Workload (identical for every contender): M two-layer MLPs 2-16-1 (ReLU hidden, sigmoid-CE output),
full-batch SGD at lr 0.5 on the same 200 XOR points, S steps. Unit: model-steps per second, compile or
warm-up excluded, median of `repeats` runs, all contenders measured in one process, one after another.

    python -m benchmarks.fc_bench            # prints the markdown section
"""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxdl  # noqa: F401  (host devices = cores)
from jaxdl import binary, engine
from jaxdl.data.toy import make_toy
from jaxdl.models.mlp import MLP

MODELS, STEPS, HIDDEN, POINTS, LR = 256, 2000, 16, 200, 0.5


def _data():
    x, y = make_toy("xor", POINTS, seed=0)
    return x, y.astype(np.float32)


def _median_rate(fn, model_steps: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return model_steps / statistics.median(times)


def engine_rate(group, devices: int, repeats: int) -> float:
    x, y = _data()
    task = binary.make_task(MLP(features=(HIDDEN, 1), activation="relu"), "ce", "sgd", input_dim=2)
    trainer = engine.make_train(task, steps=STEPS, chunk_steps=STEPS, record_every=100, group=group,
                                mesh=engine.device_mesh(jax.devices()[:devices]))
    keys, hp = engine.seed_keys(np.arange(MODELS)), {"lr": np.full(MODELS, LR, np.float32)}
    data = (jnp.asarray(x), jnp.asarray(y))
    trainer(keys, hp, data)  # compile

    def run():
        trainer(keys, hp, data)

    return _median_rate(run, MODELS * STEPS, repeats)


def jax_one_at_a_time_rate(repeats: int, models: int = 8) -> float:
    """The same model and step, jitted for one model (whole loop in lax.scan), models run in turn."""
    x, y = _data()
    task = binary.make_task(MLP(features=(HIDDEN, 1), activation="relu"), "ce", "sgd", input_dim=2)
    data = (jnp.asarray(x), jnp.asarray(y))

    @jax.jit
    def train_one(key):
        state = task.init(key, {"lr": jnp.float32(LR)})
        state, _ = jax.lax.scan(lambda s, t: (task.step(s, data, t)[0], None), state, jnp.arange(STEPS))
        return state["hit_step"]

    keys = engine.seed_keys(np.arange(models))
    train_one(keys[0]).block_until_ready()

    def run():
        for k in keys:
            train_one(k).block_until_ready()

    return _median_rate(run, models * STEPS, repeats)


def torch_rates(repeats: int) -> dict[str, float]:
    import torch

    x_np, y_np = _data()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def per_model_loop(models: int = 2, steps: int = 400):
        for seed in range(models):
            torch.manual_seed(seed)
            net = torch.nn.Sequential(torch.nn.Linear(2, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1))
            opt = torch.optim.SGD(net.parameters(), lr=LR)
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                bce(net(x)[:, 0], y).backward()
                opt.step()

    def batched_params():
        g = torch.Generator().manual_seed(0)
        w1 = (torch.randn(MODELS, 2, HIDDEN, generator=g) / 2**0.5).requires_grad_()
        b1 = torch.zeros(MODELS, 1, HIDDEN, requires_grad=True)
        w2 = (torch.randn(MODELS, HIDDEN, 1, generator=g) / HIDDEN**0.5).requires_grad_()
        b2 = torch.zeros(MODELS, 1, 1, requires_grad=True)
        return [w1, b1, w2, b2]

    xb = x.expand(MODELS, -1, -1)
    yb = y.expand(MODELS, -1)

    def batched_autograd():
        params = batched_params()
        w1, b1, w2, b2 = params
        for _ in range(STEPS):
            z = torch.baddbmm(b2, torch.relu(torch.baddbmm(b1, xb, w1)), w2)[..., 0]
            # Sum over models of each model's mean loss: each model's gradient is its own.
            loss = bce(z, yb, reduction="none").mean(1).sum()
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads, strict=True):
                    p.sub_(LR * g)

    def batched_manual():
        # Hand-written backward pass: no autograd bookkeeping, the fastest eager formulation we found.
        with torch.no_grad():
            w1, b1, w2, b2 = (p.detach() for p in batched_params())
            xt = xb.transpose(1, 2)
            for _ in range(STEPS):
                pre = torch.baddbmm(b1, xb, w1)
                h = torch.relu(pre)
                z = torch.baddbmm(b2, h, w2)
                dz = (torch.sigmoid(z) - yb[..., None]) / POINTS
                dh = torch.bmm(dz, w2.transpose(1, 2)) * (pre > 0)
                w2 -= LR * torch.bmm(h.transpose(1, 2), dz)
                b2 -= LR * dz.sum(1, keepdim=True)
                w1 -= LR * torch.bmm(xt, dh)
                b1 -= LR * dh.sum(1, keepdim=True)

    per_model_loop(1, 20)  # warm-up
    return {
        "torch_per_model": _median_rate(per_model_loop, 2 * 400, repeats),
        "torch_batched_autograd": _median_rate(batched_autograd, MODELS * STEPS, repeats),
        "torch_batched_manual": _median_rate(batched_manual, MODELS * STEPS, repeats),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }


def run(repeats: int = 3) -> str:
    devices = len(jax.devices())
    rates = {f"engine, {d} device(s), group={g}": engine_rate(g, d, repeats)
             for d in sorted({1, devices}) for g in (None, 64, 16, 1)}
    best_engine_name = max(rates, key=rates.get)
    default = f"engine, {devices} device(s), group={engine.default_group()}"
    one = jax_one_at_a_time_rate(repeats)
    try:
        torch_r = torch_rates(repeats)
    except ImportError:
        torch_r = None
    device = jax.devices()[0].device_kind
    lines = [
        "## FC grid: engine vs one-at-a-time JAX vs PyTorch",
        "",
        f"{MODELS} MLPs 2-{HIDDEN}-1 (ReLU, sigmoid-CE), full-batch SGD on {POINTS} points, {STEPS} steps. "
        f"Device: {devices} x {device} (JAX). Model-steps/s, median of {repeats} runs, compile excluded.",
        "",
        "| contender | model-steps/s | vs engine default |",
        "|---|---|---|",
    ]
    base = rates[default]
    for name, r in rates.items():
        mark = " **(default)**" if name == default else ""
        lines.append(f"| {name}{mark} | {r:,.0f} | {r / base:.2f} |")
    lines.append(f"| (b) JAX, same model, one model at a time (jit'd scan per model) | {one:,.0f} | {one / base:.2f} |")
    if torch_r:
        for key, label in (("torch_per_model", "(c) PyTorch eager, per-model loop"),
                           ("torch_batched_autograd", "PyTorch batched bmm + autograd"),
                           ("torch_batched_manual", "PyTorch batched bmm, hand-written backward")):
            lines.append(f"| {label} | {torch_r[key]:,.0f} | {torch_r[key] / base:.2f} |")
        best_torch = max(torch_r["torch_batched_autograd"], torch_r["torch_batched_manual"])
        lines += [
            "",
            f"PyTorch {torch_r['torch_version']}, {torch_r['torch_threads']} threads. (d) = the faster batched "
            "PyTorch formulation.",
            "",
            f"- engine default / (d) best batched PyTorch: **{base / best_torch:.2f}x** (target >= 2x)",
            f"- engine default / (c) PyTorch per-model loop: **{base / torch_r['torch_per_model']:.1f}x** "
            "(target >= 20x)",
        ]
    else:
        lines += ["", "PyTorch not installed (`make bench` installs it): PyTorch rows not measured."]
    lines += [
        f"- engine default / (b) JAX one model at a time: **{base / one:.1f}x**",
        f"- fastest engine setting here: {best_engine_name}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
