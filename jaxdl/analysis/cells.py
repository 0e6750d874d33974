"""Iterations to a goal over a grid of cells (e.g. activation x loss) x learning rates x seeds: the
per-lr statistics, each cell's best lr, orderings with ties, and paired verdicts across cells.

Arrays are [lrs, seeds] per cell; seed k is the same initial weights in every cell (`jaxdl.training.grid`), so
cells compare seed by seed (`stats.paired`).
"""

from __future__ import annotations

import numpy as np

from jaxdl.analysis import stats


def by_lr(hit: np.ndarray, diverged: np.ndarray, lrs, steps: int) -> list[dict]:
    """One row per lr: median (a lower bound where censored), IQR, the order-statistic 95% CI of the median
    (`stats.median_ci`, the paired rule's method), share reached, diverged count, and every seed's iterations
    with its censoring flag (never reached: known only as >= steps)."""
    iters = stats.censored_iterations(hit, steps)
    return [{"lr": lr, **stats.censored_stats(iters[i], hit[i], diverged[i], steps),
             "iterations": iters[i].astype(int).tolist(), "censored": (hit[i] < 0).tolist()}
            for i, lr in enumerate(lrs)]


def best_lr_index(rows: list[dict]) -> int:
    """The lr with the lowest median iterations, a censored median ranking after every finished one (ties: the
    larger share reached, then the smaller lr)."""
    return min(range(len(rows)), key=lambda i: (rows[i]["median_censored"], rows[i]["median"],
                                                -rows[i]["fraction_reached"]))


def interval_text(lo: float, hi: float, fmt: str = ".0f") -> str:
    """An order-statistic interval as a table shows it: 'lo-hi', '>= lo' when the upper end is censored, and
    'none (< 6 runs)' when unbounded (the same words as the paired rule)."""
    if not np.isfinite(lo) and not np.isfinite(hi):
        return f"none (< {stats.MIN_SEEDS} runs)"
    if not np.isfinite(hi):
        return f">= {lo:{fmt}}"
    return f"{lo:{fmt}}-{hi:{fmt}}"


def order_with_ties(medians: dict) -> list[list]:
    """Cells grouped by equal median, slowest group first: [[a], [b, c]] reads a > b = c."""
    groups: dict[float, list] = {}
    for cell, m in medians.items():
        groups.setdefault(m, []).append(cell)
    return [groups[m] for m in sorted(groups, reverse=True)]


def order_text(groups: list[list], name=str) -> str:
    return " > ".join(" = ".join(map(name, g)) for g in groups)


def median_text(row: dict, fmt: str = ".0f") -> str:
    """A `by_lr` row's median as text: '>= 10000' where it is a lower bound (censored runs)."""
    return (">= " if row["median_censored"] else "") + format(row["median"], fmt)


def estimate_text(p: stats.Paired, fmt: str = ".2f") -> str:
    """'median (lo to hi)' of a Paired, with its bound ('>= 1.2') where censored runs leave only one."""
    med = "?" if p.median_bound == "?" else (p.median_bound + " " if p.median_bound else "") + format(p.median, fmt)
    lo, hi = p.ci95
    if not np.isfinite(lo) and not np.isfinite(hi):
        return f"{med} (no CI: < {stats.MIN_SEEDS} seeds)"
    return f"{med} ({lo:{fmt}} to {hi:{fmt}})"


def pairwise(iters: dict, claimed_order: list, margin: float, censored: dict | None = None) -> list[dict]:
    """For each pair (slow, fast) of `claimed_order` (slowest first): `stats.paired` on log2 iterations
    per seed, claiming slow > fast; `margin` in log2 units. iters: cell -> [seeds] at the lr compared;
    censored: cell -> [seeds] never reached (>= the cap: ranked, never subtracted as a number)."""
    out, censored = [], censored or {}
    log2 = lambda c: np.log2(np.maximum(np.asarray(iters[c], np.float64), 1))  # noqa: E731
    for i, slow in enumerate(claimed_order):
        for fast in claimed_order[i + 1:]:
            p = stats.paired(log2(slow), log2(fast), claimed_sign=1, margin=margin,
                             a_censored=censored.get(slow), b_censored=censored.get(fast))
            out.append({"slow": slow, "fast": fast, "paired": p})
    return out


def pairwise_text(pairs: list[dict], name=str) -> str:
    """The pairwise verdicts as one ordering: '>' supported, '<' contradicted, '=' not reproduced (within
    the margin), '?' not resolved, so the text never asserts more than the verdicts."""
    sym = {stats.SUPPORTED: ">", stats.CONTRADICTED: "<", stats.NOT_REPRODUCED: "="}
    return "; ".join(f"{name(p['slow'])} {sym.get(stats.verdict_head(p['paired'].verdict), '?')} {name(p['fast'])}"
                     for p in pairs)


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
