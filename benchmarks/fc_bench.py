"""FC-grid throughput: the engine vs plain vmap vs one-model-at-a-time JAX vs PyTorch (per-model loop and
batched bmm), and the engine's share of this machine's measured matmul peak.

Workload (benchmarks/workloads.py, identical for every contender): M two-layer MLPs 2-16-1 (ReLU hidden,
sigmoid-CE output), full-batch SGD at lr 0.5 on the same 200 XOR points, S steps. Unit: model-steps per
second, compile or warm-up excluded, median of `repeats` runs; the JAX contenders are interleaved within
each repeat (the machine is shared: load hits them alike), PyTorch runs after them.

    python -m benchmarks.fc_bench            # prints the markdown section
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import timing, workloads
from benchmarks.workloads import FC_HIDDEN as HIDDEN
from benchmarks.workloads import FC_LR as LR
from benchmarks.workloads import FC_POINTS as POINTS
from jaxdl.experiment import runtime
from jaxdl.reporting.summary import Table
from jaxdl.training import engine

MODELS, STEPS = 256, 2000
ONE_AT_A_TIME_MODELS = 8  # enough to time; the rate is per model-step
PLAIN = "(a) plain jax.vmap of the jit'd scan over all models, 1 device, no engine"
ONE = "(b) JAX, same model, one model at a time (jit'd scan per model)"


def jax_contenders() -> dict[str, tuple]:
    """name -> (function training its models once, model-steps per call); the engine's default first."""
    x, y = workloads.fc_data()
    task, data = workloads.fc_task(), (jnp.asarray(x), jnp.asarray(y))
    keys, hp = engine.seed_keys(np.arange(MODELS)), workloads.fc_hparams(MODELS)
    devices = len(jax.devices())
    fns = {}
    for name, group in ((f"engine default, {devices} device(s), group auto", engine.AUTO),
                        *((f"engine, {devices} device(s), group={g}", g) for g in (None, 64, 32, 16, 1))):
        trainer = workloads.one_chunk(task, STEPS, group=group, record_every=100)
        fns[name] = (lambda trainer=trainer: trainer(keys, hp, data), MODELS * STEPS)
    # The naive programs vmap (or loop over) the per-model step as written, without binary's group rule.
    scan = workloads.scan_train(workloads.fc_task(batched=False), data, STEPS)

    def train_one(key):
        return scan(key, {"lr": jnp.float32(LR)})["hit_step"]

    one, plain = jax.jit(train_one), jax.jit(jax.vmap(train_one))
    fns[PLAIN] = (lambda: plain(keys).block_until_ready(), MODELS * STEPS)
    fns[ONE] = (lambda: [one(k).block_until_ready() for k in keys[:ONE_AT_A_TIME_MODELS]],
                ONE_AT_A_TIME_MODELS * STEPS)
    return fns


def jax_rates(repeats: int) -> tuple[dict[str, float], int | None]:
    """(model-steps/s per contender, the group the engine's default resolved to)."""
    fns = jax_contenders()
    timings = timing.side_by_side({name: fn for name, (fn, _) in fns.items()}, repeats)
    default = next(iter(timings.values()))
    return {name: t.rate(fns[name][1]) for name, t in timings.items()}, default.first.group


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of float32 n x n matmuls, one per device at once (every core busy), in the fastest repeat:
    the practical peak."""
    devices = jax.devices()
    mesh = engine.device_mesh(devices)
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(engine.AXIS))
    a = jax.device_put(jax.random.normal(jax.random.PRNGKey(0), (len(devices), n, n)), sharding)
    matmul = jax.jit(lambda a: jnp.einsum("dij,djk->dik", a, a), out_shardings=sharding)
    matmul(a).block_until_ready()
    return 2 * n**3 * len(devices) / min(timing.repeat_seconds(lambda: matmul(a).block_until_ready(), repeats))


def step_cost() -> dict:
    """XLA's cost analysis of one model's training step: flops (forward, backward, update: the matmuls of
    16-wide layers are as small as the elementwise work), transcendentals, bytes accessed."""
    x, y = workloads.fc_data()
    task = workloads.fc_task()
    state = jax.eval_shape(lambda k: task.init(k, {"lr": jnp.float32(LR)}), jax.random.PRNGKey(0))
    cost = jax.jit(task.step).lower(state, (jnp.asarray(x), jnp.asarray(y)), jnp.int32(0)).cost_analysis()
    return {k: float(cost.get(k, 0.0)) for k in ("flops", "transcendentals", "bytes accessed")}


def vector_peak(size: int = 1 << 17, ops: int = 64, passes: int = 32, repeats: int = 5) -> dict:
    """What XLA's elementwise code does on this CPU on data that stays in cache (`size` float32 per device, about
    one lax.map group's hidden activations: 32 models x 200 points x 16 units), every device at once, fastest
    repeat; each kind in two forms, a dependent chain and `ops` independent terms summed as a tree, keeping the
    faster: FLOP/s of multiply-adds and exp/s (an exp's own multiply-add not counted). Each call makes `passes`
    passes inside one program, so the call's dispatch and synchronisation are a small share of it."""
    devices = jax.devices()
    sharding = jax.sharding.NamedSharding(engine.device_mesh(devices), jax.sharding.PartitionSpec(engine.AXIS))
    x = jax.device_put(jnp.linspace(-1, 1, size * len(devices), dtype=jnp.float32).reshape(len(devices), size),
                       sharding)

    def tree_sum(terms):
        while len(terms) > 1:
            terms = [a + b for a, b in zip(terms[::2], terms[1::2], strict=True)]
        return terms[0]

    forms = {  # name -> (function, operations of its kind per element)
        "fma_flops_per_s": ((lambda v: jax.lax.fori_loop(0, ops, lambda i, v: v * 0.999 + 0.001, v, unroll=True),
                             2 * ops),
                            (lambda v: tree_sum([v * (1 + k / 1000) + k / 7 for k in range(ops)]), 3 * ops - 1)),
        "exp_per_s": ((lambda v: jax.lax.fori_loop(0, ops, lambda i, v: jnp.exp(v) * 0.5 - 0.5, v, unroll=True), ops),
                      (lambda v: tree_sum([jnp.exp(v * (k / 1000)) for k in range(ops)]), ops)),
    }
    out = {}
    for name, variants in forms.items():
        rates = []
        for fn, per_element in variants:
            # Each pass starts from the last one's result, clipped back into range: no pass can be skipped.
            f = jax.jit(lambda v, fn=fn: jax.lax.fori_loop(0, passes, lambda i, v: jnp.clip(fn(v), -1, 1), v),
                        out_shardings=sharding)
            f(x).block_until_ready()
            best = min(timing.repeat_seconds(lambda f=f: f(x).block_until_ready(), repeats))
            rates.append(passes * per_element * size * len(devices) / best)
        out[name] = max(rates)
    return out


def roofline(rate: float, cost: dict, vector: dict, matmul_peak: float) -> str:
    """The bound that applies to a 2-16-1 model-step, whose matmuls are as small as its elementwise work and
    whose data stays in cache: its FLOPs at the elementwise rate plus its transcendentals at the exp rate;
    beside it the hard ceiling with every FLOP at the matmul peak."""
    exp_s = cost["transcendentals"] / vector["exp_per_s"]
    elementwise = 1 / (cost["flops"] / vector["fma_flops_per_s"] + exp_s)
    ceiling = 1 / (cost["flops"] / matmul_peak + exp_s)
    return (f"- elementwise roofline: one model-step is {cost['flops']:,.0f} FLOPs and {cost['transcendentals']:,.0f} "
            f"transcendentals (XLA's count); XLA's elementwise code here does {vector['fma_flops_per_s'] / 1e9:.1f} "
            f"GFLOP/s of in-cache multiply-adds and {vector['exp_per_s'] / 1e9:.2f} G exp/s (every device at once, "
            f"the faster of a dependent chain and independent terms), so a step made of elementwise code at these "
            f"rates runs at **{elementwise:,.0f} model-steps/s**: the engine default's {rate:,.0f} is "
            f"**{100 * rate / elementwise:.0f}%** of it (above 100%: some of its FLOPs run in matmul kernels, "
            "faster than elementwise code). Hard "
            f"ceiling, every FLOP at the matmul peak: {ceiling:,.0f} model-steps/s ({100 * rate / ceiling:.0f}%)")


def torch_rates(repeats: int) -> dict:
    """Model-steps/s of three PyTorch formulations of the workload (ImportError without torch)."""
    import torch

    x_np, y_np = workloads.fc_data()
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
        "torch_per_model": timing.rate(2 * 400, timing.repeat_seconds(per_model_loop, repeats)),
        "torch_batched_autograd": timing.rate(MODELS * STEPS, timing.repeat_seconds(batched_autograd, repeats)),
        "torch_batched_manual": timing.rate(MODELS * STEPS, timing.repeat_seconds(batched_manual, repeats)),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }


TORCH_ROWS = (("torch_per_model", "(c) PyTorch eager, per-model loop"),
              ("torch_batched_autograd", "PyTorch batched bmm + autograd"),
              ("torch_batched_manual", "PyTorch batched bmm, hand-written backward"))


def run(repeats: int = 3) -> str:
    devices = len(jax.devices())
    rates, auto = jax_rates(repeats)
    plain, one = rates.pop(PLAIN), rates.pop(ONE)
    default = next(iter(rates))
    best_engine_name = max(rates, key=rates.get)
    peak, cost, vector = matmul_peak(), step_cost(), vector_peak()
    flops = cost["flops"]
    try:
        torch_r = torch_rates(repeats)
    except ImportError:
        torch_r = None
    base = rates[default]
    rows = [(name + (" **(default)**" if name == default else ""), r, r / base) for name, r in rates.items()]
    rows += [(PLAIN, plain, plain / base), (ONE, one, one / base)]
    rows += [(label, torch_r[key], torch_r[key] / base) for key, label in TORCH_ROWS] if torch_r else []
    lines = [
        "## FC grid: engine vs one-at-a-time JAX vs PyTorch",
        "",
        f"{MODELS} MLPs 2-{HIDDEN}-1 (ReLU, sigmoid-CE), full-batch SGD on {POINTS} points, {STEPS} steps. "
        f"Device: {devices} x {jax.devices()[0].device_kind} (JAX). Model-steps/s, median of {repeats} interleaved "
        f"runs, compile excluded. The engine's default (group auto) resolved to group={auto}.",
        "",
        *Table("", ("contender", "model-steps/s", "vs engine default"), rows, (None, ",.0f", ".2f")).markdown()[:-1],
    ]
    if torch_r:
        best_torch = max(torch_r["torch_batched_autograd"], torch_r["torch_batched_manual"])
        lines += [
            "",
            f"PyTorch {torch_r['torch_version']}, {torch_r['torch_threads']} threads. (d) = the faster batched "
            "PyTorch formulation.",
            "",
            f"- engine default / (d) best batched PyTorch: **{base / best_torch:.2f}x** "
            f"{timing.target(base / best_torch, 2, unit='x')}",
            f"- engine default / (c) PyTorch per-model loop: **{base / torch_r['torch_per_model']:.1f}x** "
            f"{timing.target(base / torch_r['torch_per_model'], 20, unit='x')}",
        ]
    else:
        lines += ["", "PyTorch not installed (`make bench` installs it): PyTorch rows not measured."]
    best = rates[best_engine_name]
    lines += [
        f"- engine default / (a) plain vmap: **{base / plain:.2f}x**; / (b) JAX one model at a time: "
        f"**{base / one:.1f}x** {timing.target(min(base / plain, base / one), 1, unit='x')}",
        f"- fastest engine setting here: {best_engine_name}; the default reaches {base / best:.2f} of it "
        f"{timing.target(base / best, 0.9)}",
        f"- physical limit: one model-step is {flops:,.0f} FLOPs (XLA's count: forward, backward, update); "
        f"a float32 2048x2048 matmul on every device at once reaches {peak / 1e9:.1f} GFLOP/s here, so the "
        f"engine default's {base * flops / 1e9:.2f} GFLOP/s is **{100 * base * flops / peak:.1f}%** of this "
        "CPU's measured peak (tiny 16-wide layers: elementwise work and the step loop, not matmul units, "
        "bound it)",
        roofline(base, cost, vector, peak),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
