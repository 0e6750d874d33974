r"""`make results`: run every experiment, then write results/README.md with a claims audit.

    python -m jaxdl.report                      # CPU default scale, offline (what `make results` runs)
    python -m jaxdl.report --scale=full         # the accelerator schedule (see BUILD.md)
    python -m jaxdl.report --skip_run           # only rebuild results/README.md from existing results
    python -m jaxdl.report --only=fc_grid,xor   # run some experiments, report on all

Each experiment (every module in experiments/, found by listing the folder: a new one needs no change
here) writes `results/<name>/summary.json` whose `claims` maps registry ids (jaxdl/claims.py) to
{"ours", "verdict", "evidence"}. The audit lists every registry entry: the answer of its experiment,
its fixed verdict (not testable / definition), or "missing" with the reason; never dropped.
"""

from __future__ import annotations

import collections
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags, logging

from jaxdl import claims as registry
from jaxdl import cli, config, io, provenance
from jaxdl.stats import verdict_head

EXPERIMENTS_DIR = Path(__file__).resolve().parent.parent / "experiments"


def experiment_names(folder: Path = EXPERIMENTS_DIR) -> list[str]:
    """Every experiment module, in the order the seeds discuss them (first registry entry), then the
    ones the registry does not name, alphabetically."""
    names = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
    first = {}
    for i, e in enumerate(registry.ENTRIES):
        first.setdefault(e.experiment, i)
    return sorted(names, key=lambda n: (first.get(n, len(registry.ENTRIES)), n))


FLAGS = flags.FLAGS
if "scale" not in FLAGS:  # an experiment imported first (tests) defines the same --scale (jaxdl.config)
    flags.DEFINE_enum("scale", "cpu", list(config.SCALES), "cpu: the offline CPU defaults; full: every experiment's "
                      "--scale=full preset (the accelerator schedule).")
flags.DEFINE_string("results", "results", "Results directory (one sub-directory per experiment).")
flags.DEFINE_bool("skip_run", False, "Do not run experiments; rebuild the report from existing results.")
flags.DEFINE_list("only", [], f"Run only these experiments (report on all). Choices: "
                  f"{', '.join(experiment_names())}.")
flags.DEFINE_string("front_page", "README.md", "Markdown file whose claims table (between the markers "
                    f"{'<!-- claims:begin -->'} and {'<!-- claims:end -->'}) is rewritten from the audit; "
                    "empty = leave it alone.")

CLAIMS_BEGIN, CLAIMS_END = "<!-- claims:begin -->", "<!-- claims:end -->"


def command(name: str, scale: str, results: Path) -> list[str]:
    return [sys.executable, "-m", f"experiments.{name}", f"--out={results / name}", f"--scale={scale}"]


def run_experiments(names, scale: str, results: Path) -> dict[str, float]:
    """Runs each experiment in its own process, streaming its progress; returns wall seconds per name."""
    walls = {}
    chosen = [n for n in experiment_names() if n in names]
    for i, name in enumerate(chosen, 1):
        cmd = command(name, scale, results)
        print(f"[{i}/{len(chosen)}] {name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, check=False)
        walls[name] = time.perf_counter() - t0
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"[{i}/{len(chosen)}] {name}: {status} in {walls[name]:.0f} s", flush=True)
        if proc.returncode != 0:
            raise SystemExit(f"experiment {name} failed; its output is above. Fix it and rerun "
                             f"`python -m jaxdl.report --only={name}`.")
    return walls


def load_summaries(results: Path, names=None) -> dict[str, dict | None]:
    out = {}
    for name in experiment_names() if names is None else names:
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


def write_report(results: Path, walls: dict[str, float], scale: str, total_wall_s: float) -> str:
    names = experiment_names()
    summaries = load_summaries(results, names)
    rows = audit(summaries)
    prov = provenance.collect({"scale": scale}, total_wall_s=total_wall_s)
    lines = [
        "# jaxdl results",
        "",
        f"Generated by `make results{' SCALE=full' if scale == 'full' else ''}` "
        f"(`python -m jaxdl.report --scale={scale}`). Commit `{prov['git_commit']}`, {prov['date_utc']}, "
        f"{prov['device']['device_count']} x {prov['device']['device_kind']} ({prov['device']['backend']}), "
        f"jax {prov['versions']['jax']}, flax {prov['versions']['flax']}, optax {prov['versions']['optax']}.",
        "",
        "## Claims audit",
        "",
        "Every checkable statement of the two seed reports (results, numbers, orderings and the reasons they "
        "give), from the registry in `jaxdl/claims.py`, with our measurement and a verdict from the "
        "experiment's data through one rule (BUILD.md, Verdicts), or the reason it cannot be tested here.",
        "",
        f"**{count_line(rows)}**",
        "",
        *audit_table(rows),
        "## Experiments",
        "",
    ]
    for name in names:
        summary = summaries[name]
        lines += [f"<a id=\"{name}\"></a>", ""]
        if summary is None:
            lines += [f"### {name}", "", f"**Missing**: no `results/{name}/summary.json`. Run "
                      f"`python -m jaxdl.report --only={name}`.", ""]
            continue
        p = summary.get("provenance", {})
        wall = walls.get(name, p.get("wall_s"))
        wall_text = f"{wall:.0f} s" if isinstance(wall, (int, float)) else "unknown"
        # Experiments can be rerun one at a time (--only): each section names the run it comes from.
        commit = str(p.get("git_commit", ""))
        commit = commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")  # short, but never hide "dirty"
        run_of = ", ".join(x for x in (f"commit `{commit}`" if commit else "",
                                       str(p.get("date_utc", ""))[:10]) if x)
        lines += [
            f"### {summary.get('title', name)}",
            "",
            f"Command: `{p.get('command', 'python -m experiments.' + name)}`, wall time {wall_text}"
            + (f" ({run_of})." if run_of else "."),
            "",
            _embed_summary(name, results),
            "",
        ]
    lines += [
        "## Provenance",
        "",
        f"- git commit: `{prov['git_commit']}`",
        f"- date (UTC): {prov['date_utc']}",
        f"- device: {json.dumps(prov['device'])}",
        f"- versions: {json.dumps(prov['versions'])}",
        f"- total wall time: {total_wall_s:.0f} s" + _run_scope(walls, names),
        "",
    ]
    text = "\n".join(lines)
    io.write_text(results / "README.md", text)
    io.write_json(results / "claims.json", {"claims": rows, "count": count_line(rows), "provenance": prov})
    return text


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


def update_front_page(path: Path, rows: list[dict]) -> bool:
    """Rewrites the claims table between the markers in `path`; False if the file or a marker is absent."""
    try:
        text = path.read_text()
    except OSError:
        return False
    if CLAIMS_BEGIN not in text or CLAIMS_END not in text:
        return False
    head, rest = text.split(CLAIMS_BEGIN, 1)
    _, tail = rest.split(CLAIMS_END, 1)
    io.write_text(path, f"{head}{CLAIMS_BEGIN}\n{claims_table(rows)}\n{CLAIMS_END}{tail}")
    return True


def main(argv):
    known = set(experiment_names())
    unknown = set(FLAGS.only) - known
    if unknown:
        raise app.UsageError(f"--only: unknown experiment(s) {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(sorted(known))}")
    results = cli.start(argv, FLAGS.results, flag="results")
    t0 = time.perf_counter()
    walls = {} if FLAGS.skip_run else run_experiments(FLAGS.only or known, FLAGS.scale, results)
    write_report(results, walls, FLAGS.scale, time.perf_counter() - t0)
    logging.info("wrote %s", results / "README.md")
    if FLAGS.front_page:
        rows = json.loads((results / "claims.json").read_text())["claims"]
        if update_front_page(Path(FLAGS.front_page), rows):
            logging.info("updated the claims table in %s", FLAGS.front_page)
        else:
            logging.warning("%s has no %s ... %s markers: its claims table was not updated", FLAGS.front_page,
                            CLAIMS_BEGIN, CLAIMS_END)
    print(f"wrote {results / 'README.md'} (total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    app.run(main)
