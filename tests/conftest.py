"""Every test process gets 2 host devices (CI has 2 cores), so sharding is exercised everywhere."""

import importlib
import json
import os
import re
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
# Likewise XLA:CPU's newer fusion emitters: the older code generator compiles the suite's programs in about
# 40% less time (its compile time is half of the suite's CPU time). XLA_FLAGS reach CLI subprocesses too.
if "xla_cpu_use_fusion_emitters" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_use_fusion_emitters=false".strip()

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
    outputs without a new interpreter); returns the output directory, whose summary.json is checked against
    its schema (`check_summary`)."""
    from jaxdl.experiment import entry

    out = entry.call(importlib.import_module(module), *args)
    check_summary(out / "summary.json")
    return out


# A table cell that is a number formatted as text ("25%", "3 **(best)**", ">= 100", "80-100", "0/128",
# "93.7 ± 0.5", "0% (best acc 75%)"): formatting belongs in summary.md only (the table's formats). Labels
# that merely contain numbers ("8 far starts: ...", "lr 0.1") are words.
_NUMBERISH = r"[\d\s.,:;%±→~<>=≥≤/()\[\]+\-]|e[-+]?\d|to|x"
FORMATTED = re.compile(rf"\*\*|^\s*[-+~<>=≥≤]*\s*\d[\d.,]*\s*%|^(?:{_NUMBERISH})*\d(?:{_NUMBERISH})*$")


def check_summary(path: Path) -> dict:
    """Validates a summary.json against jaxdl/reporting/summary.schema.json, and that no table cell is a
    number formatted as text; returns the document."""
    import jsonschema

    from jaxdl.reporting import summary

    doc = json.loads(path.read_text())
    validator = jsonschema.Draft202012Validator(json.loads(summary.SCHEMA_PATH.read_text()))
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in validator.iter_errors(doc)]
    assert not errors, f"{path} does not follow {summary.SCHEMA_PATH.name}: " + "; ".join(errors[:5])

    def strings(v):
        if isinstance(v, str):
            yield v
        elif isinstance(v, list):
            yield from (s for x in v for s in strings(x))
        elif isinstance(v, dict):
            yield from (s for x in v.values() for s in strings(x))

    formatted = [(t["title"], s) for t in doc["tables"] for row in t["rows"] for s in strings(row)
                 if FORMATTED.search(s)]
    assert not formatted, f"{path}: table cells holding formatted numbers: {formatted[:5]}"
    return doc


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
