"""Fixed costs: whole-process time of a tiny experiment, and compile time with and without the persistent
compilation cache (jaxdl.experiment.runtime.configure() turns it on), each measured as a user would see it: a fresh
`python -m experiments.<name>` process.

* tiny fc_grid (one cell, 4 seeds, 200 steps): whole process, first run into an empty cache directory vs
  the same command again (cache warm); median of REPEATS pairs;
* ResNet-50 (svhn_zoo, the CPU default recipe cut to RESNET_STEPS steps; the compiled program has the
  CPU default's shapes): the `compile_s` it reports, first vs second run, once (the first compile alone
  takes about a minute on 2 cores).

Each pair uses its own temporary cache directory, so nothing from earlier runs is reused.

    python -m benchmarks.startup_bench        # prints a markdown section (~3-5 min on 2 cores)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jaxdl.experiment import runtime

REPEATS = 3
RESNET_STEPS = 2
FC_ARGS = ("--activation=sigmoid", "--loss=ce", "--lr=0.5", "--seeds=4", "--steps=200")
RESNET_ARGS = ("--models=resnet50", f"--steps={RESNET_STEPS}", f"--record_every={RESNET_STEPS}",
               f"--chunk_steps={RESNET_STEPS}")
REPO = Path(__file__).resolve().parent.parent


def run_experiment(module: str, args, cache_dir: str, out: str) -> tuple[float, dict]:
    """(whole-process seconds, the summary.json it wrote)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["JAXDL_COMPILE_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", module, *args, f"--out={out}"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, json.loads((Path(out) / "summary.json").read_text())


def first_and_second(module: str, args) -> list[tuple[float, dict]]:
    with tempfile.TemporaryDirectory(prefix="jaxdl-startup-") as tmp:
        cache, out = os.path.join(tmp, "xla"), os.path.join(tmp, "out")
        return [run_experiment(module, args, cache, out) for _ in range(2)]


def _compile_s(summary: dict) -> float:
    return sum(r["compile_s"] for r in summary["models"]) if "models" in summary \
        else summary["provenance"]["compile_s"]


def run(repeats: int = REPEATS, resnet: bool = True) -> str:
    fc = [first_and_second("experiments.fc_grid", FC_ARGS) for _ in range(repeats)]
    whole = [statistics.median(pair[i][0] for pair in fc) for i in (0, 1)]
    compile_fc = [statistics.median(pair[i][1]["provenance"]["compile_s"] for pair in fc) for i in (0, 1)]
    lines = [
        "## Fixed costs: start-up and the persistent compilation cache",
        "",
        "Fresh processes, as a user runs them; each pair starts from an empty cache directory. The cache "
        "(`$JAXDL_COMPILE_CACHE_DIR`, default `~/.cache/jaxdl/xla`) keeps compiled programs between runs.",
        "",
        "| command | run | whole process s | compile s (reported) |",
        "|---|---|---:|---:|",
        f"| `python -m experiments.fc_grid {' '.join(FC_ARGS)}` | first (empty cache) | {whole[0]:.1f} | "
        f"{compile_fc[0]:.2f} |",
        f"| (same) | second (cache warm) | **{whole[1]:.1f}** (target <= 3) | {compile_fc[1]:.2f} |",
    ]
    if resnet:
        (first_s, first), (second_s, second) = first_and_second("experiments.svhn_zoo", RESNET_ARGS)
        lines += [
            f"| `python -m experiments.svhn_zoo {' '.join(RESNET_ARGS)}` | first (empty cache) | {first_s:.0f} | "
            f"{_compile_s(first):.1f} |",
            f"| (same) | second (cache warm) | {second_s:.0f} | **{_compile_s(second):.1f}** (target <= 5) |",
        ]
    lines += ["", f"fc_grid: median of {repeats} pairs; ResNet-50: one pair.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
