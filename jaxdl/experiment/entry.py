"""The shape every experiment has: config -> run -> analyse -> Summary, written once.

    # experiments/<name>/__init__.py
    Config = ...                                    # a jaxdl.experiment.config dataclass
    def run(cfg) -> engine.Result | dict: ...       # data -> task -> engine; nothing else
    def analyse(cfg, result) -> summary.Summary: ...
    main = entry.main(Config, run, analyse, name="<name>")

    # experiments/<name>/__main__.py
    from experiments import <name>
    from jaxdl.experiment import entry
    entry.launch(<name>)

`launch` is the only place a process is set up: `runtime.configure()` (host devices, compilation cache), the
experiment's flags defined as the main module's key flags (so `--help` lists them, with bounds and
choices), the multi-process flags, then absl's `app.run`, which forks the figure process before `main`
starts JAX (`jaxdl.reporting.drawing`: it imports matplotlib while the run trains). `main` parses the config,
checks the output directory (`cli.start`: an --out holding another experiment's results or other files is
refused), then runs, analyses and writes into a hidden sibling of --out that replaces it whole at the end
(`io.StagedOutput`): a failure at any point leaves --out as it was. It logs each phase at INFO, times the
run, collects compile seconds from every engine.Result the run returned, and writes summary.json,
summary.md and the figures. `call` runs the same `main` in-process with its own flag values (tests).

Errors a user can fix (a bad value, a positional argument, an unusable --out, a dataset not prepared, a
full disk) are app.UsageErrors naming the problem and the fix; `launch` prints each as one line on stderr
and exits 1 (`report_errors`), without absl's usage text. Anything else is a bug: its traceback follows a
one-line ERROR saying which phase failed.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from absl import app, flags, logging

from jaxdl.experiment import cli, config, runtime
from jaxdl.reporting import drawing, io, summary
from jaxdl.training import distributed, tensorboard

FLAGS = flags.FLAGS


def engine_results(result: Any) -> list:
    """Every engine.Result in `result`: itself, or found in its dicts, lists, tuples and dataclasses (e.g.
    mnist_dense's Programs), up to three levels deep."""
    import dataclasses

    from jaxdl.training import engine

    def find(x, depth):
        if isinstance(x, engine.Result):
            return [x]
        if depth == 0:
            return []
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            x = [getattr(x, f.name) for f in dataclasses.fields(x)]
        values = x.values() if isinstance(x, dict) else x if isinstance(x, (list, tuple)) else []
        return [r for v in values for r in find(v, depth - 1)]

    return find(result, 3)


def timings(result: Any, wall_s: float) -> dict:
    """wall_s, and compile_s summed over every engine call the run returned."""
    runs = engine_results(result)
    out = {"wall_s": wall_s}
    if isinstance(result, dict) and "compile_s" in result:  # a run that sums its engine calls' compiles itself
        out["compile_s"] = float(result["compile_s"])
    elif runs:
        out["compile_s"] = sum(r.compile_s for r in runs)
        hits = [getattr(r, "compile_cache_hit", None) for r in runs]
        if all(h is not None for h in hits):
            out["compile_cache_hit"] = all(hits)
    return out


def _refuse_workdir_inside(cfg, out: Path) -> None:
    """A checkpoint --workdir inside --out would be lost when the run replaces --out whole."""
    workdir = getattr(cfg, "workdir", "")
    if workdir and Path(workdir).resolve().is_relative_to(out.resolve()):
        raise app.UsageError(f"--workdir={workdir} is inside --out={out}, which a run replaces whole; pass a "
                             "--workdir outside it")


def main(config_cls, run: Callable, analyse: Callable, *, name: str) -> Callable:
    """The experiment's absl main: `main(argv, flag_values=FLAGS)` -> the output directory."""

    def _main(argv, flag_values: flags.FlagValues = FLAGS):
        try:
            cfg = config.from_flags(config_cls, flag_values)
        except flags.ValidationError as err:
            raise app.UsageError(str(err)) from err
        out = cli.start(argv, cfg.out, flag_values=flag_values, experiment=name)
        _refuse_workdir_inside(cfg, out)
        tensorboard_dir = getattr(cfg, "tensorboard_dir", "")
        if tensorboard_dir:  # missing or unwritable: refused now, not after training
            if importlib.util.find_spec("tensorboardX") is None:
                raise app.UsageError(f"--tensorboard_dir needs tensorboardX: {tensorboard.INSTALL}")
            try:
                io.prepare_out_dir(tensorboard_dir, flag="tensorboard_dir")
            except io.OutputDirError as err:
                raise app.UsageError(str(err)) from err
        had_results = out.exists()
        phase = "starting"
        try:
            with io.StagedOutput(out) as stage:
                t0 = time.perf_counter()
                phase = "running (loading data, compiling, training)"
                logging.info("%s: %s; results go to %s", name, phase, out)
                with tensorboard.recording(tensorboard_dir):
                    result = run(cfg)
                phase = "analysing"
                logging.info("%s: %s", name, phase)
                s = analyse(cfg, result)
                if s.experiment != name:
                    raise AssertionError(f"analyse returned {s.experiment!r}'s summary, not {name!r}'s")
                phase = "writing the summary and figures"
                logging.info("%s: %s (%d figures)", name, phase, len(s.figures))
                text = summary.write(s, stage, config.as_dict(cfg), **timings(result, time.perf_counter() - t0))
        except io.OutputDirError as err:
            raise app.UsageError(str(err)) from err
        except app.UsageError:
            raise
        except Exception as err:
            kept = f"{out} keeps its previous results" if had_results else f"nothing was written to {out}"
            # A full disk anywhere, or any error writing the outputs, is the user's to fix; other errors
            # while running (a damaged file, a bug) keep their traceback.
            if isinstance(err, OSError) and (phase.startswith("writing") or err.errno in (errno.ENOSPC, errno.EDQUOT)):
                raise app.UsageError(f"{name}: {io.describe_os_error(err, phase)}; {kept}") from err
            logging.error("%s failed while %s; %s (traceback below)", name, phase, kept)
            raise
        logging.info("%s: wrote %s", name, out)
        print(text)
        return out

    return _main


def one_line(message: str) -> str:
    """A multi-line error message as one line: indented lines (commands to run) become `quoted` parts."""
    parts = []
    for line in message.splitlines():
        if line.strip():
            parts.append(f"`{line.strip()}`" if line[:1].isspace() else line.strip())
    return " ".join(parts)


def report_errors(main: Callable, argv) -> None:
    """Runs `main(argv)`; an app.UsageError (a bad value, an unusable --out, a dataset not prepared, a full
    disk: each message names its fix) is printed as one line on stderr and exits 1. absl would print the
    main module's docstring first and the error last."""
    try:
        main(argv)
    except app.UsageError as err:
        sys.stdout.flush()
        sys.stderr.write(f"FATAL {one_line(str(err))}\n")
        sys.stderr.flush()
        sys.exit(err.exitcode or 1)


def define(module: ModuleType, flag_values: flags.FlagValues = FLAGS, key_module: str | None = None) -> None:
    """The experiment's flags (its Config's fields) and the multi-process runtime's."""
    config.define_flags(module.Config, flag_values, key_module=key_module)
    distributed.define_flags(flag_values)


def launch(module: ModuleType) -> None:
    """`python -m experiments.<name>`: process set-up, flags, absl's app.run(module.main), then a quick exit."""
    runtime.configure()
    define(module, key_module=sys.argv[0])

    def run(argv):
        # Before JAX starts (main starts it): the figure process imports matplotlib while the run trains.
        # Only process 0 of a multi-process run writes, so only it draws.
        if FLAGS.process_id in (None, 0):
            drawing.start()
        report_errors(module.main, argv)
        exit_when_done()

    try:
        app.run(run)
    finally:
        drawing.stop()


def exit_when_done() -> None:
    """Ends a finished run's process at once. Every output is written and closed by then (summary, figures,
    checkpoints, TensorBoard files); what the interpreter would still do is tear down XLA, LLVM and the
    imported modules, 0.25-0.4 s of a small run's ~4 s on 2 cores. Not under a profiler or tracer (they
    write their report at exit) and not in a multi-process run (jax.distributed's shutdown handshake runs
    at exit)."""
    import jax

    if sys.getprofile() or sys.gettrace() or jax.distributed.is_initialized():
        return
    logging.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def call(module: ModuleType, *args: str):
    """Runs `module.main` in this process as `python -m` would with `args`, on fresh flag values: returns
    the output directory; a bad flag raises flags.Error, a usage error app.UsageError."""
    fv = flags.FlagValues()
    define(module, fv)
    argv = fv([module.__name__, *args])
    return module.main(argv, flag_values=fv)
