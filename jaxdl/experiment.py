"""The shape every experiment has: config -> run -> analyse -> Summary, written once.

    Config = ...                                    # a jaxdl.config dataclass
    def run(cfg) -> engine.Result | dict: ...       # data -> task -> engine; nothing else
    def analyse(cfg, result) -> summary.Summary: ...
    main = experiment.main(Config, run, analyse, name="fc_grid")
    if __name__ == "__main__":
        app.run(main)

`main` parses the config (bad values: an app.UsageError naming the flag, exit non-zero, nothing
written), prepares the output directory (`cli.start`), times the run, collects compile seconds from
every engine.Result the run returned, and writes summary.json, summary.md and the figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from absl import app, flags, logging

from jaxdl import cli, config, summary

FLAGS = flags.FLAGS


def engine_results(result: Any) -> list:
    """Every engine.Result in `result` (itself, or the values of a dict/list/tuple, one level deep)."""
    from jaxdl import engine

    if isinstance(result, engine.Result):
        return [result]
    values = result.values() if isinstance(result, dict) else result if isinstance(result, (list, tuple)) else []
    return [r for r in values if isinstance(r, engine.Result)]


def timings(result: Any, wall_s: float) -> dict:
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
    def _main(argv):
        try:
            cfg = config.from_flags(config_cls)
        except flags.ValidationError as err:
            raise app.UsageError(str(err)) from err
        out = cli.start(argv, cfg.out)
        t0 = time.perf_counter()
        result = run(cfg)
        s = analyse(cfg, result)
        assert s.experiment == name, (s.experiment, name)
        text = summary.write(s, out, config.as_dict(cfg), **timings(result, time.perf_counter() - t0))
        logging.info("wrote %s", out)
        print(text)

    return _main
