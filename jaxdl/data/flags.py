"""absl flags shared by every experiment that loads data: --data_source, --data_dir, --data_cache_dir,
--download. Define them once with define_flags(); load_from_flags() passes them to jaxdl.data.load."""

from __future__ import annotations

from absl import flags

from jaxdl.data import registry


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    flags.DEFINE_string(
        "data_source", None,
        "Where to read the dataset from: offline, tfds, synthetic (default: the dataset's own default, "
        "see jaxdl.data).", flag_values=flag_values,
    )
    flags.DEFINE_string(
        "data_dir", None,
        "Offline fashion_mnist: directory with the IDX .gz files (default "
        "/usr/share/datasets/fashion-mnist). tfds: the TFDS data dir (default $TFDS_DATA_DIR or "
        "~/tensorflow_datasets).", flag_values=flag_values,
    )
    flags.DEFINE_string(
        "data_cache_dir", None,
        "Where loaded datasets are cached as .npz (default $JAXDL_CACHE_DIR or ~/.cache/jaxdl/data).",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "download", False,
        "Let tensorflow-datasets download and prepare a missing dataset (needs network and TensorFlow). "
        "Without it a missing dataset fails at once with the commands to prepare it.",
        flag_values=flag_values,
    )


def load_from_flags(name: str, split: str = "train", flag_values: flags.FlagValues = flags.FLAGS, **kwargs):
    """jaxdl.data.load(name, split, ...) with the data flags filled in; kwargs (seed, size) pass through."""
    return registry.load(
        name, split, source=flag_values.data_source, data_dir=flag_values.data_dir,
        cache_dir=flag_values.data_cache_dir, download=flag_values.download, **kwargs,
    )
