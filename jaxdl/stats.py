"""Statistics reported by every experiment: medians with IQR and bootstrap confidence intervals."""

from __future__ import annotations

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
