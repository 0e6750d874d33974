"""An experiment's start-up (cli.start: flags checked, multi-process runtime joined, --out usable)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

from jaxdl.reporting import io
from jaxdl.training import distributed


def start(argv: Sequence[str], out: str, flag: str = "out", flag_values: flags.FlagValues = flags.FLAGS,
          experiment: str | None = None) -> Path:
    """An experiment's first step, before any JAX computation: no positional arguments; the multi-process
    runtime started if asked for (jaxdl.training.distributed: --coordinator_address/--num_processes/--process_id, or
    a SLURM / Open MPI job) with every process's flags checked equal; then, by process 0 (the only one that
    writes), `out` checked: for an `experiment`, a directory the run may replace whole
    (io.check_out_dir: nothing is created yet, see io.StagedOutput), otherwise (a directory runs share, the
    driver's --results) created and writable. Otherwise an app.UsageError naming the fix, before any work
    is done (entry.report_errors prints it as one line)."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}; every setting is a --flag")
    try:
        distributed.initialize(flag_values)
        distributed.check_same_flags(flag_values)
    except distributed.DistributedError as err:
        raise app.UsageError(str(err)) from err
    if not io.is_writer():
        return Path(out)
    try:
        return io.check_out_dir(out, experiment, flag) if experiment else io.prepare_out_dir(out, flag)
    except io.OutputDirError as err:
        raise app.UsageError(str(err)) from err
