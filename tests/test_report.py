"""The results report on small fake result files: every claim gets a row, missing results are said."""

import json

import pytest

from jaxdl import report


def fake_results(tmp_path):
    (tmp_path / "fc_grid").mkdir()
    (tmp_path / "fc_grid" / "summary.json").write_text(json.dumps({
        "provenance": {"command": "fc_grid.py --seeds=3", "wall_s": 12.5},
        "claims": [{"id": "fc_ordering", "ours": "relu-ce fastest", "verdict": "partly supported"}],
    }))
    (tmp_path / "fc_grid" / "summary.md").write_text("# FC grid\n\n| a | b |\n|---|---|\n\n![curves](curves.png)\n")
    (tmp_path / "landscape").mkdir()
    (tmp_path / "landscape" / "summary.json").write_text(json.dumps({"claims": []}))
    return tmp_path


def test_every_claim_gets_a_row_and_missing_results_are_reported(tmp_path):
    results = fake_results(tmp_path)
    text = report.write_report(results, walls={}, scale="cpu", total_wall_s=1.0)
    rows = json.loads((results / "claims.json").read_text())["claims"]
    assert [r["id"] for r in rows] == [c.id for c in report.CLAIMS]
    by_id = {r["id"]: r for r in rows}
    assert by_id["fc_ordering"]["verdict"] == "partly supported"
    assert by_id["fc_ordering"]["ours"] == "relu-ce fastest"
    assert by_id["l2_gradient_vanishes"]["verdict"] == "missing"
    assert "does not answer" in by_id["l2_gradient_vanishes"]["ours"]
    assert by_id["svhn_ranking"]["ours"] == "missing: no results/svhn_zoo/summary.json"
    assert all(r["verdict"] for r in rows)
    # The experiment's own table and figures are embedded, figure paths relative to results/.
    assert "![curves](fc_grid/curves.png)" in text and "### FC grid" in text
    assert "**Missing**: no `results/svhn_zoo/summary.json`" in text
    assert "wall time 12 s" in text or "wall time 13 s" in text
    assert "total wall time: 1 s (report only;" in text


def test_partial_run_says_what_it_covers_and_where_each_section_comes_from(tmp_path):
    results = fake_results(tmp_path)
    summary = json.loads((results / "fc_grid" / "summary.json").read_text())
    summary["provenance"].update(git_commit="0123456789abcdef+dirty", date_utc="2026-12-01T12:00:00+00:00")
    (results / "fc_grid" / "summary.json").write_text(json.dumps(summary))
    text = report.write_report(results, walls={"fc_grid": 30.0}, scale="cpu", total_wall_s=31.0)
    assert "wall time 30 s (commit `0123456789ab+dirty`, 2026-12-01)." in text
    others = [e.name for e in report.EXPERIMENTS if e.name != "fc_grid"]
    assert f"total wall time: 31 s (this run: fc_grid; {', '.join(others)} from earlier runs" in text
    every = {e.name: 1.0 for e in report.EXPERIMENTS}
    assert "total wall time: 7 s (every experiment)" in report.write_report(results, every, "cpu", 7.0)


def test_every_claim_names_a_registered_experiment():
    names = {e.name for e in report.EXPERIMENTS}
    assert {c.experiment for c in report.CLAIMS} <= names
    assert len({c.id for c in report.CLAIMS}) == len(report.CLAIMS)


def test_unknown_only_value_is_refused(tmp_path):
    from conftest import run_cli

    proc = run_cli("jaxdl.report", "--only=fc_grid,nope", f"--results={tmp_path}", "--skip_run", timeout=60)
    assert proc.returncode != 0 and "unknown experiment(s) nope" in proc.stderr


@pytest.mark.parametrize("scale, extra", [("cpu", []), ("full", ["--seeds=1024"])])
def test_commands_follow_the_scale(tmp_path, scale, extra):
    fc = next(e for e in report.EXPERIMENTS if e.name == "fc_grid")
    cmd = report.command(fc, scale, tmp_path)
    assert cmd[1:4] == ["-m", "experiments.fc_grid", f"--out={tmp_path / 'fc_grid'}"]
    assert cmd[4:] == extra


def test_front_page_claims_table_is_rewritten_between_its_markers_only(tmp_path):
    (tmp_path / "results").mkdir()
    results = fake_results(tmp_path / "results")
    report.write_report(results, walls={}, scale="cpu", total_wall_s=1.0)
    rows = json.loads((results / "claims.json").read_text())["claims"]
    page = tmp_path / "README.md"
    page.write_text(f"# intro\n\n{report.CLAIMS_BEGIN}\nstale table\n{report.CLAIMS_END}\n\n## after\n")
    assert report.update_front_page(page, rows)
    text = page.read_text()
    assert text.startswith("# intro\n\n") and text.endswith(f"{report.CLAIMS_END}\n\n## after\n")
    assert "stale table" not in text
    table = text.split(report.CLAIMS_BEGIN)[1].split(report.CLAIMS_END)[0]
    assert table.count("\n| ") == len(report.CLAIMS) + 1  # header and one row per claim (separator starts "|-")
    assert "| 000 §2 | Iterations to 100%" in table and "**partly supported**" in table
    assert "**missing**" in table


def test_front_page_without_markers_is_left_untouched(tmp_path):
    page = tmp_path / "README.md"
    page.write_text("# no markers here\n")
    assert not report.update_front_page(page, [])
    assert page.read_text() == "# no markers here\n"
    assert not report.update_front_page(tmp_path / "absent.md", [])
