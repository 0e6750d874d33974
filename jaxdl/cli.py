"""absl flag helpers shared by every experiment: typed comma lists, validated before any work starts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from absl import app, flags

from jaxdl import distributed, io


def _parse_list(name: str, text: str, cast: Callable, kind: str) -> list:
    items = [s.strip() for s in str(text).split(",")]
    if not text or any(not s for s in items):
        raise flags.ValidationError(f"--{name} is empty or has an empty item: give a comma list, e.g. 0.1,0.3")
    try:
        return [cast(s) for s in items]
    except ValueError:
        raise flags.ValidationError(f"--{name}={text!r}: every item must be {kind}") from None


def define_list(
    name: str,
    default: str,
    help: str,
    *,
    cast: Callable = float,
    kind: str = "a number",
    minimum: float | None = None,
    strictly_positive: bool = False,
    flag_values=flags.FLAGS,
) -> None:
    """Defines a comma-list flag (string in, list out via `parse`) whose items are checked at parse time."""
    flags.DEFINE_string(name, default, help, flag_values=flag_values)

    def check(text: str) -> bool:
        values = _parse_list(name, text, cast, kind)
        if strictly_positive and any(v <= 0 for v in values):
            raise flags.ValidationError(f"--{name}={text!r}: every item must be > 0")
        if minimum is not None and any(v < minimum for v in values):
            raise flags.ValidationError(f"--{name}={text!r}: every item must be >= {minimum}")
        return True

    flags.register_validator(name, check, flag_values=flag_values)


def parse(name: str, cast: Callable = float, flag_values=flags.FLAGS) -> list:
    """The parsed value of a flag made by `define_list`."""
    return _parse_list(name, getattr(flag_values, name), cast, "valid")


def expand_choice(value: str, choices: Sequence[str]) -> list[str]:
    """'all' -> every choice; otherwise the one given (enum flags already rejected anything else)."""
    return list(choices) if value == "all" else [value]


def positive(name: str, flag_values=flags.FLAGS) -> None:
    """Marks an integer flag as required to be >= 1, with a message naming it."""
    flags.register_validator(
        name, lambda v: v is None or v >= 1, message=f"--{name} must be >= 1", flag_values=flag_values
    )


def flag_dict(flag_values=flags.FLAGS, module: str | None = None, names=None) -> dict:
    """The values of an experiment's flags for provenance: `names`, or those `module` defined."""
    if names is None:
        names = [f.name for f in flag_values.get_flags_for_module(module)] if module else list(flag_values)
    return {n: flag_values[n].value for n in names}


def start(argv: Sequence[str], out: str, flag: str = "out") -> Path:
    """An experiment's first step, before any JAX computation: no positional arguments; the multi-process
    runtime started if asked for (jaxdl.distributed: --coordinator_address/--num_processes/--process_id, or
    a SLURM / Open MPI job) with every process's flags checked equal; `out` created and writable (by
    process 0, the only one that writes). Otherwise an app.UsageError naming the fix (absl prints it and
    exits non-zero before any work is done)."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}; every setting is a --flag")
    try:
        distributed.initialize()
        distributed.check_same_flags()
    except distributed.DistributedError as err:
        raise app.UsageError(str(err)) from err
    if not io.is_writer():
        return Path(out)
    try:
        return io.prepare_out_dir(out, flag)
    except io.OutputDirError as err:
        raise app.UsageError(str(err)) from err
