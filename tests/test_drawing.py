"""jaxdl.reporting.drawing: figures drawn by a forked process of their own (a real fork, in a fresh
interpreter where JAX has not started), or here when no such process runs; either way the figure went
through pickle, JAX arrays arrive as numpy arrays, and a failing or unpicklable figure is one clear error."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.reporting import drawing
from jaxdl.reporting.summary import Figure

REPO = Path(__file__).resolve().parents[1]


def _describe(path: Path, value) -> None:
    """A figure 'drawn' as a line naming the type its data arrived as."""
    path.write_text(f"{type(value).__module__}.{type(value).__name__} {np.asarray(value).tolist()}")


def test_in_process_figures_go_through_pickle_and_jax_arrays_arrive_as_numpy(tmp_path):
    drawing.draw([Figure("a.txt", _describe, (jnp.arange(3),)), Figure("b.txt", Path.write_text, ("png",))],
                 tmp_path, "test")
    assert (tmp_path / "a.txt").read_text() == "numpy.ndarray [0, 1, 2]"
    assert (tmp_path / "b.txt").read_text() == "png"


def test_a_figure_that_does_not_pickle_is_named(tmp_path):
    with pytest.raises(drawing.FigureError, match="figure bad.png does not pickle .*module-level function"):
        drawing.draw([Figure("ok.txt", Path.write_text, ("x",)), Figure("bad.png", lambda p: None)], tmp_path)
    assert not (tmp_path / "ok.txt").exists()  # nothing drawn when one figure cannot be


# Run in a fresh interpreter: it imports no JAX, so drawing.start() forks (this pytest process has started
# JAX, and start() refuses to fork there: the second half checks that).
_RENDERER_SCRIPT = """
import json, os, sys, time
from pathlib import Path
from jaxdl.reporting import drawing
from jaxdl.reporting.summary import Figure

def pid_and_value(path, value):
    time.sleep(0.2)  # long enough that a pool would run figures side by side
    path.write_text(json.dumps([os.getpid(), 1 / value]))

out = Path(sys.argv[1])
assert drawing.start() and drawing.start()  # idempotent: one renderer
drawing.draw([Figure(f"{i}.json", pid_and_value, (i + 1,)) for i in range(4)], out, "test")
try:
    drawing.draw([Figure("ok.json", pid_and_value, (1,)), Figure("zero.json", pid_and_value, (0,))], out, "test")
except drawing.FigureError as err:
    print(json.dumps({"error": str(err)}))
process = drawing._renderer[0]
drawing.stop()
print(json.dumps({"main": os.getpid(), "renderer": process.pid, "exitcode": process.exitcode}))
"""


def test_the_renderer_draws_in_forked_workers_and_reports_a_failing_figure(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _RENDERER_SCRIPT, str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    error, pids = (json.loads(line) for line in proc.stdout.splitlines())
    drawn = {i: json.loads((tmp_path / f"{i}.json").read_text()) for i in range(4)}
    assert [v for _, v in drawn.values()] == [1.0, 0.5, 1 / 3, 0.25]
    workers = {pid for pid, _ in drawn.values()}
    assert not workers & {pids["main"], pids["renderer"]} and len(workers) > 1  # forked workers, side by side
    assert "drawing zero.json failed (in the figure process)" in error["error"]
    assert "ZeroDivisionError" in error["error"]  # the worker's traceback comes back
    assert pids["exitcode"] is not None  # stop() ended it


def test_no_renderer_is_forked_once_jax_has_started(tmp_path):
    jnp.zeros(1).block_until_ready()
    assert drawing.start() is False and drawing._renderer is None
    drawing.draw([Figure("a.txt", Path.write_text, ("here",))], tmp_path)
    assert (tmp_path / "a.txt").read_text() == "here"


def test_importing_an_experiment_imports_no_matplotlib():
    import experiments

    code = ("import importlib, sys\n"
            f"for name in {experiments.names()!r}:\n"
            "    importlib.import_module('experiments.' + name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


_INTERRUPT_SCRIPT = """
import json, os, signal, sys, threading, time
from pathlib import Path
from jaxdl.reporting import drawing
from jaxdl.reporting.summary import Figure

def slow(path):
    tmp = path.with_suffix(".tmp")  # renamed whole: the watcher below never reads a half-written pid
    tmp.write_text(str(os.getpid()))
    tmp.rename(path)
    time.sleep(120)

out = Path(sys.argv[1])
drawing.start()
renderer = drawing._renderer[0].pid

def interrupt_once_all_draw():  # Ctrl-C while every worker is mid-figure
    while len(list(out.glob("*.txt"))) < 3:
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=interrupt_once_all_draw, daemon=True).start()
try:
    drawing.draw([Figure(f"{i}.txt", slow) for i in range(3)], out)
except KeyboardInterrupt:
    drawing.stop()
print(json.dumps([renderer] + [int(p.read_text()) for p in out.glob("*.txt")]))

drawing.start()
os.kill(drawing._renderer[0].pid, signal.SIGKILL)  # the renderer dies: the run draws its figures itself
drawing.draw([Figure("here.txt", Path.write_text, ("drawn",))], out)
"""


def _alive(pid: int) -> bool:
    try:
        return "(zombie)" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_an_interrupted_draw_leaves_no_process_and_a_dead_renderer_falls_back_to_drawing_here(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _INTERRUPT_SCRIPT, str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    pids = json.loads(proc.stdout)
    assert len(pids) == 4
    for _ in range(100):  # the kernel reaps the group within moments
        if not any(map(_alive, pids)):
            break
        time.sleep(0.05)
    assert not any(map(_alive, pids)), pids
    assert (tmp_path / "here.txt").read_text() == "drawn"
    assert "the figure process ended" in proc.stderr
