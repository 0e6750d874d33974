"""Summary statistics against hand-computed values."""

import numpy as np
import pytest

from jaxdl import stats


def test_median_iqr_and_mean_std_match_numpy_definitions():
    values = [1.0, 2.0, 4.0, 8.0, 16.0]
    s = stats.median_iqr(values)
    assert (s["median"], s["q25"], s["q75"]) == (4.0, 2.0, 8.0)
    m = stats.mean_std(values)
    assert m["mean"] == pytest.approx(6.2) and m["std"] == pytest.approx(np.std(values, ddof=1))


def test_bootstrap_ci_brackets_the_median_and_is_a_point_for_constant_data():
    lo, hi = stats.bootstrap_ci(np.arange(50.0))
    assert lo < 24.5 < hi and hi - lo < 25
    assert stats.bootstrap_ci([3.0] * 10) == (3.0, 3.0)


def test_censored_stats_count_reached_and_diverged_runs():
    hit = np.array([10, 20, -1, -1])
    diverged = np.array([False, False, False, True])
    iters = stats.censored_iterations(hit, 100)
    np.testing.assert_array_equal(iters, [10, 20, 100, 100])
    s = stats.censored_stats(iters, hit, diverged, 100)
    assert s["median"] == 60 and s["fraction_reached"] == 0.5 and s["diverged"] == 1
    assert not s["median_censored"]
    assert stats.censored_stats(np.array([100.0] * 3), np.array([-1] * 3), np.zeros(3, bool), 100)["median_censored"]
