"""What an experiment concluded, as data, and the one writer of `summary.json` and `summary.md`.

`analyse(cfg, result) -> Summary` builds tables, claims, notes and figures; `write(summary, out, cfg,
...)` renders them once (markdown and JSON, with provenance and the wall-time footer), draws each
figure once, and returns the markdown. Claims are answers to entries of the registry in
`jaxdl.reporting.claims` by id: the report joins them by id only, so rewording never loses a row.

summary.json is data (its JSON Schema: `SCHEMA_PATH`, version `SCHEMA_VERSION`): a table's rows hold the
values themselves (numbers as numbers, a fraction as a fraction, an interval as {"lo", "hi"}, a value known
only as a bound as `Censored`), and all formatting (digits, %, "(best)", "a-b") lives in the table's
`formats`, applied only to summary.md. NaN is null and +-inf {"inf": +-1} everywhere in the file
(jaxdl.reporting.io.to_json).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jaxdl.reporting import claims as registry
from jaxdl.reporting import drawing, io, provenance

# Bump when a reader of summary.json would have to change; summary.schema.json describes this version.
SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")


@dataclasses.dataclass(frozen=True)
class Claim:
    """Our answer to registry entry `id`: `ours` the measured number(s) in one line, `verdict` from
    `jaxdl.reporting.claims.VERDICTS` (optionally ' — qualifier'), `evidence` the statistics behind it (JSON)."""

    id: str
    ours: str
    verdict: str
    evidence: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        registry.check_verdict(self.verdict)
        if self.id not in registry.BY_ID:
            raise KeyError(f"claim id {self.id!r} is not in the registry (jaxdl/reporting/claims.py); "
                           "register it there")


@dataclasses.dataclass(frozen=True)
class Censored:
    """A value known only as a bound, e.g. a run that never reached its target within the budget: at least
    `value` steps. JSON {"at_least": value} (or {"at_most": value}); markdown ">= value" ("<= value"),
    the value formatted as its column."""

    value: float
    at_least: bool = True

    def to_json(self) -> dict:
        return {"at_least" if self.at_least else "at_most": self.value}

    def __format__(self, spec: str) -> str:
        return (">= " if self.at_least else "<= ") + format(self.value, spec)


def censored_if(value: float, flag: bool, at_least: bool = True):
    """`value`, or Censored(value) where `flag` says the measurement stopped there."""
    return Censored(value, at_least) if flag else value


def render(fmt, value) -> str:
    """One table cell as markdown text (see Table)."""
    if value is None:
        return "n/a"
    if callable(fmt):
        return fmt(value)
    if isinstance(fmt, str) and "{" in fmt:
        return fmt.format(**value) if isinstance(value, dict) else fmt.format(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):  # a list of numbers, each formatted alike
        return "[" + ", ".join(render(fmt, v) for v in value) + "]"
    if fmt and isinstance(value, (int, float, Censored)):
        return format(value, fmt)
    return str(value)


@dataclasses.dataclass(frozen=True)
class Table:
    """A table of values; markdown only formats them. `formats[i]` formats column i: a format spec such as
    '.3g' or '.0%' (numbers, and each number of a list), a template with braces such as
    '{median:.0f} ({q25:.0f}-{q75:.0f})' (filled from a dict value, or from the value itself as {0}), or a
    callable; None or '' leaves str(value).
    Rows hold numbers, strings (labels and words, never formatted numbers), booleans, None (n/a), dicts of
    those (named parts: an estimate and its interval) and `Censored` values."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    formats: Sequence[Any] | None = None
    note: str = ""

    def cell(self, i: int, value) -> str:
        return render(self.formats[i] if self.formats and i < len(self.formats) else None, value)

    def markdown(self) -> list[str]:
        lines = [f"### {self.title}", ""] if self.title else []
        lines += ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        for row in self.rows:
            lines.append("| " + " | ".join(self.cell(i, v).replace("|", "/") for i, v in enumerate(row)) + " |")
        if self.note:
            lines += ["", self.note]
        return lines + [""]

    def to_json(self) -> dict:
        return {"title": self.title, "columns": list(self.columns), "rows": io.to_json([list(r) for r in self.rows]),
                "note": self.note}


@dataclasses.dataclass(frozen=True)
class Figure:
    """A figure file in the output directory, drawn when the summary is written as `draw(path, *args, **kwargs)`.
    `draw` is a module-level function (a plots.py function) and `args`/`kwargs` are data (numbers, strings,
    numpy or JAX arrays, dicts and lists of them), so a figure pickles: jaxdl.reporting.drawing draws it in a
    process of its own, which has matplotlib imported while the run trains."""

    name: str
    draw: Callable[..., None]
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    caption: str = ""

    def __post_init__(self):
        if not isinstance(self.args, tuple) or not isinstance(self.kwargs, dict):
            raise TypeError(f"Figure {self.name}: args must be a tuple and kwargs a dict (a caption is caption=...), "
                            f"not {type(self.args).__name__} and {type(self.kwargs).__name__}")

    def render(self, out: Path) -> None:
        self.draw(Path(out) / self.name, *self.args, **self.kwargs)


@dataclasses.dataclass
class Summary:
    experiment: str
    title: str
    setup: str  # one paragraph: data, model, protocol
    tables: list[Table] = dataclasses.field(default_factory=list)
    claims: list[Claim] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    figures: list[Figure] = dataclasses.field(default_factory=list)
    data: dict = dataclasses.field(default_factory=dict)  # the raw numbers behind tables and figures (JSON only)
    # One sentence of headline numbers, computed from the data (the README's experiment table shows it).
    headline: str = ""


def claims_markdown(claims: Sequence[Claim]) -> list[str]:
    lines = ["### Seed claims vs our measurement", "",
             "| id | seed | the seed says | ours | verdict |", "|---|---|---|---|---|"]
    for c in claims:
        entry = registry.BY_ID[c.id]
        lines.append(f"| `{c.id}` | {entry.seed} {entry.section} | {entry.text} | "
                     f"{c.ours.replace('|', '/')} | **{c.verdict}** |")
    return lines + ["", f"Verdict rule: {registry.RULE_LINK}.", ""]


def markdown(s: Summary, prov: dict) -> str:
    lines = [f"# {s.title}", "", *([f"**{s.headline}**", ""] if s.headline else []), s.setup, ""]
    for t in s.tables:
        lines += t.markdown()
    if s.claims:
        lines += claims_markdown(s.claims)
    for note in s.notes:
        lines += [note, ""]
    if s.figures:
        lines += [" ".join(f"![{f.caption or f.name}]({f.name})" for f in s.figures), ""]
    dev = prov["device"]
    compile_s = prov.get("compile_s")
    lines += [f"Wall time {prov['wall_s']:.1f} s"
              + (f" (compile {compile_s:.1f} s" + (", from the compilation cache" if prov.get("compile_cache_hit")
                                                   else "") + ")" if compile_s is not None else "")
              + f" on {dev['device_count']} x {dev['device_kind']} ({dev['backend']}"
              + (f", {dev['process_count']} processes" if dev.get("process_count", 1) > 1 else "")
              + f"); commit `{str(prov['git_commit'])[:12]}`.", ""]
    return "\n".join(lines)


def to_json(s: Summary, prov: dict) -> dict:
    """The summary.json document (summary.schema.json)."""
    return io.to_json({
        "schema_version": SCHEMA_VERSION,
        "experiment": s.experiment,
        "title": s.title,
        **({"headline": s.headline} if s.headline else {}),
        "setup": s.setup,
        "claims": {c.id: {"ours": c.ours, "verdict": c.verdict, "evidence": c.evidence} for c in s.claims},
        "tables": [t.to_json() for t in s.tables],
        "notes": s.notes,
        "figures": [f.name for f in s.figures],
        "data": s.data,
        "provenance": prov,
    })


def write(s: Summary, out: Path, config: dict, **timings) -> str:
    """Writes summary.json, summary.md and the figures into `out` (process 0 only: jaxdl.reporting.io), returns
    the markdown. `timings`: wall_s, compile_s, ... for the provenance record."""
    prov = provenance.collect(config, **timings)
    text = markdown(s, prov)
    if io.is_writer():  # other processes of a multi-process run write nothing, so they draw nothing
        drawing.draw(s.figures, out, s.experiment)
    io.write_json(Path(out) / "summary.json", to_json(s, prov))
    io.write_text(Path(out) / "summary.md", text)
    return text
