"""Batched CNN training on the engine: vmap all models vs small groups vs one at a time, 1 vs 2 devices.

vmapping a CNN's conv weights over models turns every convolution into a grouped convolution, which
XLA often runs slower than a loop over models (jax#26568, jax#13800). This measures model-steps/s of
the cnn_aux experiment's real training step (SmallCNN with its regression head, CE + λ·L2, Adam,
batch 64, mnist5k) for each engine `group` (None = one vmap over a device's models, g = lax.map over
vmapped groups of g, 1 = one model at a time) on 1 and on 2 devices (the model axis sharded).
Same models, data and steps for every configuration (benchmarks/workloads.py); configurations interleaved
within each repeat (the machine is shared: noise hits them alike); compile time excluded; medians over repeats.

    python -m benchmarks.cnn_bench        # prints a markdown section
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp

from benchmarks import timing, workloads
from jaxdl import data
from jaxdl.experiment import runtime
from jaxdl.reporting.summary import Table
from jaxdl.training import engine

MODELS = 8
# Steps per call: a quarter of the experiment's 100-step chunks, so each call's fixed costs (initialisation,
# host copies of the states) weigh about as they do there; at 8 steps they were ~6% of an engine call.
STEPS = 24
FLAX_STEPS = 2  # flax's own convolution is ~30x slower here: a few steps time it
REPEATS = 3
GROUPS = (None, 2, 1)
EVAL_SIZE = 256
PLAIN = "plain jax.vmap of the jit'd scan, no engine"
ONE = "one by one (jit'd scan per model), no engine"


def configurations(models: int, groups=GROUPS) -> list[tuple[bool, int, int | str | None]]:
    """(scan_friendly conv, devices, group): the engine's default ("auto") and every group on all devices
    with the scan-friendly convolution, every group on 1 device; flax's own convolution only one model
    at a time on all devices (it is ~7x slower everywhere, and slow to time)."""
    n_all = len(jax.devices())
    configs = [(True, n_all, engine.AUTO)]
    for n_dev in sorted({n_all, 1}, reverse=True):
        local = -(-models // n_dev)
        # A group >= the device's models is plain vmap: measure it once, as None.
        configs += [(True, n_dev, g) for g in groups if g is None or g < local]
    return configs + [(False, n_all, 1)]


def _naive(task, batch, steps: int, keys, hparams) -> dict:
    """The alternatives without the engine, on one device: the same step in a jit'd `lax.scan` per model,
    run (a) vmapped over all models, (b) one model after another."""
    train_one = workloads.scan_train(task, batch, steps)
    one, plain = jax.jit(train_one), jax.jit(jax.vmap(train_one))
    per_model = [jax.tree.map(lambda v, k=k: v[k], hparams) for k in range(len(keys))]
    return {PLAIN: lambda: jax.block_until_ready(plain(keys, hparams)),
            ONE: lambda: [jax.block_until_ready(one(k, hp)) for k, hp in zip(keys, per_model, strict=True)]}


def measure(models: int = MODELS, steps: int = STEPS, repeats: int = REPEATS, groups=GROUPS) -> list[dict]:
    """Model-steps/s per configuration: one row each, with the median and every repeat."""
    keys = engine.seed_keys(range(models))
    hparams = workloads.cnn_hparams(models)
    ds = data.load("mnist5k", "train")
    batch = workloads.cnn_data(ds, EVAL_SIZE)
    tasks = {sf: workloads.cnn_task(ds, eval_size=EVAL_SIZE, batch_size=64, eval_every=steps, scan_friendly=sf)
             for sf in (True, False)}
    rows, calls = [], {}
    for scan_friendly, n_dev, group in configurations(models, groups):
        n = steps if scan_friendly else min(steps, FLAX_STEPS)
        trainer = workloads.one_chunk(tasks[scan_friendly], n, group=group,
                                      mesh=engine.device_mesh(jax.devices()[:n_dev]))
        calls[len(rows)] = lambda trainer=trainer: trainer(keys, hparams, batch, label="cnn_bench")
        rows.append({"scan_friendly": scan_friendly, "devices": n_dev, "group": group, "steps": n})
    jhp = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
    for name, fn in _naive(tasks[True], batch, steps, keys, jhp).items():
        calls[len(rows)] = fn
        rows.append({"scan_friendly": True, "devices": 1, "group": name, "steps": steps})
    # interleaved: load changes on the shared machine hit every configuration alike
    timings = timing.side_by_side(calls, repeats)
    for i, row in enumerate(rows):
        t = timings[i]
        row |= {"compile_s": t.compile_s, "repeats": t.rates(models * row["steps"]),
                "model_steps_per_s": t.rate(models * row["steps"])}
        if row["group"] == engine.AUTO:
            row["resolved"] = t.first.group
    return rows


def _describe(row) -> str:
    g = row["group"]
    if g == engine.AUTO:
        return f"**engine default** (auto = {row['resolved']})"
    if isinstance(g, str):
        return g
    return "vmap all (None)" if g is None else ("lax.map, 1 at a time" if g == 1 else f"groups of {g}")


def _conv(row) -> str:
    return "scan-friendly" if row["scan_friendly"] else "flax"


def run() -> str:
    t0 = time.perf_counter()
    rows = measure()
    best = max(rows, key=lambda r: r["model_steps_per_s"])
    where = f"{jax.default_backend()} `{jax.devices()[0].device_kind}`"
    if jax.default_backend() == "cpu":
        where += (f", {timing.cpu_text()} shared by the host devices; 1-minute load average "
                  f"{os.getloadavg()[0]:.1f} at the end (this benchmark alone adds about "
                  f"{len(os.sched_getaffinity(0))})")
    table = Table("", ("convolution", "devices", "group", "model-steps/s (median)", "repeats", "vs fastest",
                       "compile s (naive: 1st call)"),
                  [(_conv(r), r["devices"], _describe(r), r["model_steps_per_s"],
                    ", ".join(f"{v:.1f}" for v in r["repeats"]), r["model_steps_per_s"] / best["model_steps_per_s"],
                    r["compile_s"]) for r in rows],
                  (None, None, None, ".1f", None, ".2f", ".1f"))
    default = next(r for r in rows if r["group"] == engine.AUTO)["model_steps_per_s"]
    naive = {r["group"]: r["model_steps_per_s"] for r in rows if r["group"] in (PLAIN, ONE)}
    lines = [
        "## CNN: batching many small CNNs on the engine (cnn_aux training step)",
        "",
        f"{MODELS} SmallCNNs with a 1-output regression head (421,771 parameters each), CE + λ·L2, Adam, "
        f"batch 64, mnist5k; {STEPS} steps per call, median of {REPEATS} interleaved repeats of the whole call "
        "(engine rows: initialisation and host copies included), compile excluded. "
        f"Device: {where}. Convolution: `scan-friendly` = jaxdl.models.scan_conv (gradient "
        "convolutions written in canonical NHWC/HWIO form), `flax` = nn.Conv's own "
        f"({FLAX_STEPS} steps per call: it is too slow to time for longer).",
        "",
        *table.markdown(),
        f"Engine default / plain vmap: **{default / naive[PLAIN]:.2f}x**; / one by one: "
        f"**{default / naive[ONE]:.2f}x** (targets >= 1). Engine default / fastest: "
        f"{default / best['model_steps_per_s']:.2f} (target >= 0.9).", "",
        f"Fastest: {_conv(best)} convolution, {best['devices']} device(s), {_describe(best)}. Benchmark wall time "
        f"{time.perf_counter() - t0:.0f} s.", "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
