"""Result files and output directories: a reader never sees a half-written file, a failed run never leaves a
mix of old and new results.

* `write_json` / `write_text` / `save_figure` write one file atomically (a temporary file renamed over it).
* `StagedOutput` is a whole run's output directory: the run writes into a hidden sibling of `--out`, which
  replaces `--out` in one rename at the end. A failure at any point (bad data, a full disk, an exception)
  removes the sibling and leaves `--out` as it was: the previous run's results, or nothing. A killed run
  leaves its sibling behind; the next run into the same `--out` removes it.
* `check_out_dir` refuses, before any work, an `--out` that is a file or holds anything but this
  experiment's earlier results (another experiment's summary, unrelated files): the swap replaces the
  directory whole, so it may only ever hold one experiment's outputs.

In a multi-process run (jaxdl.training.distributed) only process 0 writes: `write_json`, `write_text` and
`save_figure` do nothing in the others, so every experiment's outputs are written once, by one process.

JSON: numpy and jax arrays become lists, NaN becomes null (no value) and +-inf the object {"inf": 1} or
{"inf": -1}, so every file is strict JSON (no NaN/Infinity tokens; jaxdl/reporting/summary.schema.json).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


class OutputDirError(ValueError):
    """The output directory cannot be used (not writable, a file, or another run's); the message names the fix."""


def is_writer() -> bool:
    """False only in processes other than 0 of a multi-process JAX run. Never starts a JAX backend (a
    process that has not imported jax is not part of one), so plain scripts can call it for free."""
    jax = sys.modules.get("jax")
    return jax is None or not jax.distributed.is_initialized() or jax.process_index() == 0


def _default_mode(path: Path, mode: int) -> None:
    """mkstemp/mkdtemp create 0600/0700; give `path` the mode a plain open()/mkdir() would (less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def prepare_out_dir(path: str | os.PathLike, flag: str = "out") -> Path:
    """Creates `path` if needed and proves it is writable, before any work is done (a directory that several
    runs share, such as the driver's --results; an experiment's own --out is a `StagedOutput`).

    Raises OutputDirError naming the fix, so a bad `--out` fails in milliseconds, not after training.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--{flag}={out} is a file, not a directory; pass a directory with --{flag}")
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


def _earlier_results(path: Path) -> tuple[str | None, set[str]]:
    """(the experiment whose results `path` holds, the files that run wrote) from its summary.json;
    (None, set()) without a readable one."""
    try:
        summary = json.loads((path / "summary.json").read_text())
    except (OSError, ValueError):
        return None, set()
    if not isinstance(summary, dict) or not isinstance(summary.get("experiment"), str):
        return None, set()
    figures = summary.get("figures") if isinstance(summary.get("figures"), list) else []
    return summary["experiment"], {"summary.json", "summary.md", *(f for f in figures if isinstance(f, str))}


def check_out_dir(path: str | os.PathLike, experiment: str, flag: str = "out") -> Path:
    """Refuses an output directory the run may not replace whole: a file, a directory that holds another
    experiment's results, or one that holds anything but `experiment`'s earlier outputs. A missing or empty
    directory, or `experiment`'s previous results, pass. OutputDirError names the fix."""
    out = Path(path)
    fix = f"pass a new or empty directory with --{flag}"
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--{flag}={out} is a file, not a directory; {fix}")
    if not out.is_dir():
        return out
    try:
        entries = sorted(p.name for p in out.iterdir())
    except OSError as err:
        raise OutputDirError(f"cannot read --{flag}={out} ({err.strerror or err}); {fix}") from err
    if not entries:
        return out
    owner, own_files = _earlier_results(out)
    if owner is not None and owner != experiment:
        raise OutputDirError(f"--{flag}={out} holds {owner}'s results, not {experiment}'s; {fix} "
                             f"(e.g. --{flag}={out.parent / experiment})")
    foreign = [e for e in entries if e not in own_files]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputDirError(f"--{flag}={out} holds files that are not {experiment}'s results ({shown}); {fix}, "
                             f"or move them away (a run replaces its directory whole)")
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


class StagedOutput:
    """A run's output directory, written beside `target` and swapped in whole:

        with StagedOutput(Path("results/xor")) as stage:   # creates .xor.partial-<pid>-* beside it
            ... write every output into `stage` ...
        # success: results/xor is now the stage; an exception: the stage is gone, results/xor untouched

    Entering creates the staging directory (and any missing parents), so an unwritable location fails before
    any work; parents it created are removed again if the run fails. The swap is two renames (the old
    directory aside, the new one in) and removing the old one; a process killed between the renames leaves
    the old results in `.<name>.old-<pid>-*`, which the next run puts back. Only process 0 of a
    multi-process run stages; the others get `target` and write nothing (see `is_writer`).
    """

    def __init__(self, target: str | os.PathLike, flag: str = "out"):
        self.target = Path(target)
        self.flag = flag
        self.stage: Path | None = None
        self._created: list[Path] = []

    def _sibling(self, kind: str, pid: int | None = None) -> str:
        return f".{self.target.name}.{kind}-{os.getpid() if pid is None else pid}-"

    def _clean_leftovers(self) -> None:
        """Removes the staging directories of killed runs; puts back results a killed swap left aside."""
        parent = self.target.parent
        for kind in ("old", "partial"):
            for p in sorted(parent.glob(f".{self.target.name}.{kind}-*")):
                try:
                    pid = int(p.name.split(".")[-1].split("-")[1])
                except (IndexError, ValueError):
                    continue
                if _pid_alive(pid):
                    continue
                if kind == "old" and not self.target.exists():
                    os.replace(p, self.target)
                else:
                    shutil.rmtree(p, ignore_errors=True)

    def __enter__(self) -> Path:
        if not is_writer():
            return self.target
        parent = self.target.parent
        missing = [p for p in (parent, *parent.parents) if not p.exists()]
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._created = missing
            self._clean_leftovers()
            self.stage = Path(tempfile.mkdtemp(dir=parent, prefix=self._sibling("partial")))
        except OSError as err:
            self._remove_created()
            raise OutputDirError(
                f"cannot write results to {str(self.target)!r} ({err.strerror or err}); pass a writable "
                f"directory with --{self.flag} (its parent must be writable too)"
            ) from err
        _default_mode(self.stage, 0o777)
        return self.stage

    def _remove_created(self) -> None:
        for p in self._created:  # innermost first; only if still empty
            with contextlib.suppress(OSError):
                p.rmdir()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.stage is None:
            return
        if exc_type is None:
            try:
                self._swap()
                return
            except BaseException:
                shutil.rmtree(self.stage, ignore_errors=True)
                raise
        shutil.rmtree(self.stage, ignore_errors=True)
        self._remove_created()

    def _swap(self) -> None:
        old = None
        if self.target.exists():
            old = Path(tempfile.mkdtemp(dir=self.target.parent, prefix=self._sibling("old")))
            os.replace(self.target, old)  # onto the empty temporary directory: a rename, nothing copied
        try:
            os.replace(self.stage, self.target)
        except OSError:
            if old is not None:
                os.replace(old, self.target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renames it onto `path` only if the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _default_mode(tmp, 0o666)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def to_json(value: Any) -> Any:
    """`value` as JSON-ready builtins: arrays become lists, NaN None, +-inf {"inf": +-1}; objects with a
    `to_json()` method (summary.Censored) give their own form, other dataclasses (stats.Paired) their fields."""
    if hasattr(value, "to_json") and not isinstance(value, type):
        return to_json(value.to_json())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)) or type(value).__module__.startswith("jax"):
        return to_json(np.asarray(value).tolist())
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else {"inf": 1 if value > 0 else -1}
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Writes strict JSON atomically (see the module docstring for arrays, NaN and infinities). Process 0
    only."""
    if not is_writer():
        return
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(to_json(data), indent=1, allow_nan=False) + "\n")


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
    try:
        with atomic_path(path) as tmp:
            # "tight" even under constrained layout, which fits the axes but would clip a title wider
            # than the figure.
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)


def describe_os_error(err: OSError, what: str, flag: str = "out") -> str:
    """One line for an OSError met while writing `what`: the problem and the fix."""
    where = f" ({err.filename})" if err.filename else ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"free space there or pass --{flag} on another filesystem"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"pass a writable directory with --{flag}"
    else:
        fix = f"check the filesystem, or pass another --{flag}"
    return f"{what} failed: {err.strerror or err}{where}; {fix}"
