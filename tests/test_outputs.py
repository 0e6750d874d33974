"""Output directories, errors and summary.json as data: an experiment writes only into its own directory
and swaps a run's outputs in whole (a failure leaves the previous results or nothing); errors a user can
fix are one line on stderr; every summary.json (tiny runs here, the committed results) follows the schema."""

import errno
import json
import logging
import math
import re

import pytest
from absl import app
from conftest import REPO, check_summary, run_cli, run_experiment

import experiments.xor
from jaxdl.experiment import entry
from jaxdl.reporting import io, summary

XOR = ("--activation=relu", "--widths=2", "--seeds=2", "--steps=40", "--lr=1", "--chunk_steps=20")


def listing(path):
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def leftovers(out):
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_out_that_is_a_file_another_experiments_results_or_other_files_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    other = tmp_path / "fc"
    other.mkdir()
    (other / "summary.json").write_text(json.dumps({"experiment": "fc_grid", "figures": []}))
    loose = tmp_path / "mine"
    loose.mkdir()
    (loose / "notes.txt").write_text("keep me")
    cases = [(blocker, f"--out={blocker} is a file, not a directory; pass a new or empty directory with --out"),
             (other, f"--out={other} holds fc_grid's results, not xor's; pass a new or empty directory with --out "
                     f"(e.g. --out={tmp_path / 'xor'})"),
             (loose, f"--out={loose} holds files that are not xor's results (notes.txt)")]
    for out, message in cases:
        with pytest.raises(app.UsageError) as err:
            entry.call(experiments.xor, f"--out={out}", *XOR)
        assert message in str(err.value)
    assert (loose / "notes.txt").read_text() == "keep me" and blocker.read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fc", "file", "mine"]  # nothing staged, nothing created
    (tmp_path / "empty").mkdir()
    assert io.check_out_dir(tmp_path / "empty", "xor") == tmp_path / "empty"


def test_a_run_replaces_its_own_results_whole_and_logs_its_phases(tmp_path, caplog):
    out = tmp_path / "deep" / "xor"
    with caplog.at_level(logging.INFO):
        run_experiment("experiments.xor", f"--out={out}", *XOR)
    said = caplog.text
    for phase in ("xor: running (loading data, compiling, training)", "xor: analysing",
                  "xor: writing the summary and figures (1 figures)", "xor: drawing figure 1/1, boundaries.png"):
        assert phase in said, phase
    assert sorted(listing(out)) == ["boundaries.png", "summary.json", "summary.md"]
    (out / "stale.png").write_text("")  # not listed in its summary: a foreign file now
    with pytest.raises(app.UsageError, match=r"holds files that are not xor's results \(stale.png\)"):
        entry.call(experiments.xor, f"--out={out}", *XOR)
    (out / "stale.png").unlink()
    before = json.loads((out / "summary.json").read_text())["provenance"]["date_utc"]
    run_experiment("experiments.xor", f"--out={out}", *XOR, "--seeds=3")  # its own results: replaced
    after = json.loads((out / "summary.json").read_text())
    assert after["provenance"]["flags"]["seeds"] == 3 and after["provenance"]["date_utc"] >= before
    assert leftovers(out) == []


@pytest.mark.parametrize("where", ["figure", "summary", "run"])
def test_a_failure_at_any_point_leaves_the_previous_results_intact(tmp_path, monkeypatch, where):
    out = tmp_path / "xor"
    run_experiment("experiments.xor", f"--out={out}", *XOR)
    previous = listing(out)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "summary.md"))

    def bad_data(cfg):
        raise ValueError("a damaged array")

    if where == "run":
        monkeypatch.setattr(experiments.xor, "main", entry.main(experiments.xor.Config, bad_data,
                                                                experiments.xor.analyse, name="xor"))
        with pytest.raises(ValueError, match="a damaged array"):
            entry.call(experiments.xor, f"--out={out}", *XOR)
    else:
        monkeypatch.setattr(io, "save_figure" if where == "figure" else "write_text", full_disk)
        with pytest.raises(app.UsageError) as err:
            entry.call(experiments.xor, f"--out={out}", *XOR)
        assert str(err.value) == (f"xor: writing the summary and figures failed: No space left on device "
                                  f"({out / 'summary.md'}); free space there or pass --out on another filesystem; "
                                  f"{out} keeps its previous results")
    assert listing(out) == previous
    assert leftovers(out) == []


def test_a_failed_data_load_leaves_no_out_directory(tmp_path):
    out = tmp_path / "new" / "cnn"
    with pytest.raises(app.UsageError, match="mnist is not prepared for tensorflow-datasets"):
        entry.call(__import__("experiments.cnn_aux").cnn_aux, f"--out={out}", "--dataset=mnist",
                   f"--data_dir={tmp_path / 'tfds'}", f"--data_cache_dir={tmp_path / 'cache'}")
    assert not (tmp_path / "new").exists()  # neither --out nor the parent the run created


def test_a_leftover_of_a_killed_run_is_cleaned_and_set_aside_results_are_put_back(tmp_path):
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    partial = tmp_path / f".xor.partial-{dead}-abc"
    partial.mkdir()
    aside = tmp_path / f".xor.old-{dead}-abc"  # killed between the swap's two renames
    aside.mkdir()
    (aside / "summary.json").write_text(json.dumps({"experiment": "xor", "figures": []}))
    with io.StagedOutput(tmp_path / "xor") as stage:
        assert (tmp_path / "xor" / "summary.json").exists()  # put back before this run starts
        (stage / "summary.json").write_text(json.dumps({"experiment": "xor", "figures": [], "new": 1}))
    assert json.loads((tmp_path / "xor" / "summary.json").read_text())["new"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xor"]


def test_workdir_inside_out_is_refused(tmp_path):
    import experiments.svhn_zoo

    with pytest.raises(app.UsageError, match="which a run replaces whole; pass a --workdir outside it"):
        entry.call(experiments.svhn_zoo, f"--out={tmp_path / 'zoo'}", f"--workdir={tmp_path / 'zoo' / 'ckpt'}")
    assert list(tmp_path.iterdir()) == []


def test_errors_are_one_line_without_the_docstring(tmp_path, capsys):
    def main(argv):
        raise app.UsageError("svhn is not prepared: nothing at /x.\nPrepare it once:\n    pip install tfds\n"
                             "    tfds build svhn\nor rerun with --download.")

    with pytest.raises(SystemExit) as exit_:
        entry.report_errors(main, ["prog"])
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert captured.err == ("FATAL svhn is not prepared: nothing at /x. Prepare it once: `pip install tfds` "
                            "`tfds build svhn` or rerun with --download.\n")
    assert captured.out == ""


def test_a_real_process_prints_runtime_errors_as_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    log_line = re.compile(r"^[IWE]\d{4} ")  # absl's INFO/WARNING lines (progress), not errors
    for args, message in [(("relu",), "FATAL unexpected arguments: relu; every setting is a --flag"),
                          ((f"--out={blocker}",), f"FATAL --out={blocker} is a file, not a directory; pass a new or "
                                                  "empty directory with --out")]:
        proc = run_cli("experiments.xor", *args, timeout=120)
        lines = [line for line in proc.stderr.splitlines() if not log_line.match(line)]
        assert proc.returncode == 1 and lines == [message], proc.stderr


def test_non_finite_and_censored_values_are_strict_json_by_the_schema(tmp_path):
    s = summary.Summary("xor", "t", "setup", tables=[summary.Table(
        "T", ["cell", "median", "ci", "share"],
        [["a", summary.Censored(5000), {"lo": -math.inf, "hi": math.inf}, 0.25],
         ["b", 12.0, {"lo": math.nan, "hi": 3.0}, None]],
        formats=[None, ".0f", "{lo:.2f} to {hi:.2f}", ".0%"])], data={"x": [1.0, math.inf, math.nan]})
    text = summary.write(s, tmp_path, {"seeds": 2}, wall_s=1.0)
    raw = (tmp_path / "summary.json").read_text()
    assert "NaN" not in raw and "Infinity" not in raw and '"inf"' in raw  # the key of {"inf": ...}
    doc = check_summary(tmp_path / "summary.json")
    assert doc["schema_version"] == summary.SCHEMA_VERSION
    assert doc["tables"][0]["rows"] == [["a", {"at_least": 5000}, {"lo": {"inf": -1}, "hi": {"inf": 1}}, 0.25],
                                        ["b", 12.0, {"lo": None, "hi": 3.0}, None]]
    assert doc["data"]["x"] == [1.0, {"inf": 1}, None]
    assert "| a | >= 5000 | -inf to inf | 25% |" in text and "| b | 12 | nan to 3.00 | n/a |" in text


def test_the_schema_refuses_the_old_encodings(tmp_path):
    import jsonschema

    schema = json.loads(summary.SCHEMA_PATH.read_text())
    good = json.loads((REPO / "results" / "xor" / "summary.json").read_text())
    good["schema_version"] = 1
    for bad in ({"data": {"ci": ["-inf", "inf"]}}, {"schema_version": 0}, {"extra": 1},
                {"tables": [{"title": "", "columns": [], "rows": [["inf"]], "note": ""}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, **bad}, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("path", sorted((REPO / "results").glob("*/summary.json")), ids=lambda p: p.parent.name)
def test_every_committed_summary_follows_the_schema(path):
    """Fails until `make results` rewrites results/ with this writer (schema_version 1, values as data)."""
    check_summary(path)
