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
STEPS = 30
REPEATS = 3
GROUPS = (None, 4, 2, 1)


def _setup(steps: int, eval_size: int = 256):
    ds = data.load("mnist5k", "train")
    train_x, train_y = ds.images[eval_size:], ds.labels[eval_size:]
    _, task = cnn_aux.make_task("digit_value", num_classes=ds.num_classes, input_shape=ds.shape,
                                train_images=train_x, train_labels=train_y, optimizer="adam",
                                batch_size=64, eval_every=steps)
    batch = {"train": (jnp.asarray(train_x), jnp.asarray(train_y)),
             "eval": (jnp.asarray(ds.images[:eval_size]), jnp.asarray(ds.labels[:eval_size]))}
    return task, batch


def measure(models: int = MODELS, steps: int = STEPS, repeats: int = REPEATS, groups=GROUPS) -> list[dict]:
    """Model-steps/s per (devices, group): one row each, with the median and every repeat."""
    task, batch = _setup(steps)
    keys = engine.seed_keys(range(models))
    hparams = {"lr": np.full(models, 1e-3, np.float32), "aux_weight": np.tile([0.0, 1.0], models // 2)}
    configs = []
    for n_dev in sorted({1, len(jax.devices())}):
        local = -(-models // n_dev)
        # A group >= the device's models is plain vmap: measure it once, as None.
        for group in [g for g in groups if g is None or g < local]:
            mesh = engine.device_mesh(jax.devices()[:n_dev])
            trainer = engine.make_train(task, steps=steps, chunk_steps=steps, record_every=steps, group=group,
                                        mesh=mesh)
            configs.append({"devices": n_dev, "group": group, "trainer": trainer, "rates": [], "compile_s": []})
    for _ in range(repeats):
        for cfg in configs:
            result = cfg["trainer"](keys, hparams, batch, label=f"bench d{cfg['devices']} g{cfg['group']}")
            cfg["rates"].append(models * steps / result.wall_s)
            cfg["compile_s"].append(result.compile_s)
    return [{"devices": c["devices"], "group": c["group"], "model_steps_per_s": float(np.median(c["rates"])),
             "repeats": c["rates"], "compile_s": float(np.median(c["compile_s"]))} for c in configs]


def run() -> str:
    t0 = time.perf_counter()
    rows = measure()
    best = max(rows, key=lambda r: r["model_steps_per_s"])
    device = jax.devices()[0]
    cores = len(os.sched_getaffinity(0))
    describe = lambda g: "vmap all (None)" if g is None else ("lax.map, 1 at a time" if g == 1 else f"groups of {g}")
    lines = [
        "## CNN: batching strategy for many small CNNs (cnn_aux training step)",
        "",
        f"{MODELS} SmallCNNs (28x28x1, 10 classes + 1 regression output, 421,771 parameters each), Adam, "
        f"batch 64, mnist5k, {STEPS} steps per call, median of {REPEATS} interleaved repeats, compile "
        f"excluded. Device: {jax.default_backend()} `{device.device_kind}`"
        + (f" ({cores} cores, {platform.processor() or platform.machine()}; host devices share them)"
           if jax.default_backend() == "cpu" else "") + ".",
        "",
        "| devices | group | model-steps/s (median) | repeats | vs best | compile s |",
        "|---:|---|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['devices']} | {describe(r['group'])} | {r['model_steps_per_s']:.1f} | "
                     + ", ".join(f"{v:.1f}" for v in r["repeats"])
                     + f" | {r['model_steps_per_s'] / best['model_steps_per_s']:.2f} | {r['compile_s']:.1f} |")
    lines += ["", f"Fastest: {best['devices']} device(s), {describe(best['group'])}. "
              f"Benchmark wall time {time.perf_counter() - t0:.0f} s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
