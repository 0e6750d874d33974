"""Model-zoo training throughput: images/s per model under the zoo's recipe on the engine; MFU on a GPU.

Each model trains `SEEDS` seeds on synthetic 32x32x3 batches (the svhn_synth shape) exactly as
experiments/svhn_zoo/ does (jaxdl.tasks.recipe task, engine, one seed at a time per device on CPU, all seeds
vmapped on GPU, bf16 compute on GPU). Images/s is the steady state: the step time is the difference of
a call of 2n steps and one of n steps over n (median of `REPEATS` pairs), so what a call costs besides its
steps (the chunk's state snapshot and divergence check, the result's transfer: "per-call s" in the
table), which svhn_zoo pays once per chunk of up to 50 steps, is reported beside it rather than spread over a
few steps; compile and model init excluded. On a GPU the model-FLOPs utilisation is 3 x XLA's forward
FLOPs x images/s over the chip's dense bf16 peak (jaxdl.reporting.peaks.PEAK_BF16); ResNet-18 is the
headline (target >= 35%).

On CPU PyTorch trains the same architectures (benchmarks/torch_zoo.py) at the same batch, one repeat
after each of ours, each in a fresh process of its own, when torch is installed (`make bench` installs it).

    python -m benchmarks.zoo_bench                    # prints a markdown section
    python -m benchmarks.zoo_bench resnet18 resnet50  # some models only
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.experiment import runtime
from jaxdl.models import flops
from jaxdl.reporting import peaks
from jaxdl.tasks import recipe
from jaxdl.training import engine

REPEATS = 3
SEEDS = 2
# (CPU steps per call, batch); GPU: 50 steps at batch 512 for every model.
# ResNet-50 at 2 steps: with 1 (and PyTorch's 2) its repeats spread over 2.6x (3.0-7.8 images/s).
CPU_PLAN = {"lenet5": 40, "alexnet": 8, "vgg16": 2, "resnet18": 2, "resnet50": 2, "resnet101": 1}
# PyTorch's steps per repeat where ours would give it too little to time (one model, not SEEDS).
TORCH_STEPS = {"lenet5": 80, "alexnet": 16, "vgg16": 4, "resnet18": 4, "resnet50": 4, "resnet101": 2}
CPU_BATCH, GPU_BATCH, GPU_STEPS = 32, 512, 50
_ROOT = pathlib.Path(__file__).resolve().parent.parent


def _optimizer_text() -> str:
    rec = recipe.Recipe()
    return "Adam + decoupled weight decay" if rec.optimizer == "adam" else "SGD + Nesterov 0.9, weight decay"


def _torch_rates(name: str, steps: int, batch: int) -> list[float] | None:
    """One PyTorch CPU repeat (benchmarks/torch_zoo.py) in a process of its own, or None without torch.
    Not in this process: after PyTorch had trained here, the engine's ResNet-50 ran at 11-13 images/s
    against 15.8 before (ResNet-18 unchanged; 2026-12-04, same process, alternating)."""
    if importlib.util.find_spec("torch") is None:
        return None
    cmd = [sys.executable, "-m", "benchmarks.torch_zoo", name, str(batch), str(steps),
           str(len(os.sched_getaffinity(0))), recipe.Recipe().optimizer]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=_ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def steady_state(one: float, two: float, steps: int) -> tuple[float, float] | None:
    """(seconds per step, seconds per call besides its steps) from the wall times of a call of `steps`
    steps (`one`) and one of 2 x `steps` (`two`), modelling a call as overhead + steps x step time; None
    when the longer call was not the slower (no estimate)."""
    step_s = (two - one) / steps
    return (step_s, one - steps * step_s) if step_s > 0 else None


def _trainer(name: str, steps: int, batch: int, on_gpu: bool, train):
    _, task = recipe.make_task(name, recipe.Recipe(batch_size=batch), steps=steps, train=train, eval_size=64,
                               num_classes=10, eval_every=None, dtype=recipe.compute_dtype("auto"))
    return engine.make_train(task, steps=steps, chunk_steps=steps, record_every=steps, group=None if on_gpu else 1)


def measure(name: str, steps: int, batch: int, on_gpu: bool) -> dict:
    rng = np.random.default_rng(0)
    n = 4096
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.int32)
    short, long = (_trainer(name, k * steps, batch, on_gpu, (images, labels)) for k in (1, 2))
    keys = engine.seed_keys(range(SEEDS))
    data = recipe.device_data((images, labels), images[:64], labels[:64])
    rates, overheads, torch_rates = [], [], []
    # PyTorch (CPU only), one repeat after each of ours: both see the same load. Our timed calls follow an
    # untimed one, as PyTorch's steps follow its warm-up step: the first call after PyTorch's process (or
    # any pause) ran 10-20% slower than the next (ResNet-50: 12.8-13.5 against 15.3-15.7 images/s).
    # Both programs once untimed first: the first call of a fresh program ran slow (ResNet-18 46.9 and
    # ResNet-50 15.2 images/s in the first pair against 54.7-55.3 and 19.8-20.9 in the next two).
    compile_s = short(keys, {}, data, label=f"zoo_bench {name}").compile_s
    long(keys, {}, data, label=f"zoo_bench {name}")
    for _ in range(REPEATS):
        short(keys, {}, data, label=f"zoo_bench {name}")
        one, two = (trainer(keys, {}, data, label=f"zoo_bench {name}").wall_s for trainer in (short, long))
        pair = steady_state(one, two, steps)
        if pair:
            rates.append(SEEDS * batch / pair[0])
            overheads.append(pair[1])
        else:  # the machine slowed down between the two calls: no estimate from this pair
            print(f"[zoo_bench] {name}: {2 * steps} steps took {two:.2f} s, {steps} took {one:.2f} s; pair dropped",
                  file=sys.stderr, flush=True)
        if not on_gpu and torch_rates is not None:
            torch_rates = (r := _torch_rates(name, TORCH_STEPS.get(name, steps), batch)) and torch_rates + r
    if not rates:
        raise RuntimeError(f"zoo_bench {name}: no repeat gave a positive step time; rerun on a quieter machine")
    row = {"model": name, "images_per_s": float(np.median(rates)), "repeats": rates, "compile_s": compile_s,
           "call_overhead_s": float(np.median(overheads)), "steps": steps, "batch": batch,
           "dtype": jnp.dtype(recipe.compute_dtype("auto")).name}
    if torch_rates:
        row["torch_images_per_s"] = float(np.median(torch_rates))
        row["torch_repeats"] = torch_rates
    row["forward_flops"] = flops.forward_flops(name, 10, (32, 32, 3))
    print(f"[zoo_bench] {name}: {row['images_per_s']:.1f} images/s (PyTorch {row.get('torch_images_per_s')}), "
          f"{row['call_overhead_s']:.2f} s per call besides its steps, compile {compile_s:.1f} s",
          file=sys.stderr, flush=True)
    peak, _ = peaks.peak_bf16(jax.devices()[0].device_kind)
    if on_gpu and peak:
        row["mfu"] = 3 * row["forward_flops"] * row["images_per_s"] / (peak * len(jax.devices()))
    return row


def run(models=tuple(CPU_PLAN)) -> str:
    t0, load_start = time.perf_counter(), os.getloadavg()[0]
    on_gpu = jax.default_backend() == "gpu"
    device = jax.devices()[0]
    rows = [measure(name, GPU_STEPS if on_gpu else steps, GPU_BATCH if on_gpu else CPU_BATCH, on_gpu)
            for name, steps in CPU_PLAN.items() if name in models]
    where = f"{len(jax.devices())} x {jax.default_backend()} `{device.device_kind}`"
    if not on_gpu:
        where += f" ({len(os.sched_getaffinity(0))} cores, {platform.processor() or platform.machine()})"
    lines = [
        "## Model zoo: training throughput (svhn_zoo recipe)",
        "",
        f"{SEEDS} seeds per model on {where}, 32x32x3 inputs, {_optimizer_text()}, random crop, per-image "
        f"standardisation; compute "
        f"{rows[0]['dtype']}. Images/s counts every seed's images at the steady state: the step time is (t(2n) - "
        f"t(n)) / n, t(k) a call of k steps (n = steps / call), median of the pairs in 'repeats' ({REPEATS}, fewer "
        "where the longer call was not the slower); per-call s = t(n) - n x step time, what a call costs besides "
        "its steps (the chunk's state snapshot and divergence check, the result's transfer), which svhn_zoo pays "
        "once per chunk of up to 50 steps. Compile and model init excluded, and so is the first call of each "
        "fresh program (it ran 15-25% slower; svhn_zoo makes one such call per model).",
        "",
        "| model | batch | steps / call | images/s (median) | repeats | per-call s | forward GFLOPs / image "
        "| compile s |"
        + (" MFU |" if on_gpu else " PyTorch CPU images/s (repeats) | ours / PyTorch |"),
        "|---|---:|---:|---:|---|---:|---:|---:|" + ("---:|" if on_gpu else "---|---:|"),
    ]
    for r in rows:
        if "torch_images_per_s" in r:
            contender = (f" {r['torch_images_per_s']:,.1f} (" + ", ".join(f"{v:,.1f}" for v in r["torch_repeats"])
                         + f") | {r['images_per_s'] / r['torch_images_per_s']:.2f}x |")
        else:
            contender = " (torch not installed) | |"
        lines.append(f"| {r['model']} | {r['batch']} | {r['steps']} | {r['images_per_s']:,.1f} | "
                     + ", ".join(f"{v:,.1f}" for v in r["repeats"])
                     + f" | {r['call_overhead_s']:.2f} | {r['forward_flops'] / 1e9:.3f} | {r['compile_s']:.1f} |"
                     + (f" {100 * r.get('mfu', float('nan')):.1f}% |" if on_gpu else contender))
    if not on_gpu:
        lines += ["", f"PyTorch {_torch_version()} CPU: the same architectures (benchmarks/torch_zoo.py, "
                  "equal parameter counts), one model with as many intra-op threads as cores, the same optimizer "
                  f"({_optimizer_text()}), no augmentation, same batch; one of its repeats runs after each of ours, "
                  "in a process of its own (run in ours, it slowed our ResNet-50 by 20-30%), each side's timed "
                  "steps after an untimed step or call; its images/s are its steps' alone (model built, warm-up "
                  "step taken), the steady state too."]
        lines += ["", "GPU (ResNet-18 bf16 MFU, target >= 35%): not measured here; run `make bench` on a GPU "
                  "machine."]
    # Other jobs on the same cores move both contenders, PyTorch's 2 OpenMP threads far more (it fell from
    # 68 to 8 images/s for ResNet-18 while another process took a core; ours from 39 to 18): read the
    # ratio with the load beside it.
    lines += ["", f"Benchmark wall time {time.perf_counter() - t0:.0f} s; 1-minute load average "
              f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
              f"(this benchmark alone adds about {len(os.sched_getaffinity(0))}).", ""]
    return "\n".join(lines)


def _torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


if __name__ == "__main__":
    runtime.configure()
    print(run(tuple(sys.argv[1:]) or tuple(CPU_PLAN)))
