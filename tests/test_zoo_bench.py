import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import zoo_bench


@given(overhead=st.floats(0, 10), step=st.floats(1e-3, 10), steps=st.integers(1, 100))
def test_steady_state_recovers_step_time_and_per_call_cost_of_calls_linear_in_their_steps(overhead, step, steps):
    one, two = overhead + steps * step, overhead + 2 * steps * step
    step_s, per_call = zoo_bench.steady_state(one, two, steps)
    assert step_s == pytest.approx(step, rel=1e-6)
    assert per_call == pytest.approx(overhead, rel=1e-6, abs=1e-6 * two)


def test_steady_state_gives_no_estimate_when_the_longer_call_was_not_the_slower():
    assert zoo_bench.steady_state(3.0, 2.9, 2) is None
    assert zoo_bench.steady_state(3.0, 3.0, 2) is None
