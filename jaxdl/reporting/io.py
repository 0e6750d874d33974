"""Atomic result files: a reader never sees a half-written summary, a crash never leaves one.

In a multi-process run (jaxdl.training.distributed) only process 0 writes: `write_json`, `write_text` and
`save_figure` do nothing in the others, so every experiment's outputs are written once, by one process.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


class OutputDirError(ValueError):
    """The output directory cannot be created or written to."""


def is_writer() -> bool:
    """False only in processes other than 0 of a multi-process JAX run. Never starts a JAX backend (a
    process that has not imported jax is not part of one), so plain scripts can call it for free."""
    jax = sys.modules.get("jax")
    return jax is None or not jax.distributed.is_initialized() or jax.process_index() == 0


def prepare_out_dir(path: str | os.PathLike, flag: str = "out") -> Path:
    """Creates `path` if needed and proves it is writable, before any work is done.

    Raises OutputDirError naming the fix, so a bad `--out` fails in milliseconds, not after training.
    """
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as err:
        raise OutputDirError(
            f"cannot write results to {str(out)!r} ({err.strerror or err}); "
            f"pass a writable directory with --{flag}"
        ) from err
    return out


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renames it onto `path` only if the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes the file 0600; give it the mode a plain open() would (0666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _to_builtin(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_builtin(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)) or type(value).__module__.startswith("jax"):
        return _to_builtin(np.asarray(value).tolist())
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Writes JSON atomically; numpy/jax arrays become lists, NaN becomes null (valid JSON). Process 0
    only (see the module docstring)."""
    if not is_writer():
        return
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_to_builtin(data), indent=1, allow_nan=False) + "\n")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Writes text atomically; process 0 only."""
    if not is_writer():
        return
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    """Saves a matplotlib figure atomically (process 0 only) and closes it."""
    import matplotlib.pyplot as plt

    if not is_writer():
        plt.close(fig)
        return
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
