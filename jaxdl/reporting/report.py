"""The results report: results/README.md (every experiment's summary embedded) and the claims audit.

    write_report(Path("results"), names, walls, scale="cpu", total_wall_s=...)   # README.md + claims.json
    update_front_page(Path("README.md"), rows, summaries)                       # the claims and experiment tables

Each experiment writes `results/<name>/summary.json` whose `claims` maps registry ids
(jaxdl/reporting/claims.py) to {"ours", "verdict", "evidence"}. The audit lists every registry entry: the
answer of its experiment, its fixed verdict (not testable / definition), or "missing" with the reason;
never dropped. Running the experiments is the driver's job (`python -m experiments`, experiments/__main__/).
"""

from __future__ import annotations

import collections
import itertools
import json
from pathlib import Path

from jaxdl.analysis.stats import verdict_head
from jaxdl.reporting import claims as registry
from jaxdl.reporting import io, provenance


def seed_order(names) -> list[str]:
    """Experiment names in the order the seeds discuss them (first registry entry), then the ones the
    registry does not name, alphabetically."""
    first = {}
    for i, e in enumerate(registry.ENTRIES):
        first.setdefault(e.experiment, i)
    return sorted(names, key=lambda n: (first.get(n, len(registry.ENTRIES)), n))


CLAIMS_BEGIN, CLAIMS_END = "<!-- claims:begin -->", "<!-- claims:end -->"
EXPERIMENTS_BEGIN, EXPERIMENTS_END = "<!-- experiments:begin -->", "<!-- experiments:end -->"


def load_summaries(results: Path, names) -> dict[str, dict | None]:
    out = {}
    for name in names:
        try:
            out[name] = json.loads((results / name / "summary.json").read_text())
        except (OSError, json.JSONDecodeError):
            out[name] = None
    return out


def audit(summaries: dict[str, dict | None]) -> list[dict]:
    """One row per registry entry: our number and verdict, its fixed verdict, or 'missing' and why."""
    rows = []
    for e in registry.ENTRIES:
        row = {"id": e.id, "seed": e.seed, "section": e.section, "text": e.text, "kind": e.kind,
               "experiment": e.experiment}
        if e.fixed is not None:
            rows.append({**row, "ours": "", "verdict": e.fixed})
            continue
        summary = summaries.get(e.experiment)
        answer = (summary or {}).get("claims", {}).get(e.id) if isinstance((summary or {}).get("claims"),
                                                                          dict) else None
        if summary is None:
            rows.append({**row, "verdict": "missing", "ours": f"missing: no results/{e.experiment}/summary.json"})
        elif answer is None:
            rows.append({**row, "verdict": "missing", "ours": f"missing: {e.experiment} does not answer it"})
        else:
            rows.append({**row, "ours": answer["ours"], "verdict": answer["verdict"]})
    return rows


def unknown_claims(summaries: dict[str, dict | None]) -> list[str]:
    """Claim ids an experiment answers that the registry does not know (or assigns elsewhere)."""
    bad = []
    for name, summary in summaries.items():
        for cid in (summary or {}).get("claims", {}) if isinstance((summary or {}).get("claims"), dict) else []:
            entry = registry.BY_ID.get(cid)
            if entry is None or entry.experiment != name:
                bad.append(f"{name}:{cid}")
    return bad


def count_line(rows: list[dict]) -> str:
    counts = collections.Counter(verdict_head(r["verdict"]) for r in rows)
    order = [*registry.VERDICTS, "missing"]
    parts = [f"{counts[v]} {v}" for v in order if counts[v]]
    return f"{len(rows)} statements: " + ", ".join(parts) + "."


def _embed_summary(name: str, results: Path) -> str:
    """The experiment's summary.md, with its headings demoted and figure links made relative to results/."""
    md = (results / name / "summary.md").read_text() if (results / name / "summary.md").exists() else ""
    lines = []
    for line in md.splitlines():
        if line.startswith("#"):
            line = "##" + line
        lines.append(line.replace("](", f"]({name}/") if "![" in line else line)
    return "\n".join(lines)


def audit_table(rows: list[dict], *, with_ours: bool = True) -> list[str]:
    """The audit grouped by seed and section; each row links to its experiment's section."""
    lines = []
    for (seed, section), group in itertools.groupby(rows, key=lambda r: (r["seed"], r["section"])):
        lines += [f"**Seed {seed} {section}**", "",
                  "| id | the seed says | " + ("ours | " if with_ours else "") + "verdict |",
                  "|---|---|" + ("---|" if with_ours else "") + "---|"]
        for r in group:
            link = f"[`{r['id']}`](#{r['experiment']})" if r["experiment"] else f"`{r['id']}`"
            ours = r["ours"].replace("|", "/").replace("\n", " ")
            lines.append(f"| {link} | {r['text']} | " + (f"{ours} | " if with_ours else "") + f"**{r['verdict']}** |")
        lines.append("")
    return lines


def write_report(results: Path, names: list[str], walls: dict[str, float], scale: str, total_wall_s: float) -> str:
    names = seed_order(names)
    summaries = load_summaries(results, names)
    rows = audit(summaries)
    prov = provenance.collect({"scale": scale}, total_wall_s=total_wall_s)
    lines = [*_report_header(prov, scale, rows), "## Experiments", ""]
    for name in names:
        lines += _experiment_section(results, name, summaries[name], walls)
    lines += _provenance_section(prov, total_wall_s, walls, names)
    text = "\n".join(lines)
    io.write_text(results / "README.md", text)
    io.write_json(results / "claims.json", {"claims": rows, "count": count_line(rows), "provenance": prov})
    return text


def _report_header(prov: dict, scale: str, rows: list[dict]) -> list[str]:
    return [
        "# jaxdl results",
        "",
        f"Generated by `make results{' SCALE=full' if scale == 'full' else ''}` "
        f"(`python -m experiments --scale={scale}`). Commit `{prov['git_commit']}`, {prov['date_utc']}, "
        f"{prov['device']['device_count']} x {prov['device']['device_kind']} ({prov['device']['backend']}), "
        f"jax {prov['versions']['jax']}, flax {prov['versions']['flax']}, optax {prov['versions']['optax']}.",
        "",
        "## Claims audit",
        "",
        "Every checkable statement of the two seed reports (results, numbers, orderings and the reasons they "
        "give), from the registry in `jaxdl/reporting/claims.py`, with our measurement and a verdict computed "
        "from the experiment's data: each part of a statement decided by one rule (a sign-test 95% interval "
        "against the margin stated with it) or by an exact computation named in the row, the parts combined by "
        "one documented rule (BUILD.md, Verdicts); or the reason it cannot be tested here.",
        "",
        f"**{count_line(rows)}**",
        "",
        *audit_table(rows),
    ]


def _run_of(summary: dict) -> str:
    """The run a section comes from (experiments can be rerun one at a time with --only): short commit
    (never hiding "+dirty") and date."""
    p = summary.get("provenance", {})
    commit = str(p.get("git_commit", ""))
    commit = commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")
    return ", ".join(x for x in (f"commit `{commit}`" if commit else "", str(p.get("date_utc", ""))[:10]) if x)


def _experiment_section(results: Path, name: str, summary: dict | None, walls: dict[str, float]) -> list[str]:
    lines = [f"<a id=\"{name}\"></a>", ""]
    if summary is None:
        return lines + [f"### {name}", "", f"**Missing**: no `results/{name}/summary.json`. Run "
                        f"`python -m experiments --only={name}`.", ""]
    p = summary.get("provenance", {})
    wall = walls.get(name, p.get("wall_s"))
    wall_text = f"{wall:.0f} s" if isinstance(wall, (int, float)) else "unknown"
    run_of = _run_of(summary)
    return lines + [
        f"### {summary.get('title', name)}",
        "",
        f"Command: `{p.get('command', 'python -m experiments.' + name)}`, wall time {wall_text}"
        + (f" ({run_of})." if run_of else "."),
        "",
        _embed_summary(name, results),
        "",
    ]


def _provenance_section(prov: dict, total_wall_s: float, walls: dict[str, float], names: list[str]) -> list[str]:
    return [
        "## Provenance",
        "",
        f"- git commit: `{prov['git_commit']}`",
        f"- date (UTC): {prov['date_utc']}",
        f"- device: {json.dumps(prov['device'])}",
        f"- versions: {json.dumps(prov['versions'])}",
        f"- total wall time: {total_wall_s:.0f} s" + _run_scope(walls, names),
        "",
    ]


def experiments_table(summaries: dict[str, dict | None], rows: list[dict]) -> str:
    """The front page's experiment table, from results/ alone: command, the latest run's wall time, its
    question (the summary's title), its headline numbers (the summary's `headline`) and its verdicts."""
    verdicts = collections.defaultdict(collections.Counter)
    for r in rows:
        if r["experiment"]:
            verdicts[r["experiment"]][verdict_head(r["verdict"])] += 1
    lines = ["| experiment | command (latest run's wall time) | question, headline numbers | seed statements |",
             "|---|---|---|---|"]
    for name, summary in summaries.items():
        if summary is None:
            lines.append(f"| {name} | `python -m experiments.{name}` | no results yet | |")
            continue
        p = summary.get("provenance", {})
        wall, dev = p.get("wall_s"), p.get("device")
        on = f" on {dev['device_count']} x {dev['device_kind']}" if dev else ""
        wall_text = "" if wall is None else f" ({_duration(wall)}{on})"
        counts = ", ".join(f"{verdicts[name][v]} {v}" for v in (*registry.VERDICTS, "missing") if verdicts[name][v])
        headline = summary.get("headline") or _first_finding(summary)
        text = summary.get("title", name) + (f": {headline}" if headline else "")
        lines.append(f"| [{name}](results/README.md#{name}) | `python -m experiments.{name}`{wall_text} | "
                     f"{text.replace('|', '/')} | {counts} |")
    return "\n".join(lines)


def _first_finding(summary: dict, limit: int = 140) -> str:
    """Without a `headline`: the first clause of the experiment's first answer (computed from its data)."""
    claims = summary.get("claims") or {}
    if not isinstance(claims, dict) or not claims:
        return ""
    first = next(iter(claims.values())).get("ours", "").split("; ")[0].strip()
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " …"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _run_scope(walls: dict[str, float], names: list[str]) -> str:
    """What the total wall time covers: every experiment, some (the rest are earlier runs) or none."""
    if not walls:
        return " (report only; the experiments' results are from earlier runs)"
    missing = [n for n in names if n not in walls]
    if missing:
        return (f" (this run: {', '.join(walls)}; {', '.join(missing)} from earlier runs, see their "
                "sections)")
    return " (every experiment)"


def claims_table(rows: list[dict]) -> str:
    """The front page's audit: the count line and every entry's verdict, grouped by seed and section."""
    return "\n".join([f"**{count_line(rows)}**", "", *audit_table(rows, with_ours=False)]).rstrip()


def update_front_page(path: Path, rows: list[dict], summaries: dict[str, dict | None] | None = None) -> bool:
    """Rewrites the claims table between its markers in `path` and, given `summaries`, the experiment
    table between its own; False if the file or a claims marker is absent."""
    try:
        text = path.read_text()
    except OSError:
        return False
    if CLAIMS_BEGIN not in text or CLAIMS_END not in text:
        return False
    text = _replace_block(text, CLAIMS_BEGIN, CLAIMS_END, claims_table(rows))
    if summaries is not None and EXPERIMENTS_BEGIN in text and EXPERIMENTS_END in text:
        text = _replace_block(text, EXPERIMENTS_BEGIN, EXPERIMENTS_END, experiments_table(summaries, rows))
    io.write_text(path, text)
    return True


def _replace_block(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"
