"""The GPU check's parent process: the budget, one child process per section, the report.

Each section runs as `python -m benchmarks.gpu_check --section=NAME` (a fresh JAX runtime, so its peak
memory is its own, and a hang or an out-of-memory error costs one section) under a time cap: its share
of the budget left (plan.SHARES over the sections still to run), at least the minimum. Its soft
deadline is SOFT_FRACTION of the cap as wall-clock time, so the child's start-up (CUDA init: seconds)
counts against it; at the cap it is killed, keeping the rows it wrote. The report is rewritten
atomically before and after every section, so a run cut short at any point leaves valid files.

This process imports no JAX (nor anything that does): JAX preallocates 75% of a GPU's memory, and a
parent holding it would starve every section (tests/test_gpu_check.py checks it).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from benchmarks import timing
from benchmarks.gpu_check.plan import SECTIONS, SHARES, SIZES, SOFT_FRACTION
from benchmarks.gpu_check.rendering import write_report
from jaxdl.reporting import peaks, provenance

ROOT = Path(__file__).resolve().parents[2]


def nvidia_smi() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        return f"n/a ({type(err).__name__})"
    return out.splitlines()[0] if out else "n/a"


def error_line(log: str) -> str:
    """The exception line of a traceback in `log` (JAX appends a note after it), else the last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", line)]
    return (errors or lines or ["(no output)"])[-1][:600]


def run_section(name: str, size: str, cap_s: float, part: Path, log: Path, data_cache_dir: str | None) -> dict:
    """Runs one section in a child process killed at `cap_s`; returns its record with status and reason."""
    cmd = [sys.executable, "-m", "benchmarks.gpu_check", f"--section={name}", f"--size={size}",
           f"--part={part}", f"--soft_deadline={time.time() + SOFT_FRACTION * cap_s:.3f}"]
    if data_cache_dir:
        cmd.append(f"--data_cache_dir={os.path.abspath(data_cache_dir)}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = timing.run_process(cmd, cwd=ROOT, env=env, timeout=cap_s, log=log)
    record = json.loads(part.read_text()) if part.exists() else {"rows": [], "notes": []}
    record |= {"wall_s": proc.seconds, "cap_s": cap_s}
    current = record.pop("current", None)
    if proc.returncode is None:
        where = f"during {current}" if current else "before its first measurement (start-up)"
        record |= {"status": "timed out", "reason": f"time cap: killed at its {cap_s:.1f} s cap, {where}"}
    elif proc.returncode != 0:
        record |= {"status": "failed",
                   "reason": f"exit {proc.returncode}: {error_line(log.read_text(errors='replace'))}"}
    elif record.get("complete"):
        record |= {"status": "done", "reason": ""}
    else:
        record |= {"status": "partial", "reason": f"time cap: stopped at {SOFT_FRACTION:.0%} of its {cap_s:.1f} s "
                   f"cap, before {record.get('stopped_before')}"}
    record.pop("complete", None)
    return record


def _provenance(flag_values: dict) -> dict:
    # Not provenance.collect(): its device_info() imports jax.
    versions = provenance.package_versions()
    for extra in ("jax-cuda12-plugin", "jax-cuda12-pjrt"):
        try:
            versions[extra] = metadata.version(extra)
        except metadata.PackageNotFoundError:
            versions[extra] = "not installed"
    return {"git_commit": provenance.git_commit(), "versions": versions, "command": " ".join(sys.argv),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "flags": flag_values}


def run_all(*, size: str, budget_s: float, min_section_s: float, selected, out: Path, work: Path,
            data_cache_dir: str | None, flag_values: dict) -> dict:
    """Every selected section in order within `budget_s`; the report written to `out` (+ .json) after each."""
    t0 = time.monotonic()
    report = {
        "size": size, "budget_s": budget_s, "min_section_s": min_section_s, "sizes": SIZES[size],
        "peak_bf16_table": [{"match": k, "flops_per_s": p, "source": s} for k, p, s in peaks.PEAK_BF16],
        "nvidia_smi": nvidia_smi(), "host": platform.node(),
        "provenance": _provenance(flag_values), "wall_s": 0.0, "finished": False,
        "sections": {name: {"status": "not reached", "reason": "the run was stopped before this section"}
                     if name in selected else {"status": "skipped", "reason": "not selected (--sections)"}
                     for name in SECTIONS},
    }
    write_report(report, out)
    work.mkdir(parents=True, exist_ok=True)
    report["work_dir"] = str(work)
    todo = [name for name in SECTIONS if name in selected]
    for i, name in enumerate(todo):
        left = budget_s - (time.monotonic() - t0)
        if left < min_section_s:
            report["sections"][name] = {"status": "skipped", "reason": f"time cap: {max(left, 0):.1f} s of the "
                                        f"{budget_s:.0f} s budget left (< {min_section_s:g} s)"}
        else:
            share = SHARES[name] / sum(SHARES[n] for n in todo[i:])
            cap = min(left, max(min_section_s, share * left))
            print(f"[gpu_check] {name}: cap {cap:.1f} s ...", flush=True)
            part, log = work / f"{name}.json", work / f"{name}.log"
            part.unlink(missing_ok=True)
            report["sections"][name] = {"status": "running", "reason": "the run was stopped during this section"}
            write_report(report, out)
            rec = report["sections"][name] = run_section(name, size, cap, part, log, data_cache_dir)
            print(f"[gpu_check] {name}: {rec['status']} in {rec['wall_s']:.1f} s {rec['reason']}", flush=True)
        report["wall_s"] = time.monotonic() - t0
        write_report(report, out)
    report |= {"wall_s": time.monotonic() - t0, "finished": True}
    write_report(report, out)
    return report
