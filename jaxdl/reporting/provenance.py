"""Where a result came from: commit, versions, device, flags, wall time."""

from __future__ import annotations

import datetime
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_PACKAGES = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy", "tensorflow-datasets")


# The checkout this package runs from (jaxdl/reporting/provenance.py -> the repository root), so that a
# change anywhere in it (benchmarks/, experiments/, jaxdl/) marks results '+dirty'.
REPO_ROOT = Path(__file__).resolve().parents[2]


def git_commit(root: str | Path | None = None) -> str:
    """The commit of the checkout, with '+dirty' when tracked files other than results/ have uncommitted
    changes ('unknown' outside git). results/ is left out because `make results` rewrites it as it goes:
    every experiment after the first would otherwise call a clean checkout dirty."""
    root = REPO_ROOT if root is None else Path(root)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
            cwd=root, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device_info() -> dict:
    import jax

    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "process_count": jax.process_count(),
        # Every process's devices (a multi-process run spans several hosts; see jaxdl.training.distributed).
        "devices": [f"{d.platform}:{d.id} (process {d.process_index})" for d in devices],
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
    }


def collect(flags: dict | None = None, **timings: float | bool) -> dict:
    """A provenance record to store beside every result. `timings`: seconds (e.g. wall_s, compile_s),
    rounded to ms, and flags kept as they are (e.g. compile_cache_hit: whether the engine's programs came
    from the persistent compilation cache, `engine.Result.compile_cache_hit`)."""
    from jaxdl.experiment import runtime

    return {
        "git_commit": git_commit(),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "device": device_info(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "flags": flags or {},
        "compile_cache_dir": runtime.compile_cache_dir(),
        **{k: v if isinstance(v, bool) else round(v, 3) for k, v in timings.items()},
    }
