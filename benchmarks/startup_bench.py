"""Fixed costs: whole-process time of a tiny experiment, and compile time with and without the persistent
compilation cache (jaxdl.experiment.runtime.configure() turns it on), each measured as a user would see it: a fresh
`python -m experiments.<name>` process.

* tiny fc_grid (one cell, one lr, 4 seeds, 200 steps): whole process, first run into an empty cache directory vs
  the same command again (cache warm); median of REPEATS pairs;
* where the fc_grid re-run's time goes (`phases`, from its log's timestamps): interpreter, imports and
  flags; data, compile and training; analysis; figures and writing; exit;
* ResNet-50 (svhn_zoo, the CPU default recipe cut to RESNET_STEPS steps; the compiled program has the
  CPU default's shapes): the `compile_s` it reports, first vs second run, once (the first compile alone
  takes about a minute on 2 cores).

Each pair uses its own temporary cache directory, so nothing from earlier runs is reused.

    python -m benchmarks.startup_bench        # prints a markdown section (~3-5 min on 2 cores)
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time

from benchmarks import timing, workloads
from jaxdl.experiment import runtime
from jaxdl.reporting.summary import Table

REPEATS = 5  # a shared machine: the second run varies by 0.5 s between pairs
RESNET_STEPS = 2
FC_ARGS = ("--activation=relu", "--loss=ce", "--lr=1", "--seeds=4", "--steps=200")
FC_TARGET_S = 2.5
# The log line that ends each phase (jaxdl.experiment.entry writes them all).
_PHASE_LINES = (("interpreter, imports and flags", "running (loading data"),
                ("data, compile and training", "analysing"), ("analysis", "writing the summary and figures"),
                ("figures and writing", ": wrote "))
_LOG_TIME = re.compile(r"^[IWEF]\d{4} (\d\d):(\d\d):(\d\d\.\d+)")
_COMPILE = re.compile(r"traced and lowered in ([\d.]+)s, (?:compiled in|loaded from the compilation cache in) "
                      r"([\d.]+)s")
_DAY_S = 86400
RESNET_ARGS = ("--models=resnet50", f"--steps={RESNET_STEPS}", f"--record_every={RESNET_STEPS}",
               f"--chunk_steps={RESNET_STEPS}")


def phases(stderr: str, started: float, whole_s: float) -> dict[str, float]:
    """Where a whole fc_grid process spent its time, from its log's timestamps (absl writes local time):
    seconds from the process start (`started`: time.time() when it was launched) to the line that ends each
    phase, then to the exit; the chunk program's trace+lower and compile (or cache load) as its log line
    reports them. ValueError naming a log line that is missing."""
    start_of_day = started - time.mktime(time.localtime(started)[:3] + (0, 0, 0, 0, 0, -1))
    marks, last, out = [], 0.0, {}
    for name, text in _PHASE_LINES:
        stamp = next((_LOG_TIME.match(x) for x in stderr.splitlines() if text in x), None)
        if stamp is None:
            raise ValueError(f"no log line with {text!r}: the run's log does not show where {name} ends")
        h, m, sec = stamp.groups()
        marks.append((name, (int(h) * 3600 + int(m) * 60 + float(sec) - start_of_day) % _DAY_S))  # past midnight
    for name, at in marks:
        out[name], last = at - last, at
    out["exit"] = whole_s - last
    compiled = _COMPILE.search(stderr)
    if compiled is None:
        raise ValueError("no 'traced and lowered in' log line: the run compiled no chunk program")
    out["of which trace+lower"], out["of which compile or cache load"] = (float(v) for v in compiled.groups())
    return out


def first_and_second(module: str, args) -> list[tuple[float, dict, dict | None]]:
    """(whole-process seconds, summary.json, phases) of the same command twice, from an empty cache directory;
    phases (`phases`) for fc_grid only."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="jaxdl-startup-") as tmp:
        env, out = workloads.with_compile_cache(os.path.join(tmp, "xla")), os.path.join(tmp, "out")
        for _ in range(2):
            started = time.time()
            proc, summary = workloads.experiment_process(module, args, out, env=env)
            split = phases(proc.stderr, started, proc.seconds) if module.endswith("fc_grid") else None
            runs.append((proc.seconds, summary, split))
    return runs


def _compile_s(summary: dict) -> float:
    return sum(r["compile_s"] for r in summary["models"]) if "models" in summary \
        else summary["provenance"]["compile_s"]


def run(repeats: int = REPEATS, resnet: bool = True) -> str:
    fc = [first_and_second("experiments.fc_grid", FC_ARGS) for _ in range(repeats)]
    whole = [statistics.median(pair[i][0] for pair in fc) for i in (0, 1)]
    compile_fc = [statistics.median(pair[i][1]["provenance"]["compile_s"] for pair in fc) for i in (0, 1)]
    rows = [(f"`python -m experiments.fc_grid {' '.join(FC_ARGS)}`", "first (empty cache)", f"{whole[0]:.1f}",
             compile_fc[0]),
            ("(same)", "second (cache warm)",
             f"**{whole[1]:.1f}** {timing.target(whole[1], FC_TARGET_S, at_least=False, unit=' s')}", compile_fc[1])]
    split = {name: statistics.median(pair[1][2][name] for pair in fc) for name in fc[0][1][2]}
    if resnet:
        (first_s, first, _), (second_s, second, _) = first_and_second("experiments.svhn_zoo", RESNET_ARGS)
        rows += [(f"`python -m experiments.svhn_zoo {' '.join(RESNET_ARGS)}`", "first (empty cache)", f"{first_s:.0f}",
                  f"{_compile_s(first):.1f}"),
                 ("(same)", "second (cache warm)", f"{second_s:.0f}", f"**{_compile_s(second):.1f}** "
                  f"{timing.target(_compile_s(second), 5, at_least=False, unit=' s')}")]
    lines = [
        "## Fixed costs: start-up and the persistent compilation cache",
        "",
        "Fresh processes, as a user runs them; each pair starts from an empty cache directory. The cache "
        "(`$JAXDL_COMPILE_CACHE_DIR`, default `~/.cache/jaxdl/xla`) keeps compiled programs between runs.",
        "",
        *Table("", ("command", "run", "whole process s", "compile s (reported)"), rows,
               (None, None, None, ".2f")).markdown(),
        f"fc_grid: median of {repeats} pairs; ResNet-50: one pair.", "",
        "Where the fc_grid re-run's time goes (second run, cache warm; medians; from its log's timestamps):", "",
        *Table("", ("phase", "seconds"), [(name, v) for name, v in split.items()], (None, ".2f")).markdown(),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
