"""The process set-up an entry point makes before JAX starts its backends: `configure()`.

Nothing in jaxdl does this at import; every entry point (`python -m experiments.X`, `jaxdl.reporting.report`,
`benchmarks.*`, tests/conftest.py) calls `configure()` first. It

* makes every CPU core a JAX host device, so the model axis of a grid is sharded over cores exactly as it is
  sharded over GPUs elsewhere (XLA_FLAGS given by the user wins; JAXDL_HOST_DEVICES sets the count);
* turns on JAX's persistent compilation cache in $JAXDL_COMPILE_CACHE_DIR, else $XDG_CACHE_HOME/jaxdl/xla
  (~/.cache/jaxdl/xla), beside the data cache: a second run with the same shapes loads its compiled
  programs instead of compiling them. Safe to delete at any time. An empty JAXDL_COMPILE_CACHE_DIR turns it
  off; JAX_COMPILATION_CACHE_DIR, if set, wins. A directory that cannot be written costs a warning, never
  the run;
* draws figures with matplotlib's file backend (Agg) unless MPLBACKEND says otherwise;
* keeps JAX's "Unable to initialize backend 'tpu'" INFO line (a probe for a TPU library that CPU and GPU
  machines do not have) out of the log; every other message of JAX's stays.

The host device count must be set before JAX creates its CPU client (the first computation or device
query), not before `import jax`: importing jax creates no backend.
"""

from __future__ import annotations

import logging
import os
import warnings

COMPILE_CACHE_ENV = "JAXDL_COMPILE_CACHE_DIR"
# Programs that compile faster than this are not worth a file each (reading one back costs ~ms).
_MIN_COMPILE_S = 0.1


def configure() -> None:
    """Host devices, compilation cache and log filter; idempotent."""
    _configure_host_devices()
    _configure_compile_cache()
    # Figures are written to files; a display backend would fail on a headless machine. MPLBACKEND wins.
    os.environ.setdefault("MPLBACKEND", "Agg")
    _quiet_tpu_probe()


def _configure_host_devices() -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        return
    count = int(os.environ.get("JAXDL_HOST_DEVICES", len(os.sched_getaffinity(0))))
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def compile_cache_dir() -> str | None:
    """The persistent compilation cache directory in use (None = off or not writable)."""
    return os.environ.get("JAX_COMPILATION_CACHE_DIR") or None


def _wanted_compile_cache_dir() -> str | None:
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return os.environ["JAX_COMPILATION_CACHE_DIR"] or None
    if COMPILE_CACHE_ENV in os.environ:
        return os.path.expanduser(os.environ[COMPILE_CACHE_ENV]) or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxdl", "xla")


def _configure_compile_cache() -> None:
    path = _wanted_compile_cache_dir()
    if path is None or "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    try:
        os.makedirs(path, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"no write permission on {path}")
    except OSError as err:
        warnings.warn(f"jaxdl: compilation cache {path} is not writable ({err}); compiling without it. Set "
                      f"{COMPILE_CACHE_ENV} to a writable directory, or to '' to turn the cache off.",
                      stacklevel=3)
        return
    os.environ["JAX_COMPILATION_CACHE_DIR"] = path
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", str(_MIN_COMPILE_S))
    # jax reads these variables when it is imported; an entry point may have imported it already.
    import jax

    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs",
                      float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))


class _NoTpuProbe(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and "Unable to initialize backend 'tpu'" in record.getMessage())


def _quiet_tpu_probe() -> None:
    log = logging.getLogger("jax._src.xla_bridge")
    if not any(isinstance(f, _NoTpuProbe) for f in log.filters):
        log.addFilter(_NoTpuProbe())
