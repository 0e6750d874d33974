"""Shared flag helpers: comma lists checked at parse time, and an experiment's start-up checks."""

import pytest
from absl import app

from jaxdl import cli


def test_start_refuses_positional_arguments_and_unwritable_out(tmp_path):
    assert cli.start(["prog"], str(tmp_path / "new" / "dir")).is_dir()
    with pytest.raises(app.UsageError, match="unexpected arguments: relu; every setting is a --flag"):
        cli.start(["prog", "relu"], str(tmp_path))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(app.UsageError, match="pass a writable directory with --out"):
        cli.start(["prog"], str(blocker / "sub"))
    assert not (tmp_path / "relu").exists()
