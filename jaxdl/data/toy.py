"""2-D binary toy datasets for the fully connected experiments (scikit-learn generators where they exist).

Every generator is deterministic in `seed` and returns x: float32 [N, 2] (roughly in [-1, 1]) and
y: int32 [N] in {0, 1}. Each keeps a gap around its true boundary so 100% training accuracy is reachable.
"""

from __future__ import annotations

import numpy as np

TOY_DATASETS = ("xor", "circles", "moons", "spiral")


def _xor(n: int, rng: np.random.Generator, margin: float):
    # Uniform in the four quadrants, with a band of half-width `margin` removed around both axes.
    mag = rng.uniform(margin, 1.0, size=(n, 2))
    sign = rng.choice([-1.0, 1.0], size=(n, 2))
    x = mag * sign
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int32)
    return x, y


def _circles(n: int, rng: np.random.Generator, margin: float):
    from sklearn import datasets as skdatasets  # here: importing sklearn costs ~1 s of every start-up

    x, y = skdatasets.make_circles(n, factor=0.5, noise=margin / 4, random_state=rng.integers(2**31))
    return x, (1 - y).astype(np.int32)


def _moons(n: int, rng: np.random.Generator, margin: float):
    from sklearn import datasets as skdatasets

    x, y = skdatasets.make_moons(n, noise=margin / 2, random_state=rng.integers(2**31))
    return (x - [0.5, 0.25]) / [1.5, 1.0], y.astype(np.int32)


def _spiral(n: int, rng: np.random.Generator, margin: float):
    y = np.arange(n) % 2
    t = rng.uniform(0.25, 1.0, size=n) * 3 * np.pi
    r = t / (3 * np.pi)
    angle = t + np.pi * y
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1)
    x += rng.normal(scale=margin / 8, size=x.shape)
    return x, y.astype(np.int32)


_GENERATORS = {"xor": _xor, "circles": _circles, "moons": _moons, "spiral": _spiral}


def make_toy(name: str, num_points: int = 200, seed: int = 0, margin: float = 0.1):
    """Returns (x float32 [num_points, 2], y int32 [num_points]) for one of TOY_DATASETS."""
    if name not in _GENERATORS:
        raise ValueError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_DATASETS)}")
    if num_points < 4:
        raise ValueError(f"num_points must be >= 4, got {num_points}")
    x, y = _GENERATORS[name](num_points, np.random.default_rng(seed), margin)
    return np.asarray(x, np.float32), np.asarray(y, np.int32)
