"""Figures drawn by a process of their own, beside the run.

A run's figures cost matplotlib's import (about 0.9 s on 2 cores) and their drawing (0.1-0.5 s each); in the
run's own process both come after training, one after another. `start()` (jaxdl.experiment.entry.launch
calls it before the run starts JAX) forks one renderer process, which imports matplotlib while the run loads
data, compiles and trains. `draw(figures, out)` sends it the summary's figures, pickled (summary.Figure: a
module-level function and its data), and the renderer draws them side by side: one forked worker per
figure, up to two per core (figures differ in cost: a queue would end behind the slowest), each inheriting
the imported matplotlib. A figure that fails raises FigureError here with the worker's traceback.

Without a renderer (an experiment called in-process: tests, notebooks; JAX already started, when a fork
would copy its threads' locks; a platform without a safe fork) the same pickled figures are drawn in this
process, one after another: both paths draw what went through pickle, so a figure that would not reach
the renderer fails everywhere. The renderer and its workers form a process group of their own, which
`stop()` ends whole.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import multiprocessing
import os
import pickle
import signal
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import logging

_renderer = None  # (process, connection) while a renderer runs


class FigureError(RuntimeError):
    """A figure does not pickle, or drawing it failed (the worker's traceback is in the message)."""


def start() -> bool:
    """Forks the renderer, unless one runs, the platform has no safe fork (Linux only: macOS's system
    libraries are not fork-safe) or JAX's backend has started. True when a renderer runs."""
    global _renderer
    if _renderer is not None:
        return True
    if not sys.platform.startswith("linux") or _jax_started():
        logging.info("figures will be drawn in this process (no figure process: %s)",
                     "JAX has started" if sys.platform.startswith("linux") else f"no safe fork on {sys.platform}")
        return False
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    sys.stdout.flush()  # a buffer copied into the child would be written twice
    sys.stderr.flush()
    process = context.Process(target=_serve, args=(theirs, ours), name="jaxdl-figures")
    with warnings.catch_warnings():
        # Python 3.12+ warns on a fork with other threads; the only one here is numpy's idle BLAS pool
        # (OpenBLAS re-initialises it in a forked child), and the child runs no JAX.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        process.start()
    with contextlib.suppress(OSError):  # set here as well as in the child, so stop() finds it either way
        os.setpgid(process.pid, process.pid)
    theirs.close()
    _renderer = (process, ours)
    return True


def stop() -> None:
    """Ends the renderer and any worker drawing for it at once: nothing is in flight between draw() calls,
    and a run that ends early (an error, Ctrl-C mid-draw) must leave no process behind. (Were this process
    killed instead, an idle renderer ends by itself when its pipe closes.)"""
    global _renderer
    if _renderer is None:
        return
    process, conn = _renderer
    _renderer = None
    conn.close()
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signal.SIGTERM)  # the renderer's group: it and its workers
    process.join()


def draw(figures: Sequence, out, experiment: str = "") -> None:
    """Draws every figure into `out`: in the renderer when one runs, else here."""
    if not figures:
        return
    payload = _dumps(figures, str(out))
    if _renderer is not None:
        process, conn = _renderer
        logging.info("%s: drawing %d figures in the figure process, %d at a time", experiment, len(figures),
                     _workers(len(figures)))
        try:
            conn.send_bytes(payload)
            errors = conn.recv()
        except (EOFError, OSError):
            process.join(timeout=1)
            logging.warning("%s: the figure process ended (exit code %s); drawing the figures here",
                            experiment, process.exitcode)
            stop()
        else:
            if isinstance(errors, str):
                raise FigureError(f"the figure process could not draw the figures:\n{errors}")
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
    try:
        from jax._src import xla_bridge

        return xla_bridge.backends_are_initialized()
    except (ImportError, AttributeError):  # JAX moved it: assume started, and draw here
        return True


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
    """The renderer: imports matplotlib at once, then draws each batch of figures it is sent, until its
    pipe closes. Replies per figure (None or its traceback), or one traceback when the batch failed."""
    ours.close()
    # A process group of its own: a terminal's Ctrl-C reaches the run alone, and stop() ends this group
    # whole, the workers included.
    with contextlib.suppress(OSError):  # the parent may have set it first
        os.setpgid(0, 0)
    import matplotlib.pyplot  # noqa: F401  the import this process exists to do while the run trains

    while True:
        try:
            message = conn.recv_bytes()
        except EOFError:
            return
        try:
            reply = _draw_all(*pickle.loads(message))
        except Exception:  # noqa: BLE001  the batch itself failed (unpickling, the pool): reported whole
            reply = traceback.format_exc()
        try:
            conn.send(reply)
        except OSError:  # the run has gone
            return


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
