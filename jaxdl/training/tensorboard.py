"""Training scalars for TensorBoard: every model of an engine call its own run (tensorboardX writes the
event files; TensorFlow is not needed).

    with tensorboard.recording("tb"):      # what an experiment's --tensorboard_dir does (jaxdl.experiment.entry)
        trainer(keys, hparams, data, label="resnet18")
    # -> tb/resnet18/model_0000/events.out.tfevents..., tb/resnet18/model_0001/..., one per model

The engine hands each chunk's recorded metrics to the active recorder as they reach the host, so a long
accelerator run can be watched while it trains (`tensorboard --logdir tb`). A metric with more than one
value per record (e.g. depth's per-layer gradient norms) is written as `name/0`, `name/1`, .... Only the
writing process of a multi-process run writes. tensorboardX is an optional dependency (the
`tensorboard` extra): asking for a directory without it is an error naming the install.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from jaxdl.training import distributed

_ACTIVE: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("jaxdl_tensorboard", default=None)
INSTALL = "pip install -e '.[tensorboard]' (tensorboardX)"


class Recorder:
    """One tensorboardX SummaryWriter per (engine call label, model), opened on first use."""

    def __init__(self, directory: str | Path):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as err:
            raise RuntimeError(f"--tensorboard_dir needs tensorboardX: {INSTALL}") from err
        self._writer_cls = SummaryWriter
        self.directory = Path(directory)
        self._writers = {}

    def write(self, label: str, metrics: dict[str, np.ndarray], steps: np.ndarray) -> None:
        """metrics {name: [models, records, ...]} recorded at `steps` [records]."""
        if not distributed.is_writer():
            return
        models = len(next(iter(metrics.values()))) if metrics else 0
        for k in range(models):
            writer = self._writer(label, k)
            for name, values in metrics.items():
                for tag, series in _series(name, np.asarray(values[k])):
                    for step, value in zip(steps, series, strict=True):
                        writer.add_scalar(tag, float(value), int(step))

    def _writer(self, label: str, model: int):
        key = label, model
        if key not in self._writers:
            run = re.sub(r"[^A-Za-z0-9_.=-]+", "_", label).strip("_") or "train"
            self._writers[key] = self._writer_cls(logdir=str(self.directory / run / f"model_{model:04d}"))
        return self._writers[key]

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _series(name: str, values: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """(tag, [records]) pairs: the metric itself, or one per value of a multi-valued metric."""
    if values.ndim == 1:
        yield name, values
        return
    flat = values.reshape(values.shape[0], -1)
    for i in range(flat.shape[1]):
        yield f"{name}/{i}", flat[:, i]


def active() -> Recorder | None:
    """The recorder of the enclosing `recording`, if any (the engine asks after every chunk)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def recording(directory: str | Path | None) -> Iterator[Recorder | None]:
    """Within the block, every engine call writes its models' recorded metrics under `directory`
    (nothing when it is empty or None). Files are flushed and closed at the end of the block."""
    if not directory:
        yield None
        return
    recorder = Recorder(directory)
    token = _ACTIVE.set(recorder)
    try:
        yield recorder
    finally:
        _ACTIVE.reset(token)
        recorder.close()
