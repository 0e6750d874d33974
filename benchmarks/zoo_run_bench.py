"""The model zoo as a user runs it: a whole `python -m experiments.svhn_zoo --models=M --steps=S` process
against a whole PyTorch process training the same images (benchmarks/torch_zoo.py's `--model` form).

Each side starts to finish in a fresh process of its own: start-up, imports, data, model init, (for ours)
compilation from the persistent cache, `SEEDS` seeds of S steps at batch `BATCH` (ours: the engine, the
seeds side by side on the CPU devices as svhn_zoo runs them; PyTorch: the seeds one after another, all
cores' threads on each), the test split evaluated once, and (ours) the summary and figure written. One
untimed warm-up of each fills our compilation cache (a temporary directory: what a user's second run
finds) and the data cache; then `PAIRS` alternating pairs, medians. Images/s whole = SEEDS x S x BATCH / the
process's wall seconds; images/s training = the same images / the training phase (ours: summary.json's
train_s, compile and init excluded; PyTorch: its models built and trained). The steady-state ratio beside
it is the zoo section's (benchmarks/zoo_bench.py, read from results/bench.md).

    python -m benchmarks.zoo_run_bench                    # prints a markdown section
    python -m benchmarks.zoo_run_bench resnet18           # some models only
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import timing, workloads

# Steps per model: a pair (ours + PyTorch) takes about 1 minute for ResNet-18 and 2 for ResNet-50 on 2 cores.
PLAN = {"resnet18": 12, "resnet50": 10}
SEEDS, BATCH, PAIRS = 2, 32, 2
TITLE = "## Model zoo as a whole run: svhn_zoo vs PyTorch, start to finish"
STEADY_TITLE = "## Model zoo: training throughput"


def parse_torch(stdout: str) -> dict:
    """The JSON line `python -m benchmarks.torch_zoo --model=...` printed last (torch_zoo.whole_run's dict)."""
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    if not lines:
        raise ValueError(f"no JSON result in the PyTorch process's output: {stdout[-500:]!r}")
    out = json.loads(lines[-1])
    missing = {"images", "train_s"} - set(out)
    if missing:
        raise ValueError(f"the PyTorch process's result lacks {', '.join(sorted(missing))}: {lines[-1]!r}")
    return out


def ours_row(seconds: float, summary: dict) -> dict:
    """One svhn_zoo process: its wall seconds and its one model's summary.json row's phases."""
    (row,) = summary["data"]["models"]
    return {"wall_s": seconds, "train_s": row["train_s"], "compile_s": row["compile_s"],
            "images": SEEDS * row["steps"] * row["batch_size"]}


def steady_ratios(bench_md: str) -> dict[str, str]:
    """model -> the zoo section's 'ours / PyTorch' cell (e.g. '0.93x') from a results/bench.md text."""
    start = bench_md.find(STEADY_TITLE)
    if start < 0:
        return {}
    section = bench_md[start:].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and re.fullmatch(r"[\d.]+x", cells[-1]):
            out[cells[0]] = cells[-1]
    return out


def _ours(model: str, steps: int, cache: str, out: Path) -> dict:
    args = [f"--models={model}", f"--steps={steps}", f"--seeds={SEEDS}", f"--batch_size={BATCH}", "--skip_models="]
    proc, summary = workloads.experiment_process("experiments.svhn_zoo", args, out,
                                                 env=workloads.with_compile_cache(cache))
    return ours_row(proc.seconds, summary)


def _torch(model: str, steps: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.torch_zoo", f"--model={model}", f"--steps={steps}", f"--batch={BATCH}",
           f"--seeds={SEEDS}", f"--threads={len(os.sched_getaffinity(0))}"]
    proc = timing.run_process(cmd, cwd=workloads.REPO).check(f"torch_zoo --model={model}")
    return {**parse_torch(proc.stdout), "wall_s": proc.seconds}


def measure(model: str, steps: int, work: Path) -> dict:
    cache = str(work / "xla_cache")
    runs = iter(range(1_000_000))
    ours = lambda: _ours(model, steps, cache, work / f"{model}-{next(runs)}")
    torch = lambda: _torch(model, steps)
    warm = {"ours": ours(), "torch": torch()}  # fills the compilation cache; PyTorch's files read once
    samples = timing.interleave({"ours": ours, "torch": torch}, PAIRS)
    row = {"model": model, "steps": steps, "images": SEEDS * steps * BATCH, "warm_up": warm, "samples": samples}
    for side in ("ours", "torch"):
        for phase in ("wall_s", "train_s"):
            row[f"{side}_{phase}"] = statistics.median(s[phase] for s in samples[side])
    row["whole_ratio"] = row["torch_wall_s"] / row["ours_wall_s"]
    row["train_ratio"] = row["torch_train_s"] / row["ours_train_s"]
    print(f"[zoo_run_bench] {model}: ours {row['ours_wall_s']:.1f} s ({row['ours_train_s']:.1f} training), "
          f"PyTorch {row['torch_wall_s']:.1f} s ({row['torch_train_s']:.1f}); whole {row['whole_ratio']:.2f}x",
          file=sys.stderr, flush=True)
    return row


def _secs(values) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def run(models=tuple(PLAN)) -> str:
    t0, load_start = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="zoo_run_bench-") as tmp:
        rows = [measure(m, PLAN[m], Path(tmp)) for m in PLAN if m in models]
    bench_md = workloads.REPO / "results" / "bench.md"
    steady = steady_ratios(bench_md.read_text()) if bench_md.exists() else {}
    columns = ["model", "steps x seeds x batch", "ours: process s (pairs)", "ours images/s whole", "ours train s",
               "ours images/s training", "PyTorch: process s (pairs)", "PyTorch images/s whole", "PyTorch train s",
               "PyTorch images/s training", "ours / PyTorch whole", "training", "steady state (zoo section)"]
    lines = [TITLE, "",
             f"{timing.cpu_text()}. Each side a whole process, start to finish: `python -m experiments.svhn_zoo "
             f"--models=M --steps=S --seeds={SEEDS} --batch_size={BATCH} --skip_models=` (svhn_synth, 20,000 train / "
             "200 test images; the skip-connection measurement, a separate question, left out) against `python -m "
             f"benchmarks.torch_zoo --model=M --steps=S --batch={BATCH} --seeds={SEEDS}` (the same architecture, "
             "optimizer, schedule and per-image standardisation on random images of the same shapes, the seeds one "
             "after another with every core's threads, the loss read each step, the test images evaluated once). "
             "Ours after one untimed warm-up run (its compilation cache warm, as a user's second run finds it); "
             f"{PAIRS} alternating pairs after one warm-up pair, medians. Images/s whole: the seeds' trained images "
             "over the process's wall time; training: over the training phase (ours: summary.json's train s, compile "
             "and init excluded; PyTorch: building and training its models). Steady state: the zoo section's ratio "
             "(benchmarks/zoo_bench.py, calls of n and 2n steps, fixed costs apart), as results/bench.md holds it.",
             ""]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        img = r["images"]
        lines.append("| " + " | ".join([
            r["model"], f"{r['steps']} x {SEEDS} x {BATCH}",
            f"{r['ours_wall_s']:.1f} ({_secs(s['wall_s'] for s in r['samples']['ours'])})",
            f"{img / r['ours_wall_s']:.1f}", f"{r['ours_train_s']:.1f}", f"{img / r['ours_train_s']:.1f}",
            f"{r['torch_wall_s']:.1f} ({_secs(s['wall_s'] for s in r['samples']['torch'])})",
            f"{img / r['torch_wall_s']:.1f}", f"{r['torch_train_s']:.1f}", f"{img / r['torch_train_s']:.1f}",
            f"{r['whole_ratio']:.2f}x", f"{r['train_ratio']:.2f}x", steady.get(r["model"], "not measured")]) + " |")
    lines.append("")
    for r in rows:
        lines.append(f"- {r['model']}: a whole run at {r['whole_ratio']:.2f}x PyTorch's images/s "
                     f"{timing.target(r['whole_ratio'], 1.0, unit='x')}; its training phase {r['train_ratio']:.2f}x; "
                     f"the steady state {steady.get(r['model'], 'not measured')}.")
    lines += ["", f"Benchmark wall time {time.perf_counter() - t0:.0f} s; 1-minute load average {load_start:.1f} at "
              f"the start, {os.getloadavg()[0]:.1f} at the end (this benchmark alone adds about "
              f"{len(os.sched_getaffinity(0))}).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(tuple(sys.argv[1:]) or tuple(PLAN)))
