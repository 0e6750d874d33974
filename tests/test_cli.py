"""Shared flag helpers: comma lists checked at parse time, and an experiment's start-up checks."""

import pytest
from absl import app, flags

from jaxdl import cli


def test_comma_list_flags_parse_and_refuse_bad_items():
    fv = flags.FlagValues()
    cli.define_list("lr", "0.1,1", "learning rates", strictly_positive=True, flag_values=fv)
    cli.define_list("widths", "1,2", "widths", cast=int, kind="an integer", minimum=1, flag_values=fv)
    fv(["prog", "--lr=0.3, 3"])
    assert cli.parse("lr", flag_values=fv) == [0.3, 3.0] and cli.parse("widths", int, fv) == [1, 2]
    for argv, message in ((["--lr=0.1,-1"], "every item must be > 0"), (["--lr=0.1,"], "empty item"),
                          (["--widths=1,x"], "every item must be an integer"), (["--widths=0"], ">= 1")):
        with pytest.raises(flags.IllegalFlagValueError, match=message):
            fv(["prog", *argv])


def test_start_refuses_positional_arguments_and_unwritable_out(tmp_path):
    assert cli.start(["prog"], str(tmp_path / "new" / "dir")).is_dir()
    with pytest.raises(app.UsageError, match="unexpected arguments: relu; every setting is a --flag"):
        cli.start(["prog", "relu"], str(tmp_path))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(app.UsageError, match="pass a writable directory with --out"):
        cli.start(["prog"], str(blocker / "sub"))
    assert not (tmp_path / "relu").exists()
