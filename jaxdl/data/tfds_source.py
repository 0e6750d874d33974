"""Full datasets through tensorflow-datasets, read with tfds.data_source (array_record, no TensorFlow).

Preparing a dataset (download + conversion) needs network access and TensorFlow; reading it afterwards
needs neither. So before touching anything that could download, this module asks the builder whether
the data is prepared in the data dir and, if not, fails at once (well under a second) with the exact
commands to prepare it, unless the caller asked for download=True (--download).

tfds is imported inside the functions: it takes ~0.5 s to import and most runs never need it.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

# Our name -> TFDS builder name.
TFDS_NAMES = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "svhn_cropped": "svhn_cropped",
    "cifar10": "cifar10",
}


class NotPreparedError(RuntimeError):
    """The TFDS dataset is not in the data dir and the caller did not ask to download it."""


def default_data_dir() -> str:
    return os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")


def prepare_instructions(name: str, data_dir: str | None) -> str:
    tfds_name = TFDS_NAMES[name]
    data_dir = data_dir or default_data_dir()
    return (
        f"Prepare it once, on a machine with network access, with TensorFlow installed (reading needs "
        f"neither):\n"
        f"    pip install 'tensorflow-datasets[tensorflow]'\n"
        f"    tfds build {tfds_name} --data_dir={data_dir} --file_format=array_record\n"
        f"or rerun with --download (download=True) to do the same from jaxdl (same requirements), or copy "
        f"a prepared {data_dir}/{tfds_name} directory here. Offline alternatives: mnist5k, digits, "
        f"fashion_mnist with source='offline', svhn_synth (synthetic)."
    )


def _builder(tfds, name: str, data_dir: str | None):
    return tfds.builder(TFDS_NAMES[name], data_dir=data_dir)


def _ensure_prepared(tfds, name: str, data_dir: str | None, download: bool):
    builder = _builder(tfds, name, data_dir)
    # Checking the directory first keeps tfds from logging a warning about the missing version folder.
    if builder.data_path.exists() and builder.is_prepared():
        return builder
    if not download:
        raise NotPreparedError(
            f"{name} is not prepared for tensorflow-datasets: nothing at {builder.data_path}.\n"
            + prepare_instructions(name, data_dir)
        )
    if importlib.util.find_spec("tensorflow") is None:
        raise NotPreparedError(
            f"--download for {name} needs TensorFlow to build the dataset, and it is not installed: "
            "pip install 'tensorflow-datasets[tensorflow]' (network access needed too), then retry."
        )
    tfds.data_source(
        TFDS_NAMES[name], data_dir=data_dir, download=True, builder_kwargs={"file_format": "array_record"}
    )
    return _builder(tfds, name, data_dir)


def load_split(
    name: str, split: str, *, data_dir: str | None = None, download: bool = False, size: int | None = None,
    **_,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Returns (images uint8 [N, H, W, C], labels int32 [N], origin) for one split of a TFDS dataset.

    `size` reads only the first `size` examples (TFDS stores the splits shuffled).
    Raises NotPreparedError (fast) when the data is absent and download is False.
    """
    if name not in TFDS_NAMES:
        raise ValueError(f"no tensorflow-datasets source for {name!r}; choose one of {', '.join(TFDS_NAMES)}")
    import tensorflow_datasets as tfds

    builder = _ensure_prepared(tfds, name, data_dir, download)
    info = builder.info
    formats = {info.file_format, *info.alternative_file_formats}
    if not any(getattr(f, "value", f) == "array_record" for f in formats):
        raise NotPreparedError(
            f"{name} in {builder.data_path} was prepared as {info.file_format}, but reading without "
            f"TensorFlow needs array_record. Rebuild it:\n"
            f"    tfds build {TFDS_NAMES[name]} --data_dir={data_dir or default_data_dir()} "
            "--file_format=array_record --overwrite"
        )
    if split not in info.splits:
        raise ValueError(f"{name} (tfds) has no split {split!r}; it has {', '.join(info.splits)}")
    source = tfds.data_source(
        TFDS_NAMES[name], split=split, data_dir=data_dir, download=False,
        builder_kwargs={"file_format": "array_record"},
    )
    n = len(source) if size is None else min(size, len(source))
    shape = info.features["image"].shape
    images = np.empty((n, *shape), np.uint8)
    labels = np.empty((n,), np.int32)
    # One record at a time: each is a small PNG decoded with PIL; the result is cached, so this runs once.
    for i in range(n):
        example = source[i]
        images[i] = example["image"]
        labels[i] = example["label"]
    return images, labels, f"tensorflow-datasets {builder.name}:{builder.version}"
