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

`launch` is the only place a process is set up: `runtime.configure()` (host devices, compilation cache),
the experiment's flags defined as the main module's key flags (so `--help` lists them, with bounds and
choices), the multi-process flags, then absl's `app.run`. `main` parses the config (bad values: one
line naming the flag, exit non-zero, nothing written), prepares the output directory (`cli.start`), times
the run, collects compile seconds from every engine.Result the run returned, and writes summary.json,
summary.md and the figures. `call` runs the same `main` in-process with its own flag values (tests).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from absl import app, flags, logging

from jaxdl.experiment import cli, config, runtime
from jaxdl.reporting import summary
from jaxdl.training import distributed

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


def main(config_cls, run: Callable, analyse: Callable, *, name: str) -> Callable:
    """The experiment's absl main: `main(argv, flag_values=FLAGS)` -> the output directory."""

    def _main(argv, flag_values: flags.FlagValues = FLAGS):
        try:
            cfg = config.from_flags(config_cls, flag_values)
        except flags.ValidationError as err:
            raise app.UsageError(str(err)) from err
        out = cli.start(argv, cfg.out, flag_values=flag_values)
        t0 = time.perf_counter()
        result = run(cfg)
        s = analyse(cfg, result)
        assert s.experiment == name, (s.experiment, name)
        text = summary.write(s, out, config.as_dict(cfg), **timings(result, time.perf_counter() - t0))
        logging.info("wrote %s", out)
        print(text)
        return out

    return _main


def define(module: ModuleType, flag_values: flags.FlagValues = FLAGS, key_module: str | None = None) -> None:
    """The experiment's flags (its Config's fields) and the multi-process runtime's."""
    config.define_flags(module.Config, flag_values, key_module=key_module)
    distributed.define_flags(flag_values)


def launch(module: ModuleType) -> None:
    """`python -m experiments.<name>`: process set-up, flags, absl's app.run(module.main)."""
    runtime.configure()
    define(module, key_module=sys.argv[0])
    app.run(lambda argv: module.main(argv) and None)  # absl exits with main's return value


def call(module: ModuleType, *args: str):
    """Runs `module.main` in this process as `python -m` would with `args`, on fresh flag values: returns
    the output directory; a bad flag raises flags.Error, a usage error app.UsageError."""
    fv = flags.FlagValues()
    define(module, fv)
    argv = fv([module.__name__, *args])
    return module.main(argv, flag_values=fv)
