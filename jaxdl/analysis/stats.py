"""Statistics reported by every experiment: medians with IQR and bootstrap confidence intervals (descriptive),
and `paired`, the one rule every paired verdict goes through."""

from __future__ import annotations

import dataclasses
import math

import numpy as np


def median_iqr(values) -> dict:
    """{'median', 'q25', 'q75', 'n'} of the finite values; NaN entries when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"median": float("nan"), "q25": float("nan"), "q75": float("nan"), "n": 0}
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q25": float(q25), "q75": float(q75), "n": int(v.size)}


def bootstrap_ci(values, stat=np.median, level: float = 0.95, resamples: int = 2000, seed: int = 0):
    """Percentile bootstrap CI of `stat`; deterministic for a given seed. Returns (low, high)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, v.size, size=(resamples, v.size))
    boots = stat(v[idx], axis=1)
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha])
    return float(lo), float(hi)


def mean_std(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}


def censored_iterations(hit_step: np.ndarray, steps: int) -> np.ndarray:
    """Iterations to a goal per model from the step it was first met (-1: never, which includes a member
    that diverged before meeting it: the engine freezes it) -> censored at `steps`."""
    return np.where(hit_step >= 0, hit_step, steps).astype(np.float64)


def censored_stats(iters: np.ndarray, hit: np.ndarray, diverged: np.ndarray, steps: int) -> dict:
    """Median, IQR and bootstrap CI of censored iterations, with how many met the goal and diverged."""
    s = median_iqr(iters)
    lo, hi = bootstrap_ci(iters)
    return {
        **s,
        "ci95": [lo, hi],
        "median_censored": bool(s["median"] >= steps),
        "fraction_reached": float(np.mean(hit >= 0)),
        "diverged": int(diverged.sum()),
    }


# -- the one paired-verdict rule ------------------------------------------------------------------------

def sign_test_ci(values, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free CI of the median: the order statistics (d_(k), d_(n+1-k)) with the largest k for
    which P(Binomial(n, 1/2) < k) <= (1 - level) / 2. Its coverage is >= `level` for any continuous
    distribution, and conservative with ties, at every n; below n = 6 no k exists at 95% and the interval
    is (-inf, inf): five seeds can never settle a question at this level."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v)]
    n = v.size
    alpha = (1.0 - level) / 2
    # Exact integer counts: 2.0**n overflows a float past n = 1023 (a GPU grid has thousands of seeds).
    k, count, total = 0, 0, 2**n
    while k < n:
        count += math.comb(n, k)  # P(B <= k) = count / total
        if count / total > alpha:
            break
        k += 1
    if k == 0:
        return float("-inf"), float("inf")
    return float(v[k - 1]), float(v[n - k])


@dataclasses.dataclass(frozen=True)
class Paired:
    """A paired comparison of configuration A against B over the same seeds: d = A - B per seed."""

    n: int
    median: float  # median of d
    ci95: tuple[float, float]  # sign-test CI of the median of d
    fraction_agreeing: float  # share of seeds with d in the claimed direction (strictly)
    verdict: str

    def describe(self, unit: str = "", fmt: str = ".3g", pairs: str = "seeds") -> str:
        """One line for a claim's `ours`; `pairs` names what was paired (seeds, or e.g. timing repeats)."""
        lo, hi = self.ci95
        return (f"median paired difference {self.median:{fmt}}{unit} (95% CI {lo:{fmt}} to {hi:{fmt}}), "
                f"{100 * self.fraction_agreeing:.0f}% of {self.n} {pairs} agree")


def paired(a, b, *, claimed_sign: int = 1, margin: float = 0.0, level: float = 0.95) -> Paired:
    """THE verdict rule for "is A different from B in the claimed direction?", paired by seed.

    d = a - b per seed (NaN pairs dropped). CI = `sign_test_ci(d)`. With claimed_sign s (+1: the seed says
    A > B; -1: A < B):
      not reproduced   the CI lies inside [-margin, +margin]: any effect is smaller than the smallest one
                       that matters (`margin`, stated with each claim; with margin 0 only an exact tie of
                       every seed qualifies, e.g. the same count in every run) -- even if it excludes 0, a
                       negligible effect does not support a claim of a real one;
      supported        otherwise, the CI excludes 0 on the claimed side (s * d > 0 for the whole CI);
      contradicted     the CI excludes 0 on the other side;
      not resolved     otherwise (the CI contains 0 and reaches past the margin): more seeds could decide.
    The sign test was chosen over a bootstrap of the median and a t-interval because its false-verdict
    rate stays below (1 - level) at 4, 8 and 64 seeds, with ties and skewed differences (a bootstrap's is
    several times that at 8 seeds); tests/test_stats.py simulates all three.
    """
    if claimed_sign not in (1, -1):
        raise ValueError(f"claimed_sign must be +1 or -1, got {claimed_sign}")
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return Paired(0, float("nan"), (float("nan"), float("nan")), float("nan"), "not resolved (no data)")
    lo, hi = sign_test_ci(d, level)
    lo_s, hi_s = sorted((claimed_sign * lo, claimed_sign * hi))
    if -margin <= lo and hi <= margin:
        verdict = "not reproduced"
    elif lo_s > 0:
        verdict = "supported"
    elif hi_s < 0:
        verdict = "contradicted"
    else:
        verdict = "not resolved" + (" (too few seeds: fewer than 6 never exclude 0)" if d.size < 6 else "")
    return Paired(int(d.size), float(np.median(d)), (lo, hi), float(np.mean(claimed_sign * d > 0)), verdict)


def combine(verdicts) -> str:
    """One verdict for a claim made of parts (e.g. an ordering of four cells = six pairwise claims, or
    one effect at several settings): all parts agree -> that verdict; any supported part beside others ->
    'partly supported'; otherwise the most decisive word (contradicted > not reproduced > not resolved),
    qualified '(in part; the rest ...)' so it never says more than its evidence."""
    heads = [verdict_head(v) for v in verdicts]
    unique = sorted(set(heads))
    if len(unique) == 1:
        return heads[0]
    if "supported" in unique:
        return "partly supported"
    for word in ("contradicted", "not reproduced", "not resolved"):
        if word in unique:
            rest = ", ".join(u for u in unique if u != word)
            return f"{word} (in part; the rest {rest})"
    return "not resolved"


def verdict_head(verdict: str) -> str:
    """The verdict word of 'word (qualifier)' or 'word — qualifier'."""
    return verdict.split(" (")[0].split(" — ")[0].strip()
