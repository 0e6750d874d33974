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

import os
import statistics
import tempfile

from benchmarks import workloads
from jaxdl.experiment import runtime
from jaxdl.reporting.summary import Table

REPEATS = 3
RESNET_STEPS = 2
FC_ARGS = ("--activation=sigmoid", "--loss=ce", "--lr=0.5", "--seeds=4", "--steps=200")
RESNET_ARGS = ("--models=resnet50", f"--steps={RESNET_STEPS}", f"--record_every={RESNET_STEPS}",
               f"--chunk_steps={RESNET_STEPS}")


def first_and_second(module: str, args) -> list[tuple[float, dict]]:
    """(whole-process seconds, summary.json) of the same command twice, from an empty cache directory."""
    with tempfile.TemporaryDirectory(prefix="jaxdl-startup-") as tmp:
        env, out = workloads.with_compile_cache(os.path.join(tmp, "xla")), os.path.join(tmp, "out")
        return [(proc.seconds, summary) for proc, summary in
                (workloads.experiment_process(module, args, out, env=env) for _ in range(2))]


def _compile_s(summary: dict) -> float:
    return sum(r["compile_s"] for r in summary["models"]) if "models" in summary \
        else summary["provenance"]["compile_s"]


def run(repeats: int = REPEATS, resnet: bool = True) -> str:
    fc = [first_and_second("experiments.fc_grid", FC_ARGS) for _ in range(repeats)]
    whole = [statistics.median(pair[i][0] for pair in fc) for i in (0, 1)]
    compile_fc = [statistics.median(pair[i][1]["provenance"]["compile_s"] for pair in fc) for i in (0, 1)]
    rows = [(f"`python -m experiments.fc_grid {' '.join(FC_ARGS)}`", "first (empty cache)", f"{whole[0]:.1f}",
             compile_fc[0]),
            ("(same)", "second (cache warm)", f"**{whole[1]:.1f}** (target <= 3)", compile_fc[1])]
    if resnet:
        (first_s, first), (second_s, second) = first_and_second("experiments.svhn_zoo", RESNET_ARGS)
        rows += [(f"`python -m experiments.svhn_zoo {' '.join(RESNET_ARGS)}`", "first (empty cache)", f"{first_s:.0f}",
                  f"{_compile_s(first):.1f}"),
                 ("(same)", "second (cache warm)", f"{second_s:.0f}", f"**{_compile_s(second):.1f}** (target <= 5)")]
    lines = [
        "## Fixed costs: start-up and the persistent compilation cache",
        "",
        "Fresh processes, as a user runs them; each pair starts from an empty cache directory. The cache "
        "(`$JAXDL_COMPILE_CACHE_DIR`, default `~/.cache/jaxdl/xla`) keeps compiled programs between runs.",
        "",
        *Table("", ("command", "run", "whole process s", "compile s (reported)"), rows,
               (None, None, None, ".2f")).markdown(),
        f"fc_grid: median of {repeats} pairs; ResNet-50: one pair.", "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
