"""The model axis of a sweep: every combination of hyperparameter values x seeds, as engine inputs.

    g = grid.Grid(seed_ids, lr=[0.1, 1.0], activation=[0, 1])   # 2 x 2 x seeds models, seeds fastest
    result = trainer(g.keys, g.hparams, data)
    hit = g.reshape(result.state["hit_step"])                    # [2 lrs, 2 activations, seeds]

Seed k gets the same key in every combination (paired statistics compare configurations seed by seed),
and its key does not depend on which other seeds run beside it (`engine.seed_keys`). Categorical values
(an activation, a loss) are passed as integers the task picks with `lax.switch`.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np


@dataclasses.dataclass(frozen=True, init=False)
class Grid:
    axes: dict  # name -> tuple of values, in order (outermost first)
    seed_ids: np.ndarray

    def __init__(self, seed_ids, **axes):
        object.__setattr__(self, "seed_ids", np.asarray(seed_ids))
        object.__setattr__(self, "axes", {k: tuple(v) for k, v in axes.items()})

    @property
    def shape(self) -> tuple[int, ...]:
        return (*(len(v) for v in self.axes.values()), len(self.seed_ids))

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def keys(self):
        from jaxdl.training import engine

        return engine.seed_keys(np.tile(self.seed_ids, self.size // len(self.seed_ids)))

    @property
    def hparams(self) -> dict[str, np.ndarray]:
        """{name: [models]} float32 (integers are exact in float32 far beyond any choice count)."""
        combos = list(itertools.product(*self.axes.values())) or [()]
        out = {}
        for i, name in enumerate(self.axes):
            out[name] = np.repeat(np.asarray([c[i] for c in combos], np.float32), len(self.seed_ids))
        return out

    def reshape(self, x):
        """[models, ...] -> [*axis lengths, seeds, ...]."""
        x = np.asarray(x)
        return x.reshape(*self.shape, *x.shape[1:])

    def index(self, **values) -> slice:
        """The models (a slice of the model axis) of one combination, e.g. index(lr=1.0, activation=0)."""
        flat = 0
        for name, vals in self.axes.items():
            flat = flat * len(vals) + vals.index(values[name])
        n = len(self.seed_ids)
        return slice(flat * n, (flat + 1) * n)
