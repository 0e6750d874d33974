"""Iterations to a goal over a grid of cells (e.g. activation x loss) x learning rates x seeds: the
per-lr statistics, each cell's best lr, orderings with ties, and paired verdicts across cells.

Arrays are [lrs, seeds] per cell; seed k is the same initial weights in every cell (`jaxdl.training.grid`), so
cells compare seed by seed (`stats.paired`).
"""

from __future__ import annotations

import numpy as np

from jaxdl.analysis import stats


def by_lr(hit: np.ndarray, diverged: np.ndarray, lrs, steps: int) -> list[dict]:
    """One row per lr: censored median/IQR/CI, share reached, diverged count, and every seed's iterations."""
    iters = stats.censored_iterations(hit, steps)
    return [{"lr": lr, **stats.censored_stats(iters[i], hit[i], diverged[i], steps),
             "iterations": iters[i].astype(int).tolist()} for i, lr in enumerate(lrs)]


def best_lr_index(rows: list[dict]) -> int:
    """The lr with the lowest median iterations (ties: the larger share reached, then the smaller lr)."""
    return min(range(len(rows)), key=lambda i: (rows[i]["median"], -rows[i]["fraction_reached"]))


def order_with_ties(medians: dict) -> list[list]:
    """Cells grouped by equal median, slowest group first: [[a], [b, c]] reads a > b = c."""
    groups: dict[float, list] = {}
    for cell, m in medians.items():
        groups.setdefault(m, []).append(cell)
    return [groups[m] for m in sorted(groups, reverse=True)]


def order_text(groups: list[list], name=str) -> str:
    return " > ".join(" = ".join(map(name, g)) for g in groups)


def pairwise(iters: dict, claimed_order: list, margin: float) -> list[dict]:
    """For each pair (slow, fast) of `claimed_order` (slowest first): `stats.paired` on log2 iterations
    per seed, claiming slow > fast; `margin` in log2 units. iters: cell -> [seeds] at the lr compared."""
    out = []
    for i, slow in enumerate(claimed_order):
        for fast in claimed_order[i + 1:]:
            p = stats.paired(np.log2(np.maximum(iters[slow], 1)), np.log2(np.maximum(iters[fast], 1)),
                             claimed_sign=1, margin=margin)
            out.append({"slow": slow, "fast": fast, "paired": p})
    return out


def reliable_lrs(hit: np.ndarray, lrs, share: float = 0.9) -> list:
    """The lrs at which at least `share` of the seeds reach the goal. hit: [lrs, seeds]."""
    return [lr for i, lr in enumerate(lrs) if np.mean(hit[i] >= 0) >= share]


def validate_grid(cfg, lists: tuple[str, ...]) -> None:
    """Cross-field checks of a grid config: whole record intervals, no value listed twice (it would train
    the same models twice and pair a cell with itself)."""
    from absl import flags

    if cfg.steps % cfg.record_every:
        raise flags.ValidationError("--steps must be a multiple of --record_every")
    for name in lists:
        if len(set(getattr(cfg, name))) != len(getattr(cfg, name)):
            raise flags.ValidationError(f"--{name} lists a value twice")
