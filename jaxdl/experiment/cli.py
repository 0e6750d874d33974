"""An experiment's start-up (cli.start: flags checked, multi-process runtime joined, --out writable)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

from jaxdl.reporting import io
from jaxdl.training import distributed


def start(argv: Sequence[str], out: str, flag: str = "out", flag_values: flags.FlagValues = flags.FLAGS) -> Path:
    """An experiment's first step, before any JAX computation: no positional arguments; the multi-process
    runtime started if asked for (jaxdl.training.distributed: --coordinator_address/--num_processes/--process_id, or
    a SLURM / Open MPI job) with every process's flags checked equal; `out` created and writable (by
    process 0, the only one that writes). Otherwise an app.UsageError naming the fix (absl prints it and
    exits non-zero before any work is done)."""
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
        return io.prepare_out_dir(out, flag)
    except io.OutputDirError as err:
        raise app.UsageError(str(err)) from err
