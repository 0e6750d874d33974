"""IDX parsing on generated files: round trips, and every kind of damage rejected with a clear error."""

import gzip

import numpy as np
import pytest

from jaxdl.data import load
from jaxdl.data.idx import IDXError, parse_idx, read_idx, write_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-5, 7, 2**30], np.int32),
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2),
        np.array([1.5, -2.25], np.float64),
        np.array([-3, 3], np.int8),
        np.array([[-300, 300]], np.int16),
    ],
)
def test_round_trip(tmp_path, array, suffix):
    path = tmp_path / f"a-idx{suffix}"
    write_idx(path, array)
    out = read_idx(path)
    assert out.dtype == array.dtype and out.shape == array.shape
    np.testing.assert_array_equal(out, array)


def test_header_is_big_endian_mnist_layout(tmp_path):
    # The published MNIST header for the training images: magic 0x00000803, then 60000, 28, 28.
    header = bytes.fromhex("00000803" "0000ea60" "0000001c" "0000001c")
    assert parse_idx(header + bytes(60000 * 28 * 28)).shape == (60000, 28, 28)


def _valid_bytes() -> bytes:
    return bytes.fromhex("00000803" "00000002" "00000002" "00000003") + bytes(range(12))


def test_wrong_magic():
    with pytest.raises(IDXError, match="bad magic number 0x01000803"):
        parse_idx(bytes.fromhex("01") + _valid_bytes()[1:], "x.idx")
    with pytest.raises(IDXError, match="bad magic"):
        parse_idx(bytes.fromhex("00000a03") + _valid_bytes()[4:])  # 0x0a is no IDX type
    with pytest.raises(IDXError, match="bad magic"):
        parse_idx(bytes.fromhex("00000800"))  # zero dimensions


def test_truncated_data_reports_expected_and_actual_sizes():
    data = _valid_bytes()
    with pytest.raises(IDXError, match=r"x\.idx is truncated: expected 28 bytes for shape \(2, 2, 3\), got 27"):
        parse_idx(data[:-1], "x.idx")
    with pytest.raises(IDXError, match="truncated: header needs 16 bytes, got 10"):
        parse_idx(data[:10])
    with pytest.raises(IDXError, match="not even a header"):
        parse_idx(data[:3])


def test_trailing_bytes_rejected():
    with pytest.raises(IDXError, match="has trailing bytes: expected 28 bytes"):
        parse_idx(_valid_bytes() + b"\0")


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    write_idx(path, np.zeros((100, 28, 28), np.uint8) + np.arange(28, dtype=np.uint8))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IDXError, match="not a complete gzip stream"):
        read_idx(path)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(IDXError, match="not a complete gzip stream"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(IDXError, match="does not exist"):
        read_idx(tmp_path / "nope.gz")


def _fashion_dir(tmp_path, n_train=30, n_test=20):
    tmp_path.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    return tmp_path


def test_offline_fashion_mnist_from_a_directory(tmp_path):
    data_dir = _fashion_dir(tmp_path / "fm")
    ds = load("fashion_mnist", "test", source="offline", data_dir=data_dir, cache_dir=tmp_path / "c")
    assert ds.images.shape == (20, 28, 28, 1) and ds.images.dtype == np.uint8
    assert ds.labels.dtype == np.int32 and list(ds.labels[:11]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert ds.source == "offline:idx" and not ds.synthetic
    assert f"--data_dir ({data_dir.name})" in ds.origin and str(data_dir) not in ds.origin
    assert ds.class_names[9] == "Ankle boot"
    raw = read_idx(data_dir / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(ds.images[..., 0], raw)


def test_offline_fashion_mnist_truncated_file_names_the_fix(tmp_path):
    data_dir = _fashion_dir(tmp_path / "fm")
    images = data_dir / "train-images-idx3-ubyte.gz"
    array = read_idx(images)
    with gzip.open(images, "wb") as f:
        f.write(bytes.fromhex("00000803" "0000001e" "0000001c" "0000001c") + array.tobytes()[:1000])
    with pytest.raises(IDXError) as err:
        load("fashion_mnist", "train", source="offline", data_dir=data_dir, cache_dir=tmp_path / "c")
    message = str(err.value)
    assert "truncated: expected 23536 bytes" in message and "got 1016" in message
    assert "dataset-fashion-mnist" in message and "--data_dir" in message


def test_offline_fashion_mnist_missing_directory_names_the_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load("fashion_mnist", source="offline", data_dir=tmp_path / "absent", cache_dir=tmp_path / "c")


def test_offline_fashion_mnist_mismatched_counts(tmp_path):
    data_dir = _fashion_dir(tmp_path / "fm")
    write_idx(data_dir / "train-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(IDXError, match="expected uint8 \\[N, H, W\\] and \\[N\\]"):
        load("fashion_mnist", source="offline", data_dir=data_dir, cache_dir=tmp_path / "c")
