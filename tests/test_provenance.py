"""Provenance: a checkout whose only changes are under results/ is clean; any other change is dirty."""

import shutil
import subprocess

import pytest

from jaxdl.reporting import provenance

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_git_commit_ignores_results_and_flags_other_changes(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "summary.md").write_text("old\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert provenance.git_commit(tmp_path) == head
    (tmp_path / "results" / "summary.md").write_text("new\n")  # what `make results` does as it goes
    assert provenance.git_commit(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.git_commit(tmp_path) == head + "+dirty"
    assert provenance.git_commit(tmp_path / "no-such-dir") == "unknown"


def test_the_default_checkout_is_the_repository_root_so_a_change_outside_jaxdl_counts():
    # jaxdl/ alone would miss a changed benchmark or experiment (results measured by uncommitted code).
    assert (provenance.REPO_ROOT / "pyproject.toml").is_file() and (provenance.REPO_ROOT / "experiments").is_dir()
