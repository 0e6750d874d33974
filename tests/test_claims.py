"""The claims registry against the committed results: every entry answered, no unknown ids, and every
experiment docstring's expected numbers and runtime taken from its committed summary."""

import ast
import json
import re

import pytest
from conftest import REPO

import experiments
from jaxdl.analysis.stats import verdict_head
from jaxdl.reporting import claims, report

RESULTS = REPO / "results"


def test_registry_entries_are_well_formed():
    assert len(claims.ENTRIES) >= 45
    for e in claims.ENTRIES:
        assert e.seed in ("000", "004") and e.kind in ("result", "reason", "definition"), e
        assert (e.experiment is None) != (e.fixed is None), e
        if e.experiment:
            assert (REPO / "experiments" / e.experiment / "__main__.py").exists(), e
    with pytest.raises(ValueError, match="not one of"):
        claims.check_verdict("probably true")


def test_every_registry_entry_has_a_verdict_in_the_committed_results():
    summaries = report.load_summaries(RESULTS, experiments.names())
    rows = report.audit(summaries)
    missing = [f"{r['id']} ({r['ours']})" for r in rows if r["verdict"] == "missing"]
    assert not missing, f"registry entries without an answer in results/: {missing}; run make results"
    for r in rows:
        assert verdict_head(r["verdict"]) in claims.VERDICTS, r


def test_no_experiment_answers_an_id_the_registry_does_not_know():
    assert report.unknown_claims(report.load_summaries(RESULTS, experiments.names())) == []


def _docstring(name: str) -> str:
    return ast.get_docstring(ast.parse((REPO / "experiments" / name / "__init__.py").read_text())) or ""


@pytest.mark.parametrize("name", experiments.names())
def test_docstring_states_command_runtime_and_expected_numbers_from_the_committed_results(name):
    doc = _docstring(name)
    assert f"python -m experiments.{name}" in doc, "the docstring gives the command"
    runtime = re.search(r"Runtime: ~([\d.]+) (s|min) on 2 CPU cores", doc)
    assert runtime, "a line 'Runtime: ~N s on 2 CPU cores (CPU default).'"
    stated = float(runtime.group(1)) * (60 if runtime.group(2) == "min" else 1)
    summary = json.loads((RESULTS / name / "summary.json").read_text())
    wall = summary["provenance"]["wall_s"]
    assert wall / 2.5 <= stated <= wall * 2.5, f"docstring says ~{stated:.0f} s, the committed run took {wall:.0f} s"
    expected = re.search(r"Expected \(CPU default\):(.*?)(\n\s*\n|\Z)", doc, re.S)
    assert expected, "a paragraph 'Expected (CPU default): ...'"
    markdown = (RESULTS / name / "summary.md").read_text()
    number = r"(?<![\d.,])\d[\d,]*(?:\.\d+)?"
    numbers = re.findall(number, expected.group(1))
    assert numbers, "the expected result states numbers"
    # Whole numbers only: "3" must be a number of the summary, not a digit of "0.31".
    printed = set(re.findall(number, markdown)) | {n.rstrip(",") for n in re.findall(number, markdown)}
    absent = [n for n in {n.rstrip(",") for n in numbers} if n not in printed]
    assert not absent, f"numbers in the docstring's expected result not in results/{name}/summary.md: {absent}"


# -- one vocabulary, one rule: every verdict computed, none written by hand ----------------------------------

def _hand_written_verdicts(path) -> list[str]:
    """String literals (f-string parts included) that are, or begin, a verdict: a verdict typed by hand."""
    from jaxdl.analysis import stats

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if any(text == w or text.startswith((w + " (", w + " —")) for w in stats.VERDICTS):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {text[:60]!r}")
    return found


def test_no_experiment_writes_a_verdict_word_by_hand():
    """Every verdict an experiment produces comes from jaxdl.analysis.stats (decide through paired/sign_share/about,
    Exact, combine) via jaxdl.reporting.verdicts; the words themselves are spelled only in stats.VERDICTS."""
    files = [p for name in experiments.names() for p in (REPO / "experiments" / name).glob("*.py")
             if p.name != "plots.py"]
    assert files
    hand = [hit for p in files for hit in _hand_written_verdicts(p)]
    assert not hand, hand


@pytest.mark.parametrize("name", experiments.names())
def test_full_preset_runs_enough_seeds_for_the_rule_to_decide(name):
    import importlib

    from jaxdl.analysis import stats

    cfg = importlib.import_module(f"experiments.{name}").Config.full()
    seeds = {k: v for k, v in vars(cfg).items() if k == "seeds" or k.endswith("_seeds")}
    assert seeds and all(v >= stats.MIN_SEEDS for v in seeds.values()), (seeds, stats.MIN_SEEDS)


def test_every_committed_verdict_is_derived_from_its_evidence():
    """Each claim in results/ holds its decided parts (interval, margin, word); the rule re-applied to them gives
    the row's word. Needs results written by this code (make results)."""
    from jaxdl.analysis import stats
    from jaxdl.reporting import verdicts

    for name, s in report.load_summaries(RESULTS, experiments.names()).items():
        for cid, c in s.get("claims", {}).items():
            head = verdict_head(c["verdict"])
            assert head in stats.VERDICTS, (name, cid, c["verdict"])
            if head == stats.NOT_TESTABLE:
                assert c["evidence"].get("not_testable"), (name, cid)
                continue
            assert verdicts.rederive(c["verdict"], c["evidence"]) == head, (name, cid, c["verdict"])
