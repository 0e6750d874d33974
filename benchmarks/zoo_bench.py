"""Model-zoo training throughput: images/s per model under the zoo's recipe on the engine; MFU on a GPU.

Each model trains `SEEDS` seeds on synthetic 32x32x3 batches (the svhn_synth shape) exactly as
experiments/svhn_zoo.py does (jaxdl.recipe task, engine, one seed at a time per device on CPU, all seeds
vmapped on GPU, bf16 compute on GPU), for a fixed number of steps per call; compile excluded; median of
`REPEATS` calls. On a GPU the model-FLOPs utilisation is 3 x XLA's forward FLOPs x images/s over the
chip's dense bf16 peak (experiments.svhn_zoo.PEAK_BF16); ResNet-18 is the headline (target >= 35%).

    python -m benchmarks.zoo_bench        # prints a markdown section
"""

from __future__ import annotations

import os
import platform
import sys
import time

import jaxdl  # noqa: F401  (sets the host device count before jax starts)

# isort: split
import jax
import jax.numpy as jnp
import numpy as np

from experiments import svhn_zoo
from jaxdl import engine, recipe

REPEATS = 3
SEEDS = 2
# (CPU steps per call, batch); GPU: 50 steps at batch 512 for every model.
CPU_PLAN = {"lenet5": 40, "alexnet": 8, "vgg16": 2, "resnet18": 2, "resnet50": 1, "resnet101": 1}
CPU_BATCH, GPU_BATCH, GPU_STEPS = 32, 512, 50


def measure(name: str, steps: int, batch: int, on_gpu: bool) -> dict:
    rng = np.random.default_rng(0)
    n = 4096
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.int32)
    dtype = recipe.compute_dtype("auto")
    _, task = recipe.make_task(name, recipe.Recipe(batch_size=batch), steps=steps, train=(images, labels),
                                   eval_images=images[:64], eval_labels=labels[:64], num_classes=10,
                                   eval_every=None, dtype=dtype)
    trainer = engine.make_train(task, steps=steps, chunk_steps=steps, record_every=steps,
                                group=None if on_gpu else 1)
    keys = engine.seed_keys(range(SEEDS))
    data = recipe.device_data((images, labels), images[:64], labels[:64])
    rates, compile_s = [], None
    for _ in range(REPEATS):
        result = trainer(keys, {}, data, label=f"zoo_bench {name}")
        rates.append(SEEDS * steps * batch / result.wall_s)
        compile_s = compile_s or result.compile_s
    row = {"model": name, "images_per_s": float(np.median(rates)), "repeats": rates, "compile_s": compile_s,
           "steps": steps, "batch": batch, "dtype": jnp.dtype(dtype).name}
    row["forward_flops"] = svhn_zoo.forward_flops(name, 10, (32, 32, 3))
    print(f"[zoo_bench] {name}: {row['images_per_s']:.1f} images/s, compile {compile_s:.1f} s", file=sys.stderr,
          flush=True)
    peak = next((v for k, v in svhn_zoo.PEAK_BF16.items() if k in jax.devices()[0].device_kind), None)
    if on_gpu and peak:
        row["mfu"] = 3 * row["forward_flops"] * row["images_per_s"] / (peak * len(jax.devices()))
    return row


def run() -> str:
    t0 = time.perf_counter()
    on_gpu = jax.default_backend() == "gpu"
    device = jax.devices()[0]
    rows = [measure(name, GPU_STEPS if on_gpu else steps, GPU_BATCH if on_gpu else CPU_BATCH, on_gpu)
            for name, steps in CPU_PLAN.items()]
    where = f"{len(jax.devices())} x {jax.default_backend()} `{device.device_kind}`"
    if not on_gpu:
        where += f" ({len(os.sched_getaffinity(0))} cores, {platform.processor() or platform.machine()})"
    lines = [
        "## Model zoo: training throughput (svhn_zoo recipe)",
        "",
        f"{SEEDS} seeds per model on {where}, 32x32x3 inputs, SGD + Nesterov, random crop; compute "
        f"{rows[0]['dtype']}; median of {REPEATS} calls, compile excluded. Images/s counts every seed's images.",
        "",
        "| model | batch | steps / call | images/s (median) | repeats | forward GFLOPs / image | compile s |"
        + (" MFU |" if on_gpu else ""),
        "|---|---:|---:|---:|---|---:|---:|" + ("---:|" if on_gpu else ""),
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['batch']} | {r['steps']} | {r['images_per_s']:,.1f} | "
                     + ", ".join(f"{v:,.1f}" for v in r["repeats"])
                     + f" | {r['forward_flops'] / 1e9:.3f} | {r['compile_s']:.1f} |"
                     + (f" {100 * r.get('mfu', float('nan')):.1f}% |" if on_gpu else ""))
    if not on_gpu:
        lines += ["", "GPU (ResNet-18 bf16 MFU, target >= 35%): not measured here; run `make bench` on a GPU "
                  "machine."]
    lines += ["", f"Benchmark wall time {time.perf_counter() - t0:.0f} s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
