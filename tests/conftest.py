"""Every test process gets 2 host devices (CI has 2 cores), so sharding is exercised everywhere."""

import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("JAXDL_HOST_DEVICES", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# Compiled programs go to a cache under /tmp, never the user's home; CLI subprocesses inherit it.
os.environ.setdefault("JAXDL_COMPILE_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jaxdl-test-xla-cache"))
# The tests run tiny programs, where XLA's optimisation passes cost far more than they save: without
# them a cold run of the suite compiles in about half the time. Numbers the tests compare are computed
# under the same setting on both sides; CLI subprocesses inherit it. JAX reads it when imported.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import pytest  # noqa: E402

from jaxdl.experiment import runtime  # noqa: E402

runtime.configure()  # the entry points' set-up: 2 host devices, the test compilation cache


REPO = Path(__file__).resolve().parent.parent


def run_cli(module: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Runs `python -m module args` from the repo root, as a user would."""
    env = {**os.environ, "JAXDL_HOST_DEVICES": "2", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def run_experiment(module: str, *args: str) -> Path:
    """`python -m module args` in this process (jaxdl.experiment.entry.call: the same flags, main and
    outputs without a new interpreter); returns the output directory."""
    from jaxdl.experiment import entry

    return entry.call(importlib.import_module(module), *args)


def assert_cli_rejects(module: str, out: Path, *args: str, message: str, creates_out: bool = False) -> None:
    """`python -m module --out=out args`, run in this process (jaxdl.experiment.entry.call: the same flag
    parsing and main), fails with `message` and writes nothing: no `out` at all, or with `creates_out` (the
    error is found after the output folder is prepared) no summary in it. test_cli.py checks once that such
    an error reaches a real process's stderr as one line with a non-zero exit."""
    from absl import app, flags

    from jaxdl.experiment import entry

    with pytest.raises((flags.Error, app.UsageError)) as err:
        entry.call(importlib.import_module(module), f"--out={out}", *args)
    assert message in str(err.value), str(err.value)
    assert not (out / "summary.json" if creates_out else out).exists()


@pytest.fixture
def cli():
    return run_cli
