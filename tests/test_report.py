"""The results report on small fake result files: every registry entry gets a row, missing results are
said, experiments are found by listing experiments/ (a new one needs no change to report.py)."""

import json
from pathlib import Path

import pytest

import experiments
from jaxdl.reporting import claims, report


def fake_results(tmp_path):
    (tmp_path / "fc_grid").mkdir()
    (tmp_path / "fc_grid" / "summary.json").write_text(json.dumps({
        "title": "FC grid", "provenance": {"command": "fc_grid.py --seeds=3", "wall_s": 12.5},
        "claims": {"fc_ordering": {"ours": "relu-ce fastest", "verdict": "partly supported", "evidence": {}}},
    }))
    (tmp_path / "fc_grid" / "summary.md").write_text("# FC grid\n\n| a | b |\n|---|---|\n\n![curves](curves.png)\n")
    (tmp_path / "landscape").mkdir()
    (tmp_path / "landscape" / "summary.json").write_text(json.dumps({"claims": {}}))
    return tmp_path


def test_every_registry_entry_gets_a_row_and_missing_results_are_reported(tmp_path):
    results = fake_results(tmp_path)
    text = report.write_report(results, experiments.names(), walls={}, scale="cpu", total_wall_s=1.0)
    data = json.loads((results / "claims.json").read_text())
    rows = data["claims"]
    assert [r["id"] for r in rows] == [e.id for e in claims.ENTRIES]
    by_id = {r["id"]: r for r in rows}
    assert by_id["fc_ordering"]["verdict"] == "partly supported" and by_id["fc_ordering"]["ours"] == "relu-ce fastest"
    assert by_id["l2_gradient_vanishes"]["verdict"] == "missing"
    assert "does not answer" in by_id["l2_gradient_vanishes"]["ours"]
    assert by_id["svhn_ranking"]["ours"] == "missing: no results/svhn_zoo/summary.json"
    assert by_id["relu_robust_loss"]["verdict"].startswith("not testable here")
    untestable = sum(e.fixed.startswith("not testable") for e in claims.ENTRIES if e.fixed)
    definitions = sum(e.fixed.startswith("definition") for e in claims.ENTRIES if e.fixed)
    missing = len(claims.ENTRIES) - untestable - definitions - 1
    assert data["count"] == (f"{len(claims.ENTRIES)} statements: 1 partly supported, {untestable} not testable "
                             f"here, {definitions} definition, not a claim, {missing} missing.")
    assert data["count"] in text
    # The experiment's own table and figures are embedded, figure paths relative to results/.
    assert "![curves](fc_grid/curves.png)" in text and "### FC grid" in text
    assert "**Missing**: no `results/svhn_zoo/summary.json`" in text
    assert "wall time 12 s" in text or "wall time 13 s" in text
    assert "total wall time: 1 s (report only;" in text


def test_unknown_claim_ids_are_found():
    summaries = {"fc_grid": {"claims": {"fc_ordering": {}, "made_up": {}}}, "xor": {"claims": {"fc_ordering": {}}}}
    assert report.unknown_claims(summaries) == ["fc_grid:made_up", "xor:fc_ordering"]


def test_experiments_are_discovered_from_the_folder(tmp_path):
    for name in ("zeta_new", "fc_grid", "landscape", "_private", "svhn_zoo"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__main__.py").write_text("")
    (tmp_path / "not_an_experiment").mkdir()
    # Seed order first (landscape answers 000 §1, fc_grid 000 §2, svhn_zoo 004 Q4), then the unknown one.
    assert experiments.names(tmp_path) == ["landscape", "fc_grid", "svhn_zoo", "zeta_new"]


def test_partial_run_says_what_it_covers_and_where_each_section_comes_from(tmp_path):
    results = fake_results(tmp_path)
    summary = json.loads((results / "fc_grid" / "summary.json").read_text())
    summary["provenance"].update(git_commit="0123456789abcdef+dirty", date_utc="2026-12-01T12:00:00+00:00")
    (results / "fc_grid" / "summary.json").write_text(json.dumps(summary))
    text = report.write_report(results, experiments.names(), walls={"fc_grid": 30.0}, scale="cpu", total_wall_s=31.0)
    assert "wall time 30 s (commit `0123456789ab+dirty`, 2026-12-01)." in text
    others = [n for n in experiments.names() if n != "fc_grid"]
    assert f"total wall time: 31 s (this run: fc_grid; {', '.join(others)} from earlier runs" in text
    every = {n: 1.0 for n in experiments.names()}
    text = report.write_report(results, experiments.names(), every, "cpu", 7.0)
    assert "total wall time: 7 s (every experiment)" in text


def test_bad_flags_are_refused_with_the_fix(tmp_path):
    from conftest import run_cli

    proc = run_cli("experiments", "--only=fc_grid,nope", f"--results={tmp_path}", "--skip_run", timeout=60)
    assert proc.returncode != 0 and "unknown experiment(s) nope" in proc.stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = run_cli("experiments", f"--results={blocker / 'sub'}", "--skip_run", timeout=60)
    assert proc.returncode != 0 and "pass a writable directory with --results" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("scale", ["cpu", "full"])
def test_commands_pass_the_scale_to_every_experiment(tmp_path, scale):
    from experiments.__main__ import command

    cmd = command("fc_grid", scale, tmp_path)
    assert cmd[1:] == ["-m", "experiments.fc_grid", f"--out={tmp_path / 'fc_grid'}", f"--scale={scale}"]


def test_front_page_claims_table_is_rewritten_between_its_markers_only(tmp_path):
    (tmp_path / "results").mkdir()
    results = fake_results(tmp_path / "results")
    report.write_report(results, experiments.names(), walls={}, scale="cpu", total_wall_s=1.0)
    rows = json.loads((results / "claims.json").read_text())["claims"]
    page = tmp_path / "README.md"
    page.write_text(f"# intro\n\n{report.CLAIMS_BEGIN}\nstale table\n{report.CLAIMS_END}\n\n## after\n")
    assert report.update_front_page(page, rows)
    text = page.read_text()
    assert text.startswith("# intro\n\n") and text.endswith(f"{report.CLAIMS_END}\n\n## after\n")
    assert "stale table" not in text
    table = text.split(report.CLAIMS_BEGIN)[1].split(report.CLAIMS_END)[0]
    assert table.count("\n| [`") + table.count("\n| `") == len(claims.ENTRIES)  # one row per entry
    assert "**Seed 000 §2**" in table and "**partly supported**" in table and "**missing**" in table


def test_front_page_without_markers_is_left_untouched(tmp_path):
    page = tmp_path / "README.md"
    page.write_text("# no markers here\n")
    assert not report.update_front_page(page, [])
    assert page.read_text() == "# no markers here\n"
    assert not report.update_front_page(tmp_path / "absent.md", [])


def test_the_front_pages_generated_blocks_equal_the_committed_results():
    """The README's claims and experiment tables are what the generator makes of results/ (so its numbers
    cannot drift from the results); `python -m experiments --skip_run` rewrites them."""
    root = Path(__file__).resolve().parents[1]
    rows = json.loads((root / "results" / "claims.json").read_text())["claims"]
    summaries = report.load_summaries(root / "results", report.seed_order(experiments.names()))
    text = (root / "README.md").read_text()
    block = lambda begin, end: text.split(begin)[1].split(end)[0].strip()  # noqa: E731
    assert block(report.CLAIMS_BEGIN, report.CLAIMS_END) == report.claims_table(rows)
    assert block(report.EXPERIMENTS_BEGIN, report.EXPERIMENTS_END) == report.experiments_table(summaries, rows)


def test_the_experiment_table_reads_every_number_from_the_summaries(tmp_path):
    results = fake_results(tmp_path)
    report.write_report(results, experiments.names(), walls={}, scale="cpu", total_wall_s=1.0)
    rows = json.loads((results / "claims.json").read_text())["claims"]
    summaries = report.load_summaries(results, ["fc_grid", "landscape", "xor"])
    summaries["fc_grid"]["headline"] = "Median iterations 136."
    table = report.experiments_table(summaries, rows).splitlines()
    missing = len([e for e in claims.ENTRIES if e.experiment == "fc_grid" and e.fixed is None]) - 1
    assert table[2] == ("| [fc_grid](results/README.md#fc_grid) | `python -m experiments.fc_grid` (12 s) | "
                        f"FC grid: Median iterations 136. | 1 partly supported, {missing} missing |")
    del summaries["fc_grid"]["headline"]  # without one: the first clause of its first answer
    assert "| FC grid: relu-ce fastest |" in report.experiments_table(summaries, rows)
    assert table[4] == "| xor | `python -m experiments.xor` | no results yet | |"
