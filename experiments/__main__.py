r"""`make results`: run every experiment, each in its own process, then write results/README.md with the
claims audit and rewrite the README's claims block.

    python -m experiments                      # CPU default scale, offline (what `make results` runs)
    python -m experiments --scale=full         # the accelerator schedule (see BUILD.md)
    python -m experiments --skip_run           # only rebuild results/README.md from existing results
    python -m experiments --only=fc_grid,xor   # run some experiments, report on all

An experiment is a package here with a `__main__.py`, found by listing this folder: a new one needs no
change anywhere else (BUILD.md, "Adding an experiment").
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags, logging

import experiments
from jaxdl.experiment import cli, config, entry, runtime
from jaxdl.reporting import report

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_enum("scale", "cpu", list(config.SCALES), "cpu: the offline CPU defaults; full: every "
                      "experiment's --scale=full preset (the accelerator schedule).")
    flags.DEFINE_string("results", "results", "Results directory (one sub-directory per experiment).")
    flags.DEFINE_bool("skip_run", False, "Do not run experiments; rebuild the report from existing results.")
    flags.DEFINE_list("only", [], f"Run only these experiments (report on all). Choices: "
                      f"{', '.join(experiments.names())}.")
    flags.DEFINE_string("front_page", "README.md", "Markdown file whose claims table (between the markers "
                        f"{report.CLAIMS_BEGIN} and {report.CLAIMS_END}) is rewritten from the audit; "
                        "empty = leave it alone.")


def command(name: str, scale: str, results: Path) -> list[str]:
    return [sys.executable, "-m", f"experiments.{name}", f"--out={results / name}", f"--scale={scale}"]


def run_experiments(names, scale: str, results: Path) -> dict[str, float]:
    """Runs each experiment in its own process, streaming its progress; returns wall seconds per name."""
    walls = {}
    chosen = [n for n in experiments.names() if n in names]
    for i, name in enumerate(chosen, 1):
        cmd = command(name, scale, results)
        print(f"[{i}/{len(chosen)}] {name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, check=False)
        walls[name] = time.perf_counter() - t0
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"[{i}/{len(chosen)}] {name}: {status} in {walls[name]:.0f} s", flush=True)
        if proc.returncode != 0:
            raise SystemExit(f"experiment {name} failed; its output is above. Fix it and rerun "
                             f"`python -m experiments --only={name}`.")
    return walls


def main(argv):
    known = experiments.names()
    unknown = set(FLAGS.only) - set(known)
    if unknown:
        raise app.UsageError(f"--only: unknown experiment(s) {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(known)}")
    results = cli.start(argv, FLAGS.results, flag="results")
    t0 = time.perf_counter()
    walls = {} if FLAGS.skip_run else run_experiments(FLAGS.only or known, FLAGS.scale, results)
    report.write_report(results, known, walls, FLAGS.scale, time.perf_counter() - t0)
    logging.info("wrote %s", results / "README.md")
    if FLAGS.front_page:
        rows = json.loads((results / "claims.json").read_text())["claims"]
        summaries = report.load_summaries(results, report.seed_order(known))
        if report.update_front_page(Path(FLAGS.front_page), rows, summaries):
            logging.info("updated the claims table in %s", FLAGS.front_page)
        else:
            logging.warning("%s has no %s ... %s markers: its claims table was not updated", FLAGS.front_page,
                            report.CLAIMS_BEGIN, report.CLAIMS_END)
    print(f"wrote {results / 'README.md'} (total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    runtime.configure()
    define_flags()
    app.run(lambda argv: entry.report_errors(main, argv))
