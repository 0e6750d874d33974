"""Quantities read off recorded training curves: when a goal is first met, loss spikes, smoothing.

Curves are [models, records] with the record steps [records] beside them. "Iterations to a goal" follow
`jaxdl.analysis.stats`'s convention: the first recorded step meeting it, -1 if none did; `stats.censored_iterations`
then censors the never-met at the budget.
"""

from __future__ import annotations

import numpy as np


def first_hit_step(steps: np.ndarray, values: np.ndarray, goal: float) -> np.ndarray:
    """First step whose value is >= goal, per model; -1 if none. steps: [R], values: [M, R] -> int [M].
    The tolerance keeps an exact share a hit whatever the dtype: 760/800 in float32 is 0.94999999."""
    hit = values >= goal - 1e-6
    return np.where(hit.any(1), steps[np.argmax(hit, 1)], -1).astype(np.int64)


def count_spikes(loss: np.ndarray, factor: float) -> np.ndarray:
    """Spikes per curve, loss: [M, R] -> int [M]. Point r is up when loss[r] > factor * min(loss[:r]);
    a spike is a maximal run of up points (one excursion counts once). NaN points are skipped."""
    return spike_starts(loss, factor).sum(1)


def spike_starts(loss: np.ndarray, factor: float) -> np.ndarray:
    """bool [M, R]: where each spike of `count_spikes` starts."""
    loss = np.where(np.isfinite(loss), loss, np.nan)
    running_min = np.fmin.accumulate(np.where(np.isnan(loss), np.inf, loss), axis=1)
    previous_min = np.concatenate([np.full((loss.shape[0], 1), np.inf), running_min[:, :-1]], 1)
    up = loss > factor * previous_min  # NaN compares False
    return up & ~np.concatenate([np.zeros((loss.shape[0], 1), bool), up[:, :-1]], 1)


def moving_median(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving median over `window` records (fewer at the start): [M, R] -> [M, R]."""
    out = np.empty_like(values, dtype=np.float64)
    for r in range(values.shape[1]):
        out[:, r] = np.nanmedian(values[:, max(0, r - window + 1): r + 1], axis=1)
    return out
