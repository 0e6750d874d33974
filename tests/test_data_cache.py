"""The .npz cache: where it lives, its checksum, and rebuilding after corruption."""

import json
import logging

import numpy as np
import pytest

import jaxdl.data as data
from jaxdl.data import cache


def _arrays():
    return {"images": np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3), "labels": np.array([3, 1])}


def test_cache_dir_env_var_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "x"))
    assert cache.default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv(cache.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_cache_dir() == tmp_path / "xdg" / "jaxdl" / "data"


def test_key_decides_the_file(tmp_path):
    a = cache.cache_file(tmp_path, {"name": "svhn_synth", "split": "train", "seed": 0})
    b = cache.cache_file(tmp_path, {"name": "svhn_synth", "split": "train", "seed": 1})
    assert a != b and a.parent == tmp_path and a.name.startswith("svhn_synth-train-")
    assert a == cache.cache_file(tmp_path, {"seed": 0, "split": "train", "name": "svhn_synth"})


def test_round_trip(tmp_path):
    path = tmp_path / "d.npz"
    digest = cache.save(path, _arrays(), {"origin": "here"})
    arrays, meta = cache.load(path)
    assert meta == {"origin": "here"} and digest == cache.checksum(_arrays())
    for k, v in _arrays().items():
        np.testing.assert_array_equal(arrays[k], v)
    assert not list(tmp_path.glob("*.tmp"))


def test_truncated_file_is_corrupt(tmp_path):
    path = tmp_path / "d.npz"
    cache.save(path, _arrays(), {})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(cache.CacheCorruptError, match="unreadable"):
        cache.load(path)


def test_checksum_mismatch_is_corrupt(tmp_path):
    # A well-formed npz whose arrays no longer match the stored checksum.
    path = tmp_path / "d.npz"
    cache.save(path, _arrays(), {})
    with np.load(path) as npz:
        contents = {k: npz[k] for k in npz.files}
    contents["images"] = contents["images"].copy()
    contents["images"][0, 0, 0, 0] ^= 1
    with open(path, "wb") as f:
        np.savez(f, **contents)
    with pytest.raises(cache.CacheCorruptError, match="checksum"):
        cache.load(path)


def test_cached_rebuilds_corrupt_file(tmp_path, caplog):
    path = tmp_path / "d.npz"
    calls = []

    def build():
        calls.append(1)
        return _arrays(), {"n": len(calls)}

    assert cache.cached(path, build)[1] == {"n": 1}
    assert cache.cached(path, build)[1] == {"n": 1} and len(calls) == 1  # from the file
    path.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        arrays, meta = cache.cached(path, build)
    assert meta == {"n": 2} and "rebuilding" in caplog.text
    assert cache.load(path)[1] == {"n": 2}  # rewritten, valid again


def test_unwritable_cache_still_returns_data(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING):
        arrays, _ = cache.cached(blocker / "d.npz", lambda: (_arrays(), {}))
    np.testing.assert_array_equal(arrays["labels"], [3, 1])
    assert cache.ENV_VAR in caplog.text


def test_load_rebuilds_a_corrupt_dataset_cache(tmp_path):
    first = data.load("svhn_synth", "train", size=30, cache_dir=tmp_path)
    (path,) = tmp_path.glob("svhn_synth-train-*.npz")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # a flipped bit inside the image bytes
    path.write_bytes(bytes(raw))
    with pytest.raises(cache.CacheCorruptError):
        cache.load(path)
    second = data.load("svhn_synth", "train", size=30, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.images, second.images)
    cache.load(path)  # valid again
    assert json.loads(json.dumps(second.metadata()))["synthetic"] is True
