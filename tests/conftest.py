"""Every test process gets 2 host devices (CI has 2 cores), so sharding is exercised everywhere."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("JAXDL_HOST_DEVICES", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# Compiled programs go to a cache under /tmp, never the user's home; CLI subprocesses inherit it.
os.environ.setdefault("JAXDL_COMPILE_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jaxdl-test-xla-cache"))

import pytest  # noqa: E402

import jaxdl  # noqa: E402,F401  (sets XLA host devices before jax initialises)

REPO = Path(__file__).resolve().parent.parent


def run_cli(module: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Runs `python -m module args` from the repo root, as a user would."""
    env = {**os.environ, "JAXDL_HOST_DEVICES": "2", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_cli_rejects(module: str, out: Path, *args: str, message: str, timeout: int = 120,
                       creates_out: bool = False) -> None:
    """`python -m module --out=out args` fails with `message` on stderr and writes nothing: no `out` at all,
    or with `creates_out` (the error is found after the output folder is prepared) no summary in it."""
    proc = run_cli(module, f"--out={out}", *args, timeout=timeout)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr[-2000:]
    assert not (out / "summary.json" if creates_out else out).exists()


@pytest.fixture
def cli():
    return run_cli
