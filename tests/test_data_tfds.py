"""The tensorflow-datasets source, without TensorFlow: tfds.testing.mock_data + tfds.data_source.

The mock serves random examples through the real tfds.data_source code path. It needs a data dir that
looks prepared (dataset_info.json + features.json in <data_dir>/<name>/<version>), which we write from
the builder's own metadata, exactly what `tfds build` leaves behind minus the array_record shards.
"""

import importlib.util
import time

import numpy as np
import pytest

import jaxdl.data as data
from jaxdl.data import NotPreparedError

tfds = pytest.importorskip("tensorflow_datasets")


def _fake_prepared(data_dir, name, num_examples, file_format="array_record"):
    builder = tfds.builder(name, data_dir=str(data_dir), file_format=file_format)
    builder.info.set_splits(tfds.core.SplitDict([
        tfds.core.SplitInfo(name=split, shard_lengths=[num_examples], num_bytes=0) for split in ("train", "test")
    ]))
    builder.data_path.mkdir(parents=True, exist_ok=True)
    builder.info.write_to_directory(builder.data_path)


@pytest.mark.parametrize(("name", "shape"), [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_tfds_source_reads_mock_data(tmp_path, name, shape):
    data_dir = tmp_path / "tfds"
    _fake_prepared(data_dir, name, 12)
    with tfds.testing.mock_data(num_examples=12, data_dir=str(data_dir)):
        ds = data.load(name, "test", source="tfds", data_dir=data_dir, cache_dir=tmp_path / "cache")
        expected = tfds.data_source(name, split="test", data_dir=str(data_dir), download=False)[5]
    assert ds.images.shape == (12, *shape) and ds.images.dtype == np.uint8
    assert ds.labels.shape == (12,) and ds.labels.dtype == np.int32
    assert ds.labels.min() >= 0 and ds.labels.max() < 10 and ds.num_classes == 10
    assert ds.source == "tfds" and not ds.synthetic
    assert ds.origin.startswith("tensorflow-datasets ") and str(data_dir) not in ds.origin
    np.testing.assert_array_equal(ds.images[5], expected["image"])
    assert ds.labels[5] == expected["label"]
    # The second load comes from the .npz cache: no mock, no tfds reading needed.
    again = data.load(name, "test", source="tfds", data_dir=data_dir, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.images, ds.images)


def test_tfds_size_reads_a_prefix(tmp_path):
    data_dir = tmp_path / "tfds"
    _fake_prepared(data_dir, "fashion_mnist", 10)
    with tfds.testing.mock_data(num_examples=10, data_dir=str(data_dir)):
        full = data.load("fashion_mnist", source="tfds", data_dir=data_dir, cache_dir=tmp_path / "c")
        part = data.load("fashion_mnist", source="tfds", data_dir=data_dir, cache_dir=tmp_path / "c", size=4)
    np.testing.assert_array_equal(part.images, full.images[:4])


def test_not_prepared_fails_fast_with_the_commands(tmp_path):
    start = time.perf_counter()
    with pytest.raises(NotPreparedError) as err:
        data.load("svhn_cropped", "train", data_dir=tmp_path / "empty", cache_dir=tmp_path / "c")
    elapsed = time.perf_counter() - start
    message = str(err.value)
    assert "svhn_cropped is not prepared" in message
    assert f"tfds build svhn_cropped --data_dir={tmp_path / 'empty'} --file_format=array_record" in message
    assert "pip install 'tensorflow-datasets[tensorflow]'" in message and "network" in message
    assert "--download" in message and "svhn_synth" in message
    # The offline download path retries for ~200 s; this must not go near it.
    assert elapsed < 10, f"not-prepared error took {elapsed:.1f} s"
    assert not list((tmp_path / "c").glob("*.npz"))


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="would really download")
def test_download_without_tensorflow_says_so(tmp_path):
    with pytest.raises(NotPreparedError, match="needs TensorFlow"):
        data.load("mnist", data_dir=tmp_path / "empty", cache_dir=tmp_path / "c", download=True)


def test_tfrecord_only_preparation_is_rejected(tmp_path):
    data_dir = tmp_path / "tfds"
    _fake_prepared(data_dir, "mnist", 5, file_format="tfrecord")
    with pytest.raises(NotPreparedError, match="--file_format=array_record --overwrite"):
        data.load("mnist", data_dir=data_dir, cache_dir=tmp_path / "c")


def test_unknown_split_lists_the_ones_there(tmp_path):
    data_dir = tmp_path / "tfds"
    _fake_prepared(data_dir, "svhn_cropped", 5)
    with tfds.testing.mock_data(num_examples=5, data_dir=str(data_dir)), \
            pytest.raises(ValueError, match="has no split 'extra'; it has train, test"):
        data.load("svhn_cropped", "extra", data_dir=data_dir, cache_dir=tmp_path / "c")
