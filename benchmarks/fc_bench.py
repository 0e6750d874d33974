"""FC-grid throughput: the engine vs plain vmap vs one-model-at-a-time JAX vs PyTorch (per-model loop and
batched bmm), and the engine's share of this machine's measured matmul peak.

Workload (identical for every contender): M two-layer MLPs 2-16-1 (ReLU hidden, sigmoid-CE output),
full-batch SGD at lr 0.5 on the same 200 XOR points, S steps. Unit: model-steps per second, compile or
warm-up excluded, median of `repeats` runs; the JAX contenders are interleaved within each repeat (the
machine is shared: load hits them alike), PyTorch runs after them.

    python -m benchmarks.fc_bench            # prints the markdown section
"""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.data.toy import make_toy
from jaxdl.experiment import runtime
from jaxdl.models.mlp import MLP
from jaxdl.tasks import binary
from jaxdl.training import engine

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


def _task(batched: bool = True):
    return binary.make_task(MLP(features=(HIDDEN, 1), activation="relu"), "ce", "sgd", input_dim=2, batched=batched)


ONE_AT_A_TIME_MODELS = 8  # enough to time; the rate is per model-step


def jax_contenders() -> dict[str, tuple]:
    """name -> (compiled function training its models once, model-steps per call)."""
    x, y = _data()
    task, data = _task(), (jnp.asarray(x), jnp.asarray(y))
    keys, hp = engine.seed_keys(np.arange(MODELS)), {"lr": np.full(MODELS, LR, np.float32)}
    devices = len(jax.devices())
    fns = {}
    for name, group in ((f"engine default, {devices} device(s), group auto", engine.AUTO),
                        *((f"engine, {devices} device(s), group={g}", g) for g in (None, 64, 32, 16, 1))):
        trainer = engine.make_train(task, steps=STEPS, chunk_steps=STEPS, record_every=100, group=group)
        fns[name] = (lambda trainer=trainer: trainer(keys, hp, data), MODELS * STEPS)

    # The naive programs vmap (or loop over) the per-model step as written, without binary's group rule.
    naive = _task(batched=False)

    def train_one(key):
        state = naive.init(key, {"lr": jnp.float32(LR)})
        state, _ = jax.lax.scan(lambda s, t: (naive.step(s, data, t)[0], None), state, jnp.arange(STEPS))
        return state["hit_step"]

    one, plain = jax.jit(train_one), jax.jit(jax.vmap(train_one))
    fns[PLAIN] = (lambda: plain(keys).block_until_ready(), MODELS * STEPS)
    fns[ONE] = (lambda: [one(k).block_until_ready() for k in keys[:ONE_AT_A_TIME_MODELS]],
                ONE_AT_A_TIME_MODELS * STEPS)
    return fns


PLAIN = "(a) plain jax.vmap of the jit'd scan over all models, 1 device, no engine"
ONE = "(b) JAX, same model, one model at a time (jit'd scan per model)"


def jax_rates(repeats: int) -> tuple[dict[str, float], int | None]:
    """(model-steps/s per contender, the group the engine's default resolved to)."""
    fns = jax_contenders()
    first = {name: fn() for name, (fn, _) in fns.items()}  # compile
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, (fn, _) in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: fns[name][1] / statistics.median(t) for name, t in times.items()}, next(iter(first.values())).group


def step_flops() -> float:
    """XLA's count of FLOPs in one model's training step (forward, backward, update)."""
    x, y = _data()
    task = _task()
    state = jax.eval_shape(lambda k: task.init(k, {"lr": jnp.float32(LR)}), jax.random.PRNGKey(0))
    return float(jax.jit(task.step).lower(state, (jnp.asarray(x), jnp.asarray(y)), jnp.int32(0))
                 .cost_analysis()["flops"])


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of float32 n x n matmuls, one per device at once (every core busy): the practical peak."""
    devices = jax.devices()
    mesh = engine.device_mesh(devices)
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(engine.AXIS))
    a = jax.device_put(jax.random.normal(jax.random.PRNGKey(0), (len(devices), n, n)), sharding)
    matmul = jax.jit(lambda a: jnp.einsum("dij,djk->dik", a, a), out_shardings=sharding)
    matmul(a).block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        matmul(a).block_until_ready()
        times.append(time.perf_counter() - t0)
    return 2 * n**3 * len(devices) / min(times)


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
    all_rates, auto = jax_rates(repeats)
    plain, one = all_rates.pop(PLAIN), all_rates.pop(ONE)
    rates = all_rates
    best_engine_name = max(rates, key=rates.get)
    default = next(iter(rates))
    flops, peak = step_flops(), matmul_peak()
    try:
        torch_r = torch_rates(repeats)
    except ImportError:
        torch_r = None
    device = jax.devices()[0].device_kind
    lines = [
        "## FC grid: engine vs one-at-a-time JAX vs PyTorch",
        "",
        f"{MODELS} MLPs 2-{HIDDEN}-1 (ReLU, sigmoid-CE), full-batch SGD on {POINTS} points, {STEPS} steps. "
        f"Device: {devices} x {device} (JAX). Model-steps/s, median of {repeats} interleaved runs, compile "
        f"excluded. The engine's default (group auto) resolved to group={auto}.",
        "",
        "| contender | model-steps/s | vs engine default |",
        "|---|---|---|",
    ]
    base = rates[default]
    for name, r in rates.items():
        mark = " **(default)**" if name == default else ""
        lines.append(f"| {name}{mark} | {r:,.0f} | {r / base:.2f} |")
    lines.append(f"| {PLAIN} | {plain:,.0f} | {plain / base:.2f} |")
    lines.append(f"| {ONE} | {one:,.0f} | {one / base:.2f} |")
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
    best = rates[best_engine_name]
    lines += [
        f"- engine default / (a) plain vmap: **{base / plain:.2f}x**; / (b) JAX one model at a time: "
        f"**{base / one:.1f}x** (targets >= 1)",
        f"- fastest engine setting here: {best_engine_name}; the default reaches {base / best:.2f} of it "
        "(target >= 0.9)",
        f"- physical limit: one model-step is {flops:,.0f} FLOPs (XLA's count: forward, backward, update); "
        f"a float32 2048x2048 matmul on every device at once reaches {peak / 1e9:.1f} GFLOP/s here, so the "
        f"engine default's {base * flops / 1e9:.2f} GFLOP/s is **{100 * base * flops / peak:.1f}%** of this "
        "CPU's measured peak (tiny 16-wide layers: elementwise work and the step loop, not matmul units, "
        "bound it)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
