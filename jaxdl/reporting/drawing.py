"""Figures drawn by a process of their own, beside the run.

A run's figures cost matplotlib's import (about 0.9 s on 2 cores) and their drawing (0.1-0.5 s each); in the
run's own process both come after training, one after another. `start()` (jaxdl.experiment.entry.launch calls
it before JAX starts its backend and threads) forks one renderer process, which imports matplotlib while the
run loads data, compiles and trains. `draw(figures, out)` sends it the summary's figures, pickled
(summary.Figure: a module-level function and its data), and the renderer draws them in parallel: one forked
worker per figure, up to the cores this process may use, each inheriting the imported matplotlib. A figure
that fails raises FigureError here with the worker's traceback.

Without a renderer (an experiment called in-process: tests, notebooks; or JAX had started before `start()`,
when forking would be unsafe) the same pickled figures are drawn in this process, one after another: both
paths draw what went through pickle, so a figure that would not reach the renderer fails everywhere.
"""

from __future__ import annotations

import concurrent.futures
import io
import multiprocessing
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import logging

_renderer = None  # (process, connection) while a renderer runs


class FigureError(RuntimeError):
    """A figure does not pickle, or drawing it failed (the worker's traceback is in the message)."""


def start() -> bool:
    """Forks the renderer, unless one runs or JAX's backend has started (its threads make a fork unsafe).
    True when a renderer runs."""
    global _renderer
    if _renderer is not None:
        return True
    if _jax_started():
        logging.info("figures will be drawn in this process: JAX started before the figure process could fork")
        return False
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    sys.stdout.flush()  # a buffer copied into the child would be written twice
    sys.stderr.flush()
    process = context.Process(target=_serve, args=(theirs, ours), name="jaxdl-figures")
    process.start()
    theirs.close()
    _renderer = (process, ours)
    return True


def stop() -> None:
    """Ends the renderer at once: no figure is in flight between draw() calls, and a run that ends early
    (--help, a bad flag) should not wait for its matplotlib import. (Were this process killed instead, the
    renderer ends by itself when its pipe closes.)"""
    global _renderer
    if _renderer is None:
        return
    process, conn = _renderer
    _renderer = None
    conn.close()
    process.terminate()
    process.join()


def draw(figures: Sequence, out, experiment: str = "") -> None:
    """Draws every figure into `out`: in the renderer when one runs, else here."""
    if not figures:
        return
    payload = _dumps(figures, str(out))
    if _renderer is not None:
        process, conn = _renderer
        workers = _workers(len(figures))
        logging.info("%s: drawing %d figures in the figure process, %d at a time", experiment, len(figures), workers)
        try:
            conn.send_bytes(payload)
            errors = conn.recv()
        except (EOFError, OSError):
            logging.warning("%s: the figure process ended (exit code %s); drawing the figures here",
                            experiment, process.exitcode)
            stop()
        else:
            for f, error in zip(figures, errors, strict=True):
                if error:
                    raise FigureError(f"drawing {f.name} failed (in the figure process):\n{error}")
            return
    figures, out = pickle.loads(payload)
    for i, f in enumerate(figures, 1):
        logging.info("%s: drawing figure %d/%d, %s", experiment, i, len(figures), f.name)
        f.render(Path(out))


def _jax_started() -> bool:
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def _workers(n: int) -> int:
    return max(1, min(n, 2 * len(os.sched_getaffinity(0))))


class _Pickler(pickle.Pickler):
    """Pickles JAX arrays as numpy arrays: the figure process never touches JAX."""

    def reducer_override(self, obj):
        jax = sys.modules.get("jax")
        if jax is not None and isinstance(obj, jax.Array):
            return np.asarray, (np.asarray(obj),)
        return NotImplemented


def _dumps(figures: Sequence, out: str) -> bytes:
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((list(figures), out))
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        for f in figures:
            try:
                _Pickler(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(f)
            except (pickle.PicklingError, TypeError, AttributeError) as one:
                raise FigureError(f"figure {f.name} does not pickle ({one}): its draw must be a module-level "
                                  "function and its arguments data (jaxdl.reporting.summary.Figure)") from one
        raise FigureError(f"the figures do not pickle: {err}") from err
    return buffer.getvalue()


def _serve(conn, ours) -> None:
    """The renderer: imports matplotlib at once, then draws each batch of figures it is sent."""
    ours.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the run; this process ends when its pipe closes
    import matplotlib.pyplot  # noqa: F401  the import this process exists to do while the run trains

    while True:
        try:
            figures, out = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        conn.send(_draw_all(figures, out))


def _draw_all(figures, out) -> list[str | None]:
    workers = _workers(len(figures))
    if workers == 1:
        return [_draw_one(f, out) for f in figures]
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(_draw_one, figures, [out] * len(figures)))


def _draw_one(figure, out) -> str | None:
    """None, or the traceback of the error drawing it."""
    try:
        figure.render(Path(out))
    except Exception:  # noqa: BLE001  reported to the run, which raises it
        return traceback.format_exc()
    return None
