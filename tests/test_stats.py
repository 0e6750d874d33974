"""Summary statistics against hand-computed values."""

import numpy as np
import pytest

from jaxdl.analysis import stats


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


# -- the paired-verdict rule ---------------------------------------------------------------------------

def _bootstrap_verdict(d):
    lo, hi = stats.bootstrap_ci(d, seed=int(abs(d[0]) * 1e6) % 2**32)
    return lo > 0 or hi < 0


NULLS = {  # paired differences with no effect: symmetric, skewed-but-median-0, and tied counts
    "normal": lambda rng, n: rng.normal(size=n),
    "heavy_tailed": lambda rng, n: rng.standard_t(2, size=n),
    "tied_counts": lambda rng, n: rng.integers(-2, 3, size=n).astype(float),
}


@pytest.mark.parametrize("n", [4, 8, 64])
@pytest.mark.parametrize("null", list(NULLS))
def test_paired_rule_false_verdict_rate_stays_below_five_percent(n, null):
    """Under no effect, 'supported' or 'contradicted' must come out at most 5% of the time (2,000 simulated
    experiments; the binomial 99.9% upper bound of a true 5% rate is 6.1%, so 6% is the bar)."""
    rng = np.random.default_rng(n)
    trials = 2000
    false = sum(stats.paired(NULLS[null](rng, n), np.zeros(n)).verdict in ("supported", "contradicted")
                for _ in range(trials))
    assert false / trials <= 0.06, (null, n, false / trials)


def test_why_not_the_bootstrap_at_4_to_8_seeds():
    """The rule we replaced: with no effect, a percentile bootstrap of the median settles the question
    (CI excludes 0) far more often than 5% at 4 and 8 seeds, the sign test far less. This is the
    measurement behind choosing the sign test (stats.paired's docstring). Measured (600 trials each):
    bootstrap 12% at 4 seeds, 7% at 8; sign test 0% and 0.3%; a t-interval 5%, 5% on normal data but it
    assumes normality that iteration counts and accuracies do not have."""
    rng = np.random.default_rng(0)
    trials = 1000
    for n, bar in ((4, 0.09), (8, 0.055)):
        boot = np.mean([_bootstrap_verdict(rng.normal(size=n)) for _ in range(trials)])
        sign = np.mean([stats.paired(rng.normal(size=n), np.zeros(n)).verdict in ("supported", "contradicted")
                        for _ in range(trials)])
        assert boot > bar > 0.02 > sign, (n, boot, sign)


def test_paired_rule_has_power_and_names_each_outcome():
    a = np.arange(8.0) + 1
    assert stats.paired(a, np.zeros(8)).verdict == "supported"
    assert stats.paired(a, np.zeros(8), claimed_sign=-1).verdict == "contradicted"
    assert stats.paired(np.zeros(8), np.zeros(8)).verdict == "not reproduced"  # an exact tie of every seed
    small = np.array([0.1, -0.2, 0.3, -0.1, 0.2, 0.0, -0.3, 0.1])
    assert stats.paired(small, np.zeros(8), margin=0.5).verdict == "not reproduced"
    assert stats.paired(small, np.zeros(8), margin=0.05).verdict == "not resolved"
    # An effect that is real (CI excludes 0) but inside the margin is negligible: not a supported claim.
    assert stats.paired(a / 100, np.zeros(8), margin=0.5).verdict == "not reproduced"
    p = stats.paired(np.ones(5), np.zeros(5))
    assert p.verdict.startswith("not resolved (too few seeds") and p.ci95 == (float("-inf"), float("inf"))
    with pytest.raises(ValueError, match="claimed_sign"):
        stats.paired(a, a, claimed_sign=0)


def test_sign_test_ci_matches_binomial_order_statistics():
    # n = 8: P(B <= 0) = 1/256 <= 0.025 < P(B <= 1) = 9/256, so k = 1: [min, max].
    assert stats.sign_test_ci(np.arange(8.0)) == (0.0, 7.0)
    # n = 20: P(B <= 5) = 0.0207 <= 0.025 < P(B <= 6) = 0.0577, so k = 6: the 6th and 15th values.
    assert stats.sign_test_ci(np.arange(20.0)) == (5.0, 14.0)


def test_combine_never_says_more_than_its_parts():
    assert stats.combine(["supported", "supported"]) == "supported"
    assert stats.combine(["supported", "contradicted"]) == "partly supported"
    assert stats.combine(["contradicted", "not resolved"]) == "contradicted (in part; the rest not resolved)"
    assert stats.combine(["not resolved (too few seeds)", "not reproduced"]).startswith("not reproduced")


def test_sign_test_ci_at_thousands_of_seeds_matches_the_normal_approximation():
    # A GPU grid pairs thousands of seeds; 2.0**n overflowed a float past n = 1023.
    n = 4096
    lo, hi = stats.sign_test_ci(np.arange(n))
    k = n / 2 - 1.959964 * np.sqrt(n) / 2  # normal approximation of the binomial order statistic
    assert abs(lo + 1 - k) <= 2 and abs((n - 1 - hi) + 1 - k) <= 2
