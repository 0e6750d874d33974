"""A claim's answer assembled from paired comparisons: each part through `stats.paired`, the parts
through `stats.combine`, the numbers in `ours` and the Paired fields in the evidence."""

from __future__ import annotations

import dataclasses

from jaxdl.analysis import stats
from jaxdl.reporting import summary


def compare(label: str, a, b, sign: int, margin: float, unit: str = " pp", k: float = 100):
    """(text, Paired) of one paired comparison a - b, shown in `unit` (accuracy x 100 as pp)."""
    p = stats.paired(a, b, claimed_sign=sign, margin=margin)
    shown = dataclasses.replace(p, median=k * p.median, ci95=tuple(k * c for c in p.ci95))
    return f"{label}: {shown.describe(unit)}, δ {k * margin:.3g}{unit} → {p.verdict}", p


def claim(cid: str, parts: list, note: str = "", verdict: str | None = None) -> summary.Claim:
    """A claim from its parts (combined with stats.combine unless `verdict` is an exact fact)."""
    return summary.Claim(cid, "; ".join([t for t, _ in parts] + ([note] if note else [])),
                         verdict or stats.combine([p.verdict for _, p in parts]),
                         {t.split(":")[0]: dataclasses.asdict(p) for t, p in parts})


def exact(ok: bool, yes: str = "supported", no: str = "contradicted") -> str:
    """The verdict of an exact fact (no sampling): `yes` when it holds, else `no`, marked "— exact"."""
    return f"{yes if ok else no} — exact"
