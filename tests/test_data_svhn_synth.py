"""svhn_synth: deterministic, right shapes, balanced labels, labelled synthetic. (Speed: benchmarks/.)"""

import numpy as np
import pytest

import jaxdl.data as data
from jaxdl.data import svhn_synth


def test_shapes_and_dtypes():
    images, labels = svhn_synth.generate(50, seed=0)
    assert images.shape == (50, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (50,) and labels.dtype == np.int32
    assert labels.min() >= 0 and labels.max() <= 9
    # Real images, not blank: every image has contrast, and colour varies across the set.
    assert np.all(images.reshape(50, -1).std(1) > 1.0)
    assert images.reshape(-1, 3).std(0).min() > 20


def test_deterministic_by_seed_and_split():
    a, la = svhn_synth.generate(1200, seed=7)
    b, lb = svhn_synth.generate(1200, seed=7, workers=1)  # threads do not change the result
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    c, _ = svhn_synth.generate(1200, seed=8)
    d, _ = svhn_synth.generate(1200, seed=7, split="test")
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


def test_labels_balanced():
    _, labels = svhn_synth.generate(2000, seed=1)
    assert list(np.bincount(labels, minlength=10)) == [200] * 10
    _, labels = svhn_synth.generate(2345, seed=1)
    counts = np.bincount(labels, minlength=10)
    assert counts.max() - counts.min() <= 1  # only the last, partial chunk of 95 is not exact


def test_label_digit_is_centred():
    # The label is the digit in the middle: the centre columns differ by class far more than the sides.
    images, labels = svhn_synth.generate(2000, seed=2)
    gray = images.astype(np.float32).mean(-1)
    gray = (gray - gray.mean((1, 2), keepdims=True)) / (gray.std((1, 2), keepdims=True) + 1e-6)
    gray *= np.sign(gray[:, 14:18, 14:18].mean((1, 2)) + 1e-6)[:, None, None]  # light-on-dark or not
    means = np.stack([gray[labels == c].mean(0) for c in range(10)])
    centre = means[:, 6:26, 10:22].std(0).mean()
    sides = np.concatenate([means[:, 6:26, :3], means[:, 6:26, -3:]], 2).std(0).mean()
    assert centre > 2 * sides


def test_registry_labels_it_synthetic(tmp_path):
    ds = data.load("svhn_synth", "test", size=40, seed=5, cache_dir=tmp_path)
    assert ds.synthetic and ds.source == "synthetic" and "SYNTHETIC" in ds.origin
    assert ds.metadata()["synthetic"] is True and ds.shape == (32, 32, 3)
    images, labels = svhn_synth.generate(40, seed=5, split="test")
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)


def test_full_sizes_are_svhns():
    assert svhn_synth.SIZES == {"train": 73_257, "test": 26_032}


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        svhn_synth.generate(10, split="extra")
    with pytest.raises(ValueError, match="num_examples"):
        svhn_synth.generate(0)
