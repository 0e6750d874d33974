"""Batched CNN training on the engine: vmap all models vs small groups vs one at a time, 1 vs 2 devices.

vmapping a CNN's conv weights over models turns every convolution into a grouped convolution, which
XLA often runs slower than a loop over models (jax#26568, jax#13800). This measures model-steps/s of
the cnn_aux experiment's real training step (SmallCNN with its regression head, CE + λ·L2, Adam,
batch 64, mnist5k) for each engine `group` (None = one vmap over a device's models, g = lax.map over
vmapped groups of g, 1 = one model at a time) on 1 and on 2 devices (the model axis sharded).
Same models, data and steps for every configuration; configurations interleaved within each repeat
(the machine is shared: noise hits them alike); compile time excluded; medians over repeats.

    python -m benchmarks.cnn_bench        # prints a markdown section
"""

from __future__ import annotations

import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import cnn_aux
from jaxdl import data
from jaxdl.experiment import runtime
from jaxdl.training import engine

MODELS = 8
# Steps per call: a quarter of the experiment's 100-step chunks, so each call's fixed costs (initialisation,
# host copies of the states) weigh about as they do there; at 8 steps they were ~6% of an engine call.
STEPS = 24
FLAX_STEPS = 2  # flax's own convolution is ~30x slower here: a few steps time it
REPEATS = 3
GROUPS = (None, 2, 1)


def _setup(steps: int, scan_friendly: bool, eval_size: int = 256):
    ds = data.load("mnist5k", "train")
    train_x, train_y = ds.images[eval_size:], ds.labels[eval_size:]
    _, task = cnn_aux.make_task("digit_value", num_classes=ds.num_classes, input_shape=ds.shape,
                                train_images=train_x, train_labels=train_y, optimizer="adam",
                                batch_size=64, eval_every=steps, scan_friendly=scan_friendly)
    batch = {"train": (jnp.asarray(train_x), jnp.asarray(train_y)),
             "eval": (jnp.asarray(ds.images[:eval_size]), jnp.asarray(ds.labels[:eval_size]))}
    return task, batch


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

    def train_one(key, hp):
        state = task.init(key, hp)
        state, _ = jax.lax.scan(lambda s, t: (task.step(s, batch, t)[0], None), state, jnp.arange(steps))
        return state

    one, plain = jax.jit(train_one), jax.jit(jax.vmap(train_one))
    per_model = [jax.tree.map(lambda v, k=k: v[k], hparams) for k in range(len(keys))]
    return {PLAIN: lambda: jax.block_until_ready(plain(keys, hparams)),
            ONE: lambda: [jax.block_until_ready(one(k, hp)) for k, hp in zip(keys, per_model, strict=True)]}


PLAIN = "plain jax.vmap of the jit'd scan, no engine"
ONE = "one by one (jit'd scan per model), no engine"


def measure(models: int = MODELS, steps: int = STEPS, repeats: int = REPEATS, groups=GROUPS) -> list[dict]:
    """Model-steps/s per configuration: one row each, with the median and every repeat."""
    keys = engine.seed_keys(range(models))
    hparams = {"lr": np.full(models, 1e-3, np.float32), "aux_weight": np.tile([0.0, 1.0], models // 2)}
    tasks = {sf: _setup(steps, sf) for sf in (True, False)}
    rows = []
    for scan_friendly, n_dev, group in configurations(models, groups):
        n = steps if scan_friendly else min(steps, FLAX_STEPS)
        trainer = engine.make_train(tasks[scan_friendly][0], steps=n, chunk_steps=n, record_every=n,
                                    group=group, mesh=engine.device_mesh(jax.devices()[:n_dev]))
        task_batch = tasks[scan_friendly][1]
        rows.append({"scan_friendly": scan_friendly, "devices": n_dev, "group": group, "repeats": [], "steps": n,
                     "call": lambda trainer=trainer, b=task_batch: trainer(keys, hparams, b, label="cnn_bench")})
    jhp = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
    for name, fn in _naive(*tasks[True], steps, keys, jhp).items():
        rows.append({"scan_friendly": True, "devices": 1, "group": name, "repeats": [], "steps": steps, "call": fn})
    for row in rows:
        t0 = time.perf_counter()
        first = row["call"]()
        row["compile_s"] = first.compile_s if isinstance(first, engine.Result) else time.perf_counter() - t0
        if row["group"] == engine.AUTO:
            row["resolved"] = first.group
    for _ in range(repeats):
        for row in rows:  # interleaved: load changes on the shared machine hit every configuration alike
            t0 = time.perf_counter()
            row["call"]()
            row["repeats"].append(models * row["steps"] / (time.perf_counter() - t0))
    for row in rows:
        del row["call"]
        row["model_steps_per_s"] = float(np.median(row["repeats"]))
    return rows


def _describe(row) -> str:
    g = row["group"]
    if g == engine.AUTO:
        return f"**engine default** (auto = {row['resolved']})"
    if isinstance(g, str):
        return g
    return "vmap all (None)" if g is None else ("lax.map, 1 at a time" if g == 1 else f"groups of {g}")


def run() -> str:
    t0 = time.perf_counter()
    rows = measure()
    best = max(rows, key=lambda r: r["model_steps_per_s"])
    device = jax.devices()[0]
    cores = len(os.sched_getaffinity(0))
    where = f"{jax.default_backend()} `{device.device_kind}`"
    if jax.default_backend() == "cpu":
        where += (f", {cores} cores ({platform.processor() or platform.machine()}) shared by the host devices; "
                  f"1-minute load average {os.getloadavg()[0]:.1f} at the end (this benchmark alone adds about "
                  f"{cores})")
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
        "| convolution | devices | group | model-steps/s (median) | repeats | vs fastest "
        "| compile s (naive: 1st call) |",
        "|---|---:|---|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {'scan-friendly' if r['scan_friendly'] else 'flax'} | {r['devices']} | {_describe(r)} | "
                     f"{r['model_steps_per_s']:.1f} | " + ", ".join(f"{v:.1f}" for v in r["repeats"])
                     + f" | {r['model_steps_per_s'] / best['model_steps_per_s']:.2f} | {r['compile_s']:.1f} |")
    default = next(r for r in rows if r["group"] == engine.AUTO)["model_steps_per_s"]
    naive = {r["group"]: r["model_steps_per_s"] for r in rows if r["group"] in (PLAIN, ONE)}
    lines += ["", f"Engine default / plain vmap: **{default / naive[PLAIN]:.2f}x**; / one by one: "
              f"**{default / naive[ONE]:.2f}x** (targets >= 1). Engine default / fastest: "
              f"{default / best['model_steps_per_s']:.2f} (target >= 0.9).", "",
              f"Fastest: {'scan-friendly' if best['scan_friendly'] else 'flax'} convolution, {best['devices']} "
              f"device(s), {_describe(best)}. Benchmark wall time {time.perf_counter() - t0:.0f} s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
