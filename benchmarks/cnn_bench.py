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

import jaxdl  # noqa: F401  (sets the host device count before jax starts)

# isort: split
import jax
import jax.numpy as jnp
import numpy as np

from experiments import cnn_aux
from jaxdl import data, engine

MODELS = 8
STEPS = 8
REPEATS = 3
GROUPS = (None, 4, 2, 1)


def _setup(steps: int, scan_friendly: bool, eval_size: int = 256):
    ds = data.load("mnist5k", "train")
    train_x, train_y = ds.images[eval_size:], ds.labels[eval_size:]
    _, task = cnn_aux.make_task("digit_value", num_classes=ds.num_classes, input_shape=ds.shape,
                                train_images=train_x, train_labels=train_y, optimizer="adam",
                                batch_size=64, eval_every=steps, scan_friendly=scan_friendly)
    batch = {"train": (jnp.asarray(train_x), jnp.asarray(train_y)),
             "eval": (jnp.asarray(ds.images[:eval_size]), jnp.asarray(ds.labels[:eval_size]))}
    return task, batch


def configurations(models: int, groups=GROUPS) -> list[tuple[bool, int, int | None]]:
    """(scan_friendly conv, devices, group): every group on 1 and on all devices with the scan-friendly
    convolution; flax's own convolution only one model at a time on all devices (it is ~7x slower
    everywhere, and slow to time)."""
    configs = []
    for n_dev in sorted({1, len(jax.devices())}):
        local = -(-models // n_dev)
        # A group >= the device's models is plain vmap: measure it once, as None.
        configs += [(True, n_dev, g) for g in groups if g is None or g < local]
    return configs + [(False, len(jax.devices()), 1)]


def measure(models: int = MODELS, steps: int = STEPS, repeats: int = REPEATS, groups=GROUPS) -> list[dict]:
    """Model-steps/s per configuration: one row each, with the median and every repeat."""
    keys = engine.seed_keys(range(models))
    hparams = {"lr": np.full(models, 1e-3, np.float32), "aux_weight": np.tile([0.0, 1.0], models // 2)}
    tasks = {sf: _setup(steps, sf) for sf in (True, False)}
    rows = []
    for scan_friendly, n_dev, group in configurations(models, groups):
        trainer = engine.make_train(tasks[scan_friendly][0], steps=steps, chunk_steps=steps, record_every=steps,
                                    group=group, mesh=engine.device_mesh(jax.devices()[:n_dev]))
        rows.append({"scan_friendly": scan_friendly, "devices": n_dev, "group": group, "trainer": trainer,
                     "repeats": [], "compile_s": []})
    for _ in range(repeats):
        for row in rows:  # interleaved: load changes on the shared machine hit every configuration alike
            result = row["trainer"](keys, hparams, tasks[row["scan_friendly"]][1], label="cnn_bench")
            row["repeats"].append(models * steps / result.wall_s)
            row["compile_s"].append(result.compile_s)
    for row in rows:
        del row["trainer"]
        row["model_steps_per_s"] = float(np.median(row["repeats"]))
        row["compile_s"] = row["compile_s"][0]  # later calls hit the compilation cache
    return rows


def _describe(row) -> str:
    g = row["group"]
    how = "vmap all (None)" if g is None else ("lax.map, 1 at a time" if g == 1 else f"groups of {g}")
    return how


def run() -> str:
    t0 = time.perf_counter()
    rows = measure()
    best = max(rows, key=lambda r: r["model_steps_per_s"])
    device = jax.devices()[0]
    cores = len(os.sched_getaffinity(0))
    where = f"{jax.default_backend()} `{device.device_kind}`"
    if jax.default_backend() == "cpu":
        where += (f", {cores} cores ({platform.processor() or platform.machine()}) shared by the host devices; "
                  "other jobs were running, hence the spread between repeats")
    lines = [
        "## CNN: batching many small CNNs on the engine (cnn_aux training step)",
        "",
        f"{MODELS} SmallCNNs with a 1-output regression head (421,771 parameters each), CE + λ·L2, Adam, "
        f"batch 64, mnist5k; {STEPS} steps per call, median of {REPEATS} interleaved repeats, compile excluded. "
        f"Device: {where}. Convolution: `scan-friendly` = jaxdl.models.scan_conv (gradient "
        "convolutions written in canonical NHWC/HWIO form), `flax` = nn.Conv's own.",
        "",
        "| convolution | devices | group | model-steps/s (median) | repeats | vs fastest | compile s (first call) |",
        "|---|---:|---|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {'scan-friendly' if r['scan_friendly'] else 'flax'} | {r['devices']} | {_describe(r)} | "
                     f"{r['model_steps_per_s']:.1f} | " + ", ".join(f"{v:.1f}" for v in r["repeats"])
                     + f" | {r['model_steps_per_s'] / best['model_steps_per_s']:.2f} | {r['compile_s']:.1f} |")
    lines += ["", f"Fastest: {'scan-friendly' if best['scan_friendly'] else 'flax'} convolution, {best['devices']} "
              f"device(s), {_describe(best)}. Benchmark wall time {time.perf_counter() - t0:.0f} s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
