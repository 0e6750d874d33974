"""The dataset cache: one .npz per dataset build, with a SHA-256 of its arrays stored inside.

Where: `cache_dir` argument, else $JAXDL_CACHE_DIR, else $XDG_CACHE_HOME/jaxdl/data (~/.cache/jaxdl/data).
A file that cannot be read, lacks a field or fails its checksum is reported, deleted and rebuilt, so an
interrupted write or a flipped bit costs one rebuild, never a wrong result. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from jaxdl.reporting.io import atomic_path

ENV_VAR = "JAXDL_CACHE_DIR"
_log = logging.getLogger(__name__)

Arrays = dict[str, np.ndarray]


class CacheCorruptError(ValueError):
    """A cache file exists but is unreadable or fails its checksum."""


def default_cache_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxdl" / "data"


def cache_file(cache_dir: str | os.PathLike | None, key: dict) -> Path:
    """The .npz for `key` (a JSON-able dict): readable prefix plus a hash of the whole key."""
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(str(key[k]) for k in ("name", "split") if k in key))
    return Path(cache_dir or default_cache_dir()) / f"{prefix}-{digest}.npz"


def checksum(arrays: Arrays) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def save(path: str | os.PathLike, arrays: Arrays, meta: dict) -> str:
    """Writes arrays + meta atomically; returns the checksum stored with them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = checksum(arrays)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            # Uncompressed: the bulk is image bytes that barely compress, and loading stays fast.
            np.savez(f, **arrays, __meta__=np.array(json.dumps(meta)), __sha256__=np.array(digest))
        tmp.chmod(0o644)  # mkstemp makes 0600; a shared cache directory should stay readable
    return digest


def load(path: str | os.PathLike) -> tuple[Arrays, dict]:
    """Reads a cache file; raises FileNotFoundError if absent, CacheCorruptError if damaged."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no cache file {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            contents = {k: npz[k] for k in npz.files}
        meta = json.loads(str(contents.pop("__meta__")))
        stored = str(contents.pop("__sha256__"))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise CacheCorruptError(f"cache file {path} is unreadable: {err}") from err
    if checksum(contents) != stored:
        raise CacheCorruptError(f"cache file {path} fails its SHA-256 checksum")
    return contents, meta


def cached(path: str | os.PathLike, build: Callable[[], tuple[Arrays, dict]]) -> tuple[Arrays, dict]:
    """Returns the cached (arrays, meta) at `path`, building and saving them first if needed."""
    path = Path(path)
    try:
        return load(path)
    except FileNotFoundError:
        pass
    except CacheCorruptError as err:
        _log.warning("%s; deleting it and rebuilding", err)
        path.unlink(missing_ok=True)
    arrays, meta = build()
    try:
        save(path, arrays, meta)
    except OSError as err:
        # The data is still right, only slower next time: say how to fix it, do not fail the run.
        _log.warning(
            "could not write dataset cache %s (%s); set %s or pass cache_dir to a writable directory",
            path, err, ENV_VAR,
        )
    return arrays, meta
