"""The entry points: start-up checks, every experiment's --help, a bad flag's one line, and imports that
change nothing (no environment variable, no flag)."""

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest
from absl import app, flags
from conftest import REPO, run_cli

import experiments
from jaxdl.experiment import cli, entry


def test_start_refuses_positional_arguments_and_unwritable_out(tmp_path):
    assert cli.start(["prog"], str(tmp_path / "new" / "dir")).is_dir()
    with pytest.raises(app.UsageError, match="unexpected arguments: relu; every setting is a --flag"):
        cli.start(["prog", "relu"], str(tmp_path))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(app.UsageError, match="pass a writable directory with --out"):
        cli.start(["prog"], str(blocker / "sub"))
    assert not (tmp_path / "relu").exists()


def test_importing_every_module_changes_no_environment_variable_and_defines_no_flag():
    code = textwrap.dedent("""
        import importlib, json, os, pkgutil, sys
        from absl import flags
        import experiments, jaxdl
        before, names = dict(os.environ), []
        for pkg in (jaxdl, experiments):
            for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
                if not m.name.endswith("__main__"):
                    importlib.import_module(m.name)
                    names.append(m.name)
        changed = sorted(k for k in {**before, **os.environ} if before.get(k) != os.environ.get(k))
        print(json.dumps({"modules": len(names), "changed": changed, "flags": sorted(flags.FLAGS)}))
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "MPLBACKEND")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["modules"] > 40
    # absl defines its own logging flags when absl.logging is imported; nothing of ours may be there.
    assert result["changed"] == []
    assert not [f for f in result["flags"] if f in ("seeds", "steps", "out", "coordinator_address", "scale")]


@pytest.mark.parametrize("name", experiments.names())
def test_help_lists_every_flag_of_the_experiment_with_its_bounds(name):
    module = importlib.import_module(f"experiments.{name}")
    fv = flags.FlagValues()
    entry.define(module, fv, key_module="main")
    text = " ".join(fv.module_help("main").split())
    for field in dataclasses.fields(module.Config):
        assert f"--{field.name}:" in text or f"--[no]{field.name}:" in text, field.name
    assert "--seeds: " in text and "[>= 1]" in text


def test_a_real_process_prints_its_help_and_a_bad_flag_without_a_traceback():
    # What `python -m experiments.X` adds to entry.call: the key flags under the main module, absl's exit.
    help_text = run_cli("experiments.xor", "--help", timeout=60)
    # absl ends --help with exit status 1 (its usage() convention); the text is what matters.
    assert "--widths: " in help_text.stdout and "--seeds: " in help_text.stdout
    bad = run_cli("experiments.xor", "--seeds=0", timeout=60)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == ["FATAL Flags parsing error: flag --seeds=0: must be >= 1",
                                               "Pass --helpshort or --helpfull to see help on flags."], bad.stderr


@pytest.mark.parametrize("profiled", [False, True])
def test_a_finished_run_exits_at_once_unless_a_profiler_waits_for_the_exit(profiled):
    code = textwrap.dedent(f"""
        import atexit, sys
        from jaxdl.experiment import entry
        atexit.register(lambda: print("teardown ran"))
        if {profiled}:
            sys.setprofile(lambda *args: None)
        print("written", flush=False)  # buffered output still reaches the pipe
        entry.exit_when_done()
        print("after")
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = ["written", "after", "teardown ran"] if profiled else ["written"]
    assert proc.stdout.split("\n")[:-1] == expected
