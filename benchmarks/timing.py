"""How every benchmark here times, defined once: throughput, the median of repeats, contenders side by
side, the first call kept apart, the steady state of calls with a fixed cost, whole processes.

The machines are shared and noisy, and the numbers are only ever read as ratios of contenders measured
in one run. What that asks of a timer:

- Contenders side by side (`side_by_side`, `interleave`): A, B, C, then A, B, C again, ..., so a change
  of load (another job starting on the 2 shared cores) hits every contender within the repeat it falls
  in, instead of whichever contender ran then. Under a load that scales every call of a repeat alike,
  the ratio of the contenders' medians is then exact (tests/test_bench_timing.py).
- Medians of repeats: one repeat spoiled by a burst moves the median little. Throughput is `rate`: work
  (model-steps, images, configurations) over the median repeat's seconds. For an odd number of repeats
  this is also the median of the per-repeat rates (`rates`, listed beside it in the tables): a
  decreasing map keeps the middle value in the middle.
- The first call apart: a program's first call compiles, and a fresh program's first call ran slower
  even after compiling (15-25% for the zoo's CNNs). `side_by_side` calls every contender once untimed
  and keeps what that call returned and took (`Timing.compile_s`: an engine Result's own compile_s,
  else that call's wall time); `engine_repeats` times the engine's calls by their own `wall_s`
  (compile and model init excluded) and keeps the first call's compile_s.
- A call = fixed cost + steps x step time. Where only a few steps per call are affordable (the zoo on
  CPU: 1-8 steps), the fixed cost of an engine call (state snapshot, divergence check, transfer of the
  results: 0.02-2.2 s) would be 15-33% of it; `steady_state` separates the two from a call of n and
  one of 2n steps.
- Start-up (imports, runtime and device init, the compilation cache) exists only in a fresh process:
  `run_process` times the whole process, and kills it at a timeout when given one.

Nothing here imports JAX: benchmarks.gpu_check's parent process uses `run_process`, and a parent that
imported JAX would hold the GPU's memory from its sections.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Clock = Callable[[], float]


def rate(work: float, seconds: Sequence[float]) -> float:
    """Throughput: `work` (model-steps, images, ...) per second of the median repeat."""
    return work / statistics.median(seconds)


def rates(work: float, seconds: Sequence[float]) -> list[float]:
    """Each repeat's own throughput, in order (for the tables' 'repeats' columns)."""
    return [work / s for s in seconds]


def stopwatch(fn: Callable[[], Any], clock: Clock = time.perf_counter) -> Callable[[], float]:
    """A sampler for `interleave`: calls fn() and returns its wall seconds."""

    def sample() -> float:
        start = clock()
        fn()
        return clock() - start

    return sample


def repeat_seconds(fn: Callable[[], Any], repeats: int, clock: Clock = time.perf_counter) -> list[float]:
    """Wall seconds of `repeats` calls of fn(), one after another."""
    sample = stopwatch(fn, clock)
    return [sample() for _ in range(repeats)]


def timed(fn: Callable[[], Any], clock: Clock = time.perf_counter) -> tuple[float, Any]:
    """(wall seconds, result) of one call of fn()."""
    start = clock()
    out = fn()
    return clock() - start, out


def interleave(samplers: Mapping[str, Callable[[], Any]], repeats: int) -> dict[str, list]:
    """`repeats` rounds of every sampler in turn (A, B, A, B, ...): name -> the samples it returned, in
    order; a sampler returns None for a repeat that gave no sample (it is left out)."""
    samples: dict[str, list] = {name: [] for name in samplers}
    for _ in range(repeats):
        for name, sample in samplers.items():
            value = sample()
            if value is not None:
                samples[name].append(value)
    return samples


@dataclasses.dataclass
class Timing:
    """One contender's timed repeats, and its first call kept apart."""

    seconds: list[float]
    first: Any = None  # what the first call returned (an engine Result: its compile_s, its resolved group)
    first_s: float | None = None  # the first call's wall seconds, compile included (None: not timed)

    @property
    def compile_s(self) -> float | None:
        """The first call's compile seconds: an engine Result's own count, else that call's wall time."""
        return getattr(self.first, "compile_s", self.first_s)

    def rate(self, work: float) -> float:
        return rate(work, self.seconds)

    def rates(self, work: float) -> list[float]:
        return rates(work, self.seconds)


def side_by_side(fns: Mapping[str, Callable[[], Any]], repeats: int,
                 clock: Clock = time.perf_counter) -> dict[str, Timing]:
    """Every contender once untimed (compile, first call), in order, then `repeats` interleaved timed
    rounds; name -> its Timing."""
    firsts = {name: timed(fn, clock) for name, fn in fns.items()}
    seconds = interleave({name: stopwatch(fn, clock) for name, fn in fns.items()}, repeats)
    return {name: Timing(seconds[name], first=firsts[name][1], first_s=firsts[name][0]) for name in fns}


def engine_repeats(repeats: int, trainer: Callable[..., Any], *args, **kwargs) -> Timing:
    """`repeats` calls trainer(*args, **kwargs) of an engine trainer (or anything returning an object with
    `wall_s` and `compile_s`): each call's own wall_s (its steps and host work; compile and model init
    excluded) and the first call's result, whose compile_s is the program's (later calls reuse it: 0)."""
    results = [trainer(*args, **kwargs) for _ in range(repeats)]
    return Timing([r.wall_s for r in results], first=results[0] if results else None)


def steady_state(one: float, two: float, steps: int) -> tuple[float, float] | None:
    """(seconds per step, seconds per call besides its steps) from the wall times of a call of `steps`
    steps (`one`) and one of 2 x `steps` (`two`), modelling a call as overhead + steps x step time; None
    when the longer call was not the slower (no estimate)."""
    step_s = (two - one) / steps
    return (step_s, one - steps * step_s) if step_s > 0 else None


@dataclasses.dataclass(frozen=True)
class Process:
    """A finished (or killed) process: its whole wall time, exit status and output."""

    seconds: float
    returncode: int | None  # None: killed at the timeout
    stdout: str = ""
    stderr: str = ""

    def check(self, what: str) -> Process:
        """self, or RuntimeError naming `what`, the exit status and the end of stderr."""
        if self.returncode != 0:
            status = "killed at its timeout" if self.returncode is None else f"exit {self.returncode}"
            raise RuntimeError(f"{what}: {status}: {self.stderr[-2000:]}")
        return self


def run_process(cmd: Sequence[str], *, cwd: str | Path | None = None, env: Mapping[str, str] | None = None,
                timeout: float | None = None, log: Path | None = None, clock: Clock = time.perf_counter) -> Process:
    """Runs `cmd` and times the whole process (start-up, imports, device init, compile, exit). Output
    is captured as text, or, with `log`, written there (stdout and stderr together); at `timeout`
    seconds the process is killed (returncode None)."""
    start = clock()
    try:
        if log is None:
            proc = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                                  check=False)
            out, err, rc = proc.stdout, proc.stderr, proc.returncode
        else:
            with open(log, "w") as log_file:
                rc = subprocess.run(list(cmd), cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                    timeout=timeout, check=False).returncode
            out = err = ""
    except subprocess.TimeoutExpired as expired:
        rc, out, err = None, _text(expired.stdout), _text(expired.stderr)
    return Process(clock() - start, rc, out, err)


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def cpu_text() -> str:
    """'N CPU cores (processor)' of this process's CPU affinity."""
    return f"{len(os.sched_getaffinity(0))} CPU cores ({platform.processor() or platform.machine()})"


def target(value: float, goal: float, at_least: bool = True, unit: str = "") -> str:
    """'(target >= 3x: not met)': a goal and whether `value` meets it, so a missed target reads as missed."""
    met = value >= goal if at_least else value <= goal
    return f"(target {'>=' if at_least else '<='} {goal:g}{unit}: {'met' if met else '**not met**'})"
