"""Statistics reported by every experiment, and the one verdict rule.

Descriptive: medians with IQR; per-cell intervals of a median by the same order statistics as the rule
(`median_ci`), so one page never prints two intervals for the same data. Censoring: a run that never reaches
its target is known only as ">= cap"; it is ranked (a censored run is slower than any finished one, two
censored runs tie), never averaged or quoted as a number of steps.

The rule (`decide`): the verdict vocabulary is defined here and nowhere else (`VERDICTS`); every verdict word
of a comparison comes from `decide` applied to a 95% interval of the effect in the direction the seed claims
and the smallest effect that matters, `margin`:
  supported        the whole interval clears +margin (the claimed effect, at least as large as matters);
  contradicted     the whole interval clears -margin (the opposite effect, at least as large as matters);
  not reproduced   the whole interval lies inside [-margin, +margin] (any effect is too small to matter);
  not resolved     otherwise: more seeds could decide.
The instruments that feed it are both the sign test: `paired` (the median paired difference, for quantities
with a scale) and `sign_share` (how often the pair goes the claimed way among untied seeds, for claims about
how often: a risk). Exact facts (a closed form, a witness, a maximum over every run) are `Exact`.
A statement made of parts gets each part's word and one word derived from them (`combine`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# -- the verdict vocabulary (the only place these words are spelled) ----------------------------------------
SUPPORTED = "supported"
CONTRADICTED = "contradicted"
NOT_REPRODUCED = "not reproduced"
NOT_RESOLVED = "not resolved"
PARTLY = "partly supported"
NOT_TESTABLE = "not testable here"
DEFINITION = "definition, not a claim"
RULE_WORDS = (SUPPORTED, CONTRADICTED, NOT_REPRODUCED, NOT_RESOLVED)  # what `decide` returns
VERDICTS = (SUPPORTED, CONTRADICTED, PARTLY, NOT_RESOLVED, NOT_REPRODUCED, NOT_TESTABLE, DEFINITION)
LEVEL = 0.95


def verdict_head(verdict: str) -> str:
    """The verdict word of 'word (qualifier)' or 'word — qualifier'."""
    return verdict.split(" (")[0].split(" — ")[0].strip()


def decide(lo: float, hi: float, margin: float) -> str:
    """THE rule. [lo, hi]: a 95% interval of the effect, signed so that positive is the direction the seed
    claims; margin >= 0: the smallest effect that matters (stated with each claim, justified in BUILD.md).
    Symmetric: a word that claims a difference (either way) needs the whole interval past the margin; an
    interval inside the margin is 'not reproduced' (with margin 0: the interval is the single point 0)."""
    if margin < 0 or not (lo <= hi):
        raise ValueError(f"decide needs margin >= 0 and lo <= hi, got [{lo}, {hi}], margin {margin}")
    if lo > margin:
        return SUPPORTED
    if hi < -margin:
        return CONTRADICTED
    if -margin <= lo and hi <= margin:
        return NOT_REPRODUCED
    return NOT_RESOLVED


def decide_equal(lo: float, hi: float, margin: float) -> str:
    """`decide` for a seed's claim of NO difference ('about N', 'the same'): the interval inside the margin
    supports it, an interval past the margin either way contradicts it, otherwise not resolved. The same
    four regions as `decide`, read for the opposite claim."""
    word = decide(lo, hi, margin)
    return {NOT_REPRODUCED: SUPPORTED, SUPPORTED: CONTRADICTED}.get(word, word)


def _min_deciding_n(level: float = LEVEL) -> int:
    n = 1
    while math.comb(n, 0) / 2**n > (1 - level) / 2:
        n += 1
    return n


# Below this many seeds the sign test's 95% interval is unbounded: no comparison can be decided. Every
# --scale=full preset runs at least this many seeds per compared configuration (tests/test_claims.py).
MIN_SEEDS = _min_deciding_n()  # 6


# Margins shared by several experiments (the others sit beside their claims; BUILD.md § Verdicts lists all):
# timings within 10% of the baseline's median are the same cost (run-to-run timing noise on a shared machine
# is of that order), wherever a time is compared.
TIME_MARGIN = 0.10
# Iteration counts compare as log2 ratios; within 1.25x is no ordering (the seed's neighbouring cells differ
# by 2x-3x; run-to-run spread at one lr is of this order).
ITERATION_MARGIN_LOG2 = math.log2(1.25)
# How often (`sign_share`): the claimed direction must win more than 60% of the untied seeds (share - 1/2 >
# 0.1) before "more often" means anything; a 55:45 split is no risk worth naming.
SHARE_MARGIN = 0.10


# -- descriptive ------------------------------------------------------------------------------------------

def median_iqr(values) -> dict:
    """{'median', 'q25', 'q75', 'n'} of the finite values; NaN entries when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"median": float("nan"), "q25": float("nan"), "q75": float("nan"), "n": 0}
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q25": float(q25), "q75": float(q75), "n": int(v.size)}


def bootstrap_ci(values, stat=np.median, level: float = LEVEL, resamples: int = 2000, seed: int = 0):
    """Percentile bootstrap CI of `stat`; deterministic for a given seed. Returns (low, high). Not used for
    any reported interval (it covers too little at small n: tests/test_stats.py); kept as the measured
    alternative the rule was chosen against."""
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


def _order_index(n: int, level: float = LEVEL) -> int:
    """The largest k with P(Binomial(n, 1/2) < k) <= (1 - level) / 2; 0 when none (n < MIN_SEEDS at 95%).
    Exact integer counts: 2.0**n overflows a float past n = 1023 (a GPU grid has thousands of seeds)."""
    alpha = (1.0 - level) / 2
    k, count, total = 0, 0, 2**n
    while k < n:
        count += math.comb(n, k)  # P(B <= k) = count / total
        if count / total > alpha:
            break
        k += 1
    return k


def sign_test_ci(values, level: float = LEVEL) -> tuple[float, float]:
    """Distribution-free CI of the median: the order statistics (d_(k), d_(n+1-k)) of `_order_index`. Its
    coverage is >= `level` for any continuous distribution, and conservative with ties, at every n; below
    n = MIN_SEEDS the interval is (-inf, inf): five seeds can never settle a question at this level."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v)]
    k = _order_index(v.size, level)
    if k == 0:
        return float("-inf"), float("inf")
    return float(v[k - 1]), float(v[v.size - k])


def _bounded_ci(lower, upper, level: float = LEVEL) -> tuple[float, float]:
    """The sign-test CI of a median from values known as intervals [lower_i, upper_i] (censoring): the k-th
    smallest lower bound and the k-th largest upper bound, which covers at least as often as the interval of
    the unknown exact values. Equal bounds: `sign_test_ci`."""
    lower, upper = np.sort(lower), np.sort(upper)
    k = _order_index(lower.size, level)
    if k == 0:
        return float("-inf"), float("inf")
    return float(lower[k - 1]), float(upper[lower.size - k])


def _bounded_median(lower, upper) -> tuple[float, str]:
    """(value, bound) of a median from interval-valued data: ('', exact), ('>=', a lower bound), ('<=', an
    upper bound) or ('?', unknown). Never averages a censored value into a number."""
    lo, hi = float(np.median(lower)), float(np.median(upper))
    if lo == hi:
        return lo, ""
    if np.isfinite(lo):
        return lo, ">="
    if np.isfinite(hi):
        return hi, "<="
    return float("nan"), "?"


def censored_iterations(hit_step: np.ndarray, steps: int) -> np.ndarray:
    """Iterations to a goal per model from the step it was first met (-1: never, which includes a member
    that diverged before meeting it: the engine freezes it) -> `steps` where never (a lower bound: read it
    with the hit mask, never as a number)."""
    return np.where(hit_step >= 0, hit_step, steps).astype(np.float64)


def median_ci(values, censored=None, level: float = LEVEL) -> dict:
    """The median of one configuration's runs and its order-statistic 95% interval (the same order statistics
    as the paired rule). censored: runs known only as >= their value. {'median', 'median_bound' ('' or '>='),
    'lo', 'hi', 'hi_bound'}: hi is inf where the upper order statistic is censored, and both are infinite
    below MIN_SEEDS runs."""
    v = np.asarray(values, np.float64)
    c = np.zeros(v.shape, bool) if censored is None else np.asarray(censored, bool)
    keep = np.isfinite(v)
    v, c = v[keep], c[keep]
    upper = np.where(c, np.inf, v)
    med, bound = _bounded_median(v, upper) if v.size else (float("nan"), "")
    lo, hi = _bounded_ci(v, upper, level) if v.size else (float("nan"), float("nan"))
    return {"median": med, "median_bound": bound, "lo": lo, "hi": hi}


def censored_stats(iters: np.ndarray, hit: np.ndarray, diverged: np.ndarray, steps: int) -> dict:
    """Median (a lower bound where the middle run is censored), IQR, the order-statistic 95% CI of the
    median, how many met the goal and how many diverged. iters: from `censored_iterations`."""
    censored = hit < 0
    s = median_iqr(iters)
    m = median_ci(iters, censored)
    return {
        **s,
        "median": m["median"],
        "ci95": [m["lo"], m["hi"]],
        "median_censored": m["median_bound"] == ">=",
        "q75_censored": bool(np.isfinite(s["q75"]) and s["q75"] >= steps and censored.any()),
        "fraction_reached": float(np.mean(~censored)),
        "diverged": int(diverged.sum()),
    }


# -- the instruments: both the sign test, both decided by `decide` ------------------------------------------

@dataclasses.dataclass(frozen=True)
class Paired:
    """A paired comparison of configuration A against B over the same seeds, and its verdict from `decide`.

    quantity 'median difference': median of d = A - B per seed and the sign-test CI of that median (in A - B
    units; `decide` sees it times claimed_sign). quantity 'share': the share of untied seeds where A - B has
    the claimed sign and its exact (Clopper-Pearson) 95% interval; `decide` sees share - 1/2."""

    n: int
    median: float  # median of d (a bound when median_bound), or the share for quantity 'share'
    ci95: tuple[float, float]
    fraction_agreeing: float  # share of seeds known to have d strictly in the claimed direction (claimed_sign 0:
    # within the margin)
    verdict: str
    margin: float = 0.0
    claimed_sign: int = 1  # +1: A > B claimed; -1: A < B; 0: no difference claimed (`about`)
    quantity: str = "median difference"
    median_bound: str = ""  # '' exact; '>=' / '<=' a bound; '?' unknown (censored runs)
    censored_pairs: int = 0  # pairs with at least one censored run
    ties: int = 0  # seeds with A = B (two censored runs count as tied)

    def signed_ci(self) -> tuple[float, float]:
        """The interval `decide` saw: positive = the claimed direction."""
        if self.quantity == "share":
            return self.ci95[0] - 0.5, self.ci95[1] - 0.5
        lo, hi = ((self.claimed_sign or 1) * c for c in self.ci95)
        return min(lo, hi), max(lo, hi)

    def decision(self) -> str:
        """The rule's word for this interval and margin (claimed_sign 0: the seed claims no difference)."""
        return (decide_equal if self.claimed_sign == 0 else decide)(*self.signed_ci(), self.margin)

    def describe(self, unit: str = "", fmt: str = ".3g", pairs: str = "seeds") -> str:
        """One line for a claim's `ours`; `pairs` names what was paired (seeds, or e.g. timing repeats)."""
        lo, hi = self.ci95
        if self.quantity == "share":
            return (f"claimed direction in {self.median:.0%} of {self.n} untied {pairs} (95% CI {lo:.0%} to "
                    f"{hi:.0%}; {self.ties} tied), δ {self.margin:.2g} beyond an even split")
        med = "unknown (censored)" if self.median_bound == "?" else \
            f"{self.median_bound + ' ' if self.median_bound else ''}{self.median:{fmt}}{unit}"
        cens = f", {self.censored_pairs} with a run censored at the cap" if self.censored_pairs else ""
        return (f"median paired difference {med} (95% CI {lo:{fmt}} to {hi:{fmt}}), "
                f"{100 * self.fraction_agreeing:.0f}% of {self.n} {pairs} agree{cens}")


def _diff_bounds(a, b, a_censored, b_censored):
    """Per-pair bounds of d = a - b when censored values are lower bounds; two censored runs tie (0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ac = np.zeros(a.shape, bool) if a_censored is None else np.asarray(a_censored, bool)
    bc = np.zeros(b.shape, bool) if b_censored is None else np.asarray(b_censored, bool)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b, ac, bc = a[keep], b[keep], ac[keep], bc[keep]
    d = a - b
    lower = np.where(bc & ~ac, -np.inf, np.where(ac & bc, 0.0, d))
    upper = np.where(ac & ~bc, np.inf, np.where(ac & bc, 0.0, d))
    return lower, upper, int((ac | bc).sum())


def _too_few(n: int) -> str:
    return f" (too few seeds: fewer than {MIN_SEEDS} never decide)" if n < MIN_SEEDS else ""


def paired(a, b, *, claimed_sign: int = 1, margin: float = 0.0, a_censored=None, b_censored=None,
           level: float = LEVEL) -> Paired:
    """The median paired difference d = a - b (NaN pairs dropped), its sign-test CI, and `decide` on it.
    claimed_sign +1: the seed says A > B; -1: A < B. a_censored / b_censored: runs known only as >= their
    value (never reached the target by the cap): d is then a bound (a censored vs a finished run is an
    ordering, two censored runs a tie) and the interval uses the bounds (`_bounded_ci`).
    Why the sign test: its false-verdict rate stays below (1 - level) at 4, 8 and 64 seeds, with ties and
    skewed differences (a bootstrap's is several times that at 8 seeds); tests/test_stats.py simulates it."""
    if claimed_sign not in (1, -1):
        raise ValueError(f"claimed_sign must be +1 or -1, got {claimed_sign}")
    lower, upper, n_cens = _diff_bounds(a, b, a_censored, b_censored)
    if lower.size == 0:
        return Paired(0, float("nan"), (float("nan"), float("nan")), float("nan"), NOT_RESOLVED + " (no data)",
                      margin, claimed_sign)
    lo, hi = _bounded_ci(lower, upper, level)
    med, bound = _bounded_median(lower, upper)
    signed_lo = lower if claimed_sign == 1 else -upper
    p = Paired(int(lower.size), med, (lo, hi), float(np.mean(signed_lo > 0)), "", margin, claimed_sign,
               median_bound=bound, censored_pairs=n_cens, ties=int(np.sum((lower == 0) & (upper == 0))))
    word = p.decision()
    return dataclasses.replace(p, verdict=word + (_too_few(p.n) if word == NOT_RESOLVED else ""))


def about(values, target: float, *, margin: float, censored=None, level: float = LEVEL) -> Paired:
    """A seed's number against our runs: d = value - target per run, the order-statistic CI of its median
    (censored runs: >= their value), decided as a claim of no difference beyond `margin` (`decide_equal`)."""
    v = np.asarray(values, np.float64)
    p = paired(v, np.full(v.shape, float(target)), claimed_sign=1, margin=margin, a_censored=censored,
               level=level)
    p = dataclasses.replace(p, claimed_sign=0, fraction_agreeing=float(np.mean(np.abs(v - target) <= margin)))
    word = p.decision()
    return dataclasses.replace(p, verdict=word + (_too_few(p.n) if word == NOT_RESOLVED else ""))


def _clopper_pearson(k: int, m: int, level: float = LEVEL) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a share k / m, m >= 1: scipy's."""
    from scipy.stats import binomtest

    ci = binomtest(k, m).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def sign_share(a, b, *, claimed_sign: int = 1, margin: float = 0.0, a_censored=None, b_censored=None,
               level: float = LEVEL) -> Paired:
    """How often A - B has the claimed sign among the seeds where they differ (the sign test on untied pairs),
    with its exact 95% interval; `decide` on share - 1/2 (margin: how far from an even split matters). For
    claims about how often ('runs the risk of ...'), where ties make the median difference 0 whatever the
    untied seeds say."""
    if claimed_sign not in (1, -1):
        raise ValueError(f"claimed_sign must be +1 or -1, got {claimed_sign}")
    lower, upper, n_cens = _diff_bounds(a, b, a_censored, b_censored)
    signed_lower = lower if claimed_sign == 1 else -upper
    signed_upper = upper if claimed_sign == 1 else -lower
    agree, disagree = int(np.sum(signed_lower > 0)), int(np.sum(signed_upper < 0))
    m, ties = agree + disagree, int(lower.size) - agree - disagree
    if m == 0:
        word = NOT_REPRODUCED if ties else NOT_RESOLVED + " (no data)"  # every seed tied: no difference at all
        return Paired(0, float("nan"), (0.0, 1.0), float("nan"), word, margin, claimed_sign, "share",
                      censored_pairs=n_cens, ties=ties)
    lo, hi = _clopper_pearson(agree, m, level)
    p = Paired(m, agree / m, (lo, hi), agree / lower.size, "", margin, claimed_sign, "share",
               censored_pairs=n_cens, ties=ties)
    return dataclasses.replace(p, verdict=p.decision())


@dataclasses.dataclass(frozen=True)
class Exact:
    """A fact decided by computation, with no sampling: a closed form, a witness (one counterexample proves
    'not always'), a maximum over every run. `how` names the proof or witness in the row."""

    holds: bool
    how: str
    verdict: str = ""

    def __post_init__(self):
        object.__setattr__(self, "verdict", (SUPPORTED if self.holds else CONTRADICTED) + " — exact")


# -- composite statements ---------------------------------------------------------------------------------

def combine(parts) -> str:
    """One verdict for a statement made of parts (a conjunction, an ordering of cells, one effect at several
    settings). parts: [(name, verdict)] (or bare verdicts). The word:
      every part the same word          that word;
      some part supported, not all      'partly supported';
      otherwise                         the most decisive part's word: contradicted > not reproduced >
                                        not resolved.
    Where the parts differ, every part is named with its own word after ' — ', so the row says which part
    went which way."""
    named = [(p, v) if isinstance(p, str) and isinstance(v, str) else (None, v)
             for p, v in (x if isinstance(x, tuple) else (None, x) for x in parts)]
    heads = [verdict_head(v) for _, v in named]
    if not heads:
        raise ValueError("combine needs at least one part")
    if len(set(heads)) == 1:
        return heads[0] if len(heads) > 1 else named[0][1]
    if SUPPORTED in heads or PARTLY in heads:
        word = PARTLY
    else:
        word = next(w for w in (CONTRADICTED, NOT_REPRODUCED, NOT_RESOLVED, NOT_TESTABLE) if w in heads)
    if all(name is None for name, _ in named):
        counts = {h: heads.count(h) for h in dict.fromkeys(heads)}
        return f"{word} — " + ", ".join(f"{n} {h}" for h, n in counts.items())
    return f"{word} — " + "; ".join(f"{name}: {h}" for (name, _), h in zip(named, heads, strict=True))
