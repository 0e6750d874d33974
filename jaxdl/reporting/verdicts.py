"""A claim's answer assembled from decided parts: each part a `stats.Paired` (through `stats.paired` or
`stats.sign_share`, decided by `stats.decide`) or a `stats.Exact` (a proof, witness or maximum over every
run, named in the row); the row's word from its parts by `stats.combine`. No verdict is written by hand:
`claim` computes it, and the evidence holds every part with its interval, margin and word, so the word can
be re-derived from summary.json (tests/test_claims.py)."""

from __future__ import annotations

import dataclasses

from jaxdl.analysis import stats
from jaxdl.reporting import summary


def compare(label: str, a, b, sign: int, margin: float, unit: str = " pp", k: float = 100, *, a_censored=None,
            b_censored=None, how=stats.paired):
    """(text, Paired) of one paired comparison a - b, shown in `unit` (accuracy x 100 as pp). `how`:
    stats.paired (the median difference) or stats.sign_share (how often, among untied seeds)."""
    p = how(a, b, claimed_sign=sign, margin=margin, a_censored=a_censored, b_censored=b_censored)
    if p.quantity == "share":
        return f"{label}: {p.describe()} → {p.verdict}", p
    shown = dataclasses.replace(p, median=k * p.median, ci95=tuple(k * c for c in p.ci95))
    return f"{label}: {shown.describe(unit)}, δ {k * margin:.3g}{unit} → {p.verdict}", p


def exact(label: str, holds: bool, how: str):
    """(text, Exact) of a fact decided by computation; `how` names the proof or witness."""
    e = stats.Exact(bool(holds), how)
    return f"{label}: {how} → {e.verdict}", e


def part_name(text: str) -> str:
    return text.split(":")[0]


def claim(cid: str, parts: list, note: str = "", context: dict | None = None, ours: str | None = None
          ) -> summary.Claim:
    """A claim from its decided parts [(text, Paired | Exact)]: the verdict is `stats.combine` of the parts'
    words (named by the text before its first ':'), `ours` the parts' texts (or `ours`) and `note`, the
    evidence every part's fields under its name (+ `context`, numbers that decide nothing)."""
    if not parts:
        raise ValueError(f"{cid}: a claim needs at least one decided part")
    verdict = stats.combine([(part_name(t), d.verdict) for t, d in parts])
    text = ours if ours is not None else "; ".join(t for t, _ in parts)
    evidence = {"parts": {part_name(t): dataclasses.asdict(d) for t, d in parts}, **(context or {})}
    return summary.Claim(cid, text + (f"; {note}" if note else ""), verdict, evidence)


def not_testable(cid: str, ours: str, reason: str) -> summary.Claim:
    """A registered statement this run's data cannot test (e.g. SVHN's numbers on synthetic stand-in data);
    `reason` says what would test it."""
    return summary.Claim(cid, ours, f"{stats.NOT_TESTABLE} ({reason})", {"not_testable": reason})


def _number(v) -> float:
    """A number as summary.json stores it: NaN as null, +-inf as {"inf": +-1} (jaxdl.reporting.io.to_json)."""
    if v is None:
        return float("nan")
    if isinstance(v, dict):
        return float("inf") * v["inf"]
    return float(v)


def rederive(verdict: str, evidence: dict) -> str | None:
    """The word `claim` would give from the evidence alone (None when the claim holds no decided parts):
    each Paired part re-decided from its interval and margin, the parts combined."""
    parts = evidence.get("parts") if isinstance(evidence, dict) else None
    if not parts:
        return None
    words = []
    for name, p in parts.items():
        word = stats.verdict_head(p["verdict"])
        if "ci95" in p and p.get("n"):
            word = stats.Paired(**{k: (tuple(_number(c) for c in v) if k == "ci95" else v)
                                   for k, v in p.items()}).decision()
        elif "holds" in p:
            word = stats.SUPPORTED if p["holds"] else stats.CONTRADICTED
        words.append((name, word))
    return stats.verdict_head(stats.combine(words))
