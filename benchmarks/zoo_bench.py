"""Model-zoo training throughput: images/s per model under the zoo's recipe on the engine; MFU on a GPU.

Each model trains `SEEDS` seeds on random 32x32x3 batches (the svhn_synth shape; benchmarks/workloads.py)
exactly as experiments/svhn_zoo/ does (jaxdl.tasks.recipe task, engine, one seed at a time per device on
CPU, all seeds vmapped on GPU, bf16 compute on GPU). Images/s is the steady state
(benchmarks.timing.steady_state): the step time is the difference of a call of 2n steps and one of n
steps over n (median of `REPEATS` pairs), so what a call costs besides its steps (the chunk's state
snapshot and divergence check, the result's transfer: "per-call s" in the table), which svhn_zoo pays
once per chunk of up to 50 steps, is reported beside it rather than spread over a few steps; compile and
model init excluded. On a GPU the model-FLOPs utilisation is 3 x XLA's forward FLOPs x images/s over the
chip's dense bf16 peak (jaxdl.reporting.peaks.PEAK_BF16); ResNet-18 is the headline (target >= 35%).

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
import statistics
import sys
import time

import jax
import jax.numpy as jnp

from benchmarks import timing, workloads
from jaxdl.experiment import runtime
from jaxdl.models import flops
from jaxdl.reporting import peaks
from jaxdl.reporting.summary import Table
from jaxdl.tasks import recipe
from jaxdl.training import engine

REPEATS = 3
SEEDS = 2
# CPU steps per call (batch CPU_BATCH); GPU: GPU_STEPS at GPU_BATCH for every model.
# ResNet-50 at 2 steps: with 1 (and PyTorch's 2) its repeats spread over 2.6x (3.0-7.8 images/s).
CPU_PLAN = {"lenet5": 40, "alexnet": 8, "vgg16": 2, "resnet18": 2, "resnet50": 2, "resnet101": 1}
# PyTorch's steps per repeat where ours would give it too little to time (one model, not SEEDS).
TORCH_STEPS = {"lenet5": 80, "alexnet": 16, "vgg16": 4, "resnet18": 4, "resnet50": 4, "resnet101": 2}
CPU_BATCH, GPU_BATCH, GPU_STEPS = 32, 512, 50


def _optimizer_text() -> str:
    rec = recipe.Recipe()
    return "Adam + decoupled weight decay" if rec.optimizer == "adam" else "SGD + Nesterov 0.9, weight decay"


def _torch_seconds(name: str, steps: int, batch: int) -> float:
    """Seconds of one PyTorch CPU repeat of `steps` steps (benchmarks/torch_zoo.py) in a process of its own:
    after PyTorch had trained in this process, the engine's ResNet-50 ran 20-30% slower (ResNet-18
    unchanged)."""
    cmd = [sys.executable, "-m", "benchmarks.torch_zoo", name, str(batch), str(steps),
           str(len(os.sched_getaffinity(0))), recipe.Recipe().optimizer]
    out = timing.run_process(cmd, cwd=workloads.REPO).check(f"torch_zoo {name}").stdout
    (seconds,) = json.loads(out.strip().splitlines()[-1])
    return seconds


def measure(name: str, steps: int, batch: int, on_gpu: bool) -> dict:
    images, labels = workloads.zoo_images(4096)
    short, long = (workloads.one_chunk(workloads.zoo_task(name, batch=batch, steps=k * steps, train=(images, labels)),
                                       k * steps, group=None if on_gpu else 1) for k in (1, 2))
    keys = engine.seed_keys(range(SEEDS))
    data = workloads.zoo_data(images, labels)
    label = f"zoo_bench {name}"
    # Both programs once untimed first: the first call of a fresh program ran slow (ResNet-18 46.9 and
    # ResNet-50 15.2 images/s in the first pair against 54.7-55.3 and 19.8-20.9 in the next two).
    compile_s = short(keys, {}, data, label=label).compile_s
    long(keys, {}, data, label=label)

    def pair() -> tuple[float, float] | None:
        # Our timed calls follow an untimed one, as PyTorch's steps follow its warm-up step: the first call
        # after PyTorch's process (or any pause) ran 10-20% slower than the next.
        short(keys, {}, data, label=label)
        one, two = (trainer(keys, {}, data, label=label).wall_s for trainer in (short, long))
        estimate = timing.steady_state(one, two, steps)
        if estimate is None:  # the machine slowed down between the two calls: no estimate from this pair
            print(f"[zoo_bench] {name}: {2 * steps} steps took {two:.2f} s, {steps} took {one:.2f} s; pair dropped",
                  file=sys.stderr, flush=True)
        return estimate

    # PyTorch (CPU only), one repeat after each of ours: both see the same load.
    samplers = {"ours": pair}
    torch_steps = TORCH_STEPS.get(name, steps)
    if not on_gpu and importlib.util.find_spec("torch") is not None:
        samplers["torch"] = lambda: _torch_seconds(name, torch_steps, batch)
    samples = timing.interleave(samplers, REPEATS)
    if not samples["ours"]:
        raise RuntimeError(f"zoo_bench {name}: no repeat gave a positive step time; rerun on a quieter machine")
    step_s = [s for s, _ in samples["ours"]]
    row = {"model": name, "images_per_s": timing.rate(SEEDS * batch, step_s),
           "repeats": timing.rates(SEEDS * batch, step_s), "compile_s": compile_s,
           "call_overhead_s": statistics.median(o for _, o in samples["ours"]), "steps": steps, "batch": batch,
           "dtype": jnp.dtype(recipe.compute_dtype("auto")).name}
    if samples.get("torch"):
        row["torch_images_per_s"] = timing.rate(torch_steps * batch, samples["torch"])
        row["torch_repeats"] = timing.rates(torch_steps * batch, samples["torch"])
    row["forward_flops"] = flops.forward_flops(name, 10, (32, 32, 3))
    print(f"[zoo_bench] {name}: {row['images_per_s']:.1f} images/s (PyTorch {row.get('torch_images_per_s')}), "
          f"{row['call_overhead_s']:.2f} s per call besides its steps, compile {compile_s:.1f} s",
          file=sys.stderr, flush=True)
    peak, _ = peaks.peak_bf16(jax.devices()[0].device_kind)
    if on_gpu and peak:
        row["mfu"] = 3 * row["forward_flops"] * row["images_per_s"] / (peak * len(jax.devices()))
    return row


def _repeats(values) -> str:
    return ", ".join(f"{v:,.1f}" for v in values)


def run(models=tuple(CPU_PLAN)) -> str:
    t0, load_start = time.perf_counter(), os.getloadavg()[0]
    on_gpu = jax.default_backend() == "gpu"
    device = jax.devices()[0]
    rows = [measure(name, GPU_STEPS if on_gpu else steps, GPU_BATCH if on_gpu else CPU_BATCH, on_gpu)
            for name, steps in CPU_PLAN.items() if name in models]
    where = f"{len(jax.devices())} x {jax.default_backend()} `{device.device_kind}`"
    if not on_gpu:
        where += f" ({timing.cpu_text()})"
    columns = ["model", "batch", "steps / call", "images/s (median)", "repeats", "per-call s",
               "forward GFLOPs / image", "compile s"]
    cells = [[r["model"], r["batch"], r["steps"], r["images_per_s"], _repeats(r["repeats"]), r["call_overhead_s"],
              r["forward_flops"] / 1e9, r["compile_s"]] for r in rows]
    formats = [None, None, None, ",.1f", None, ".2f", ".3f", ".1f"]
    if on_gpu:
        columns.append("MFU")
        formats.append(lambda v: f"{100 * v:.1f}%")
        for cell, r in zip(cells, rows, strict=True):
            cell.append(r.get("mfu", float("nan")))
    else:
        columns += ["PyTorch CPU images/s (repeats)", "ours / PyTorch"]
        for cell, r in zip(cells, rows, strict=True):
            if "torch_images_per_s" in r:
                cell += [f"{r['torch_images_per_s']:,.1f} ({_repeats(r['torch_repeats'])})",
                         f"{r['images_per_s'] / r['torch_images_per_s']:.2f}x"]
            else:
                cell += ["(torch not installed)", ""]
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
        *Table("", columns, cells, formats).markdown()[:-1],
    ]
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
