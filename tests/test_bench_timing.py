"""benchmarks.timing, the one timer of every benchmark: with a fake clock, each rule's arithmetic exactly."""

import statistics
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import timing


class FakeClock:
    """A clock that moves only when a contender 'runs': run(d) advances it by d seconds."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def run(self, seconds: float):
        self.now += seconds
        return seconds


def test_repeat_seconds_and_timed_measure_each_call_with_the_clock():
    clock, durations = FakeClock(), iter([0.5, 2.0, 1.0])
    assert timing.repeat_seconds(lambda: clock.run(next(durations)), 3, clock) == [0.5, 2.0, 1.0]
    assert timing.timed(lambda: clock.run(0.25) and "out", clock) == (0.25, "out")


@given(work=st.floats(1, 1e9), seconds=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=9))
def test_rate_is_work_over_the_median_repeat(work, seconds):
    assert timing.rate(work, seconds) == work / statistics.median(seconds)
    assert timing.rates(work, seconds) == [work / s for s in seconds]


@given(work=st.floats(1, 1e9), seconds=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=9).filter(
    lambda s: len(s) % 2 == 1))
def test_for_odd_repeats_the_rate_is_also_the_median_of_the_per_repeat_rates(work, seconds):
    assert timing.rate(work, seconds) == pytest.approx(statistics.median(timing.rates(work, seconds)), rel=1e-12)


def test_side_by_side_calls_each_once_untimed_then_interleaves_the_timed_repeats():
    clock, calls = FakeClock(), []

    def contender(name, first_s, repeat_s):
        def call():
            calls.append(name)
            clock.run(first_s if calls.count(name) == 1 else repeat_s)
            return f"{name} result {calls.count(name)}"
        return call

    timings = timing.side_by_side({"A": contender("A", 10.0, 1.0), "B": contender("B", 20.0, 3.0)}, 3, clock)
    assert calls == ["A", "B", "A", "B", "A", "B", "A", "B"]
    assert timings["A"].seconds == [1.0] * 3 and timings["B"].seconds == [3.0] * 3  # the first calls excluded
    assert (timings["A"].first, timings["A"].first_s) == ("A result 1", 10.0)
    assert timings["B"].compile_s == 20.0  # no compile_s of its own: the first call's wall time
    assert timings["A"].rate(6) == 6.0 and timings["B"].rates(6) == [2.0, 2.0, 2.0]


@given(factors=st.lists(st.floats(0.2, 20), min_size=1, max_size=7), a=st.floats(0.01, 10), b=st.floats(0.01, 10))
def test_interleaving_keeps_the_ratio_exact_under_a_load_that_changes_between_repeats(factors, a, b):
    """Load slows every call of a repeat by that repeat's factor: interleaved, both contenders see the same
    factors, so the ratio of their medians is the ratio of their true times whatever the load did."""
    clock, load = FakeClock(), iter(f for f in factors for _ in range(2))
    samples = timing.interleave({"A": timing.stopwatch(lambda: clock.run(a * next(load)), clock),
                                 "B": timing.stopwatch(lambda: clock.run(b * next(load)), clock)}, len(factors))
    assert timing.rate(1, samples["B"]) / timing.rate(1, samples["A"]) == pytest.approx(a / b, rel=1e-9)


def test_interleave_leaves_out_repeats_that_gave_no_sample():
    values = iter([1.0, None, 3.0])
    assert timing.interleave({"x": lambda: next(values)}, 3) == {"x": [1.0, 3.0]}


class FakeResult:
    def __init__(self, wall_s, compile_s):
        self.wall_s, self.compile_s = wall_s, compile_s


def test_engine_repeats_time_by_wall_s_and_keep_the_first_calls_compile_time():
    results = iter([FakeResult(2.0, 30.0), FakeResult(1.0, 0.0), FakeResult(1.5, 0.0)])
    args = []
    t = timing.engine_repeats(3, lambda *a, **kw: args.append((a, kw)) or next(results), "keys", {}, label="x")
    assert t.seconds == [2.0, 1.0, 1.5] and t.compile_s == 30.0
    assert args == [(("keys", {}), {"label": "x"})] * 3
    assert t.rate(3) == 2.0  # 3 / median(2.0, 1.0, 1.5)


@given(overhead=st.floats(0, 10), step=st.floats(1e-3, 10), steps=st.integers(1, 100))
def test_steady_state_recovers_step_time_and_per_call_cost_of_calls_linear_in_their_steps(overhead, step, steps):
    one, two = overhead + steps * step, overhead + 2 * steps * step
    step_s, per_call = timing.steady_state(one, two, steps)
    assert step_s == pytest.approx(step, rel=1e-6)
    assert per_call == pytest.approx(overhead, rel=1e-6, abs=1e-6 * two)


def test_steady_state_gives_no_estimate_when_the_longer_call_was_not_the_slower():
    assert timing.steady_state(3.0, 2.9, 2) is None
    assert timing.steady_state(3.0, 3.0, 2) is None


def test_run_process_times_the_whole_process_and_captures_its_output():
    proc = timing.run_process([sys.executable, "-c", "import time, sys; time.sleep(0.3); print('out'); "
                               "print('err', file=sys.stderr)"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "out\n", "err\n")
    assert proc.seconds >= 0.3
    assert proc.check("ok") is proc


def test_run_process_kills_at_the_timeout_and_check_names_the_failure(tmp_path):
    t0 = time.perf_counter()
    log = tmp_path / "log"
    proc = timing.run_process([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(30)"],
                              timeout=2, log=log)
    assert proc.returncode is None and 2 <= proc.seconds < 20 and time.perf_counter() - t0 < 20
    with pytest.raises(RuntimeError, match="sleeper: killed at its timeout"):
        proc.check("sleeper")
    failed = timing.run_process([sys.executable, "-c", "import sys; sys.exit('bad input')"], log=log)
    assert failed.returncode == 1 and "bad input" in log.read_text()  # stdout and stderr both to the log
    with pytest.raises(RuntimeError, match="exit 1"):
        timing.run_process([sys.executable, "-c", "raise SystemExit(1)"]).check("x")


def test_phases_of_a_whole_process_come_from_its_log_timestamps():
    from benchmarks import startup_bench

    started = time.mktime((2026, 12, 6, 4, 1, 53, 0, 0, -1)) + 0.5  # the process started at 04:01:53.5 local
    log = "\n".join([
        "I1206 04:01:54.700000 1 entry.py:115] fc_grid: running (loading data, compiling, training); results go to x",
        "I1206 04:01:55.200000 1 engine.py:189] chunk program: traced and lowered in 0.62s, loaded from the "
        "compilation cache in 0.06s (group None)",
        "I1206 04:01:55.500000 1 entry.py:119] fc_grid: analysing",
        "I1206 04:01:55.600000 1 entry.py:124] fc_grid: writing the summary and figures (4 figures)",
        "I1206 04:01:56.900000 1 entry.py:138] fc_grid: wrote x"])
    split = startup_bench.phases(log, started, whole_s=3.6)
    expected = {"interpreter, imports and flags": 1.2, "data, compile and training": 0.8, "analysis": 0.1,
                "figures and writing": 1.3, "exit": 0.2, "of which trace+lower": 0.62,
                "of which compile or cache load": 0.06}
    assert split == pytest.approx(expected, abs=1e-6)
    assert sum(v for k, v in split.items() if not k.startswith("of which")) == pytest.approx(3.6)
    with pytest.raises(ValueError, match="'analysing'"):  # a run that failed before its analysis
        startup_bench.phases(log.replace("analysing", "failed"), started, whole_s=3.6)


def test_landscape_ceiling_is_the_loops_time_per_point_over_the_evaluations_own():
    from benchmarks import landscape_bench

    # 300 points/s of 16 images = 3.33 ms per point; the evaluation alone at 14,400 images/s takes 1.11 ms.
    assert landscape_bench.ceiling(14_400, 16, 300) == pytest.approx(3.0)
