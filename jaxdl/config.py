"""An experiment's configuration: one dataclass, its `cpu()`/`full()` presets, and absl flags made from it.

    @dataclasses.dataclass(frozen=True)
    class Config(config.Common):
        lr: tuple[float, ...] = config.field((0.1, 1.0), "Learning rates to sweep.", lower=0, strict=True)
        steps: int = config.field(2000, "Maximum iterations.", lower=1)

        @classmethod
        def full(cls):                      # the accelerator schedule (--scale=full)
            return cls(seeds=1024)

    config.define_flags(Config)             # at import: --help lists every field, its default and choices
    cfg = config.from_flags(Config)         # in main: the --scale preset, then every flag given explicitly

Field types: int, float, str, bool, and tuples of them (comma lists on the command line). A field's
`choices` become an enum (`--help` and the error list them); `lower`/`upper` bounds are checked when the
flags are parsed, so bad values exit non-zero before any work, with a message naming the flag.
Provenance stores `dataclasses.asdict(cfg)`: the resolved values, never a hand-kept list of names.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence

from absl import flags

FLAGS = flags.FLAGS
SCALES = ("cpu", "full")


def field(default, help: str, *, choices: Sequence | None = None, lower: float | None = None,
          upper: float | None = None, strict: bool = False, empty_ok: bool = False):
    """A config field: its default (the cpu preset), `--help` text and checks. `strict` makes the bounds
    exclusive; `empty_ok` lets a tuple field be empty (`--name=`). Tuples are immutable defaults, so no
    default_factory is needed."""
    meta = {"help": help, "choices": tuple(choices) if choices else None, "lower": lower, "upper": upper,
            "strict": strict, "empty_ok": empty_ok}
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Common:
    """Flags every experiment has. Subclasses redeclare a field to change its default."""

    scale: str = field("cpu", "Preset: cpu (offline CPU defaults) or full (the accelerator schedule); flags "
                       "given explicitly win over the preset.", choices=SCALES)
    seeds: int = field(8, "Seeds per configuration (seed k: the same initial weights in every configuration).",
                       lower=1)
    first_seed: int = field(0, "First seed id; seed k alone: --first_seed=k --seeds=1.", lower=0)
    group: int = field(-1, "Models vmapped together per device; 0 = all at once; -1 = the engine's default "
                       "for this backend and workload.", lower=-1)
    chunk_steps: int = field(1000, "Steps per compiled chunk (progress, checkpoints and early stop between "
                             "chunks).", lower=1)
    out: str = field("results", "Output directory.")

    @classmethod
    def cpu(cls):
        return cls()

    @classmethod
    def full(cls):
        return cls(scale="full")

    @property
    def seed_ids(self):
        import numpy as np

        return np.arange(self.first_seed, self.first_seed + self.seeds)

    def engine_group(self, default):
        """`group` as the engine takes it: None = vmap all; `default` when the flag is -1."""
        if self.group == -1:
            return default
        return None if self.group == 0 else self.group


def _kind(cls, f: dataclasses.Field):
    """(scalar type, is_tuple) of a field from its annotation."""
    hint = typing.get_type_hints(cls)[f.name]
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0], True
    return hint, False


def _parse_item(kind, text: str):
    if kind is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(text)
    return kind(text)


def _check(name: str, meta: dict, values: Sequence) -> None:
    what = "every item" if len(values) != 1 else "it"
    lo, hi, strict = meta["lower"], meta["upper"], meta["strict"]
    for v in values:
        if meta["choices"] and v not in meta["choices"]:
            raise flags.ValidationError(f"--{name}: {v!r} is not one of {', '.join(map(str, meta['choices']))}")
        if lo is not None and (v <= lo if strict else v < lo):
            raise flags.ValidationError(f"--{name}={v!r}: {what} must be {'>' if strict else '>='} {lo:g}")
        if hi is not None and (v >= hi if strict else v > hi):
            raise flags.ValidationError(f"--{name}={v!r}: {what} must be {'<' if strict else '<='} {hi:g}")


def parse_value(cls, name: str, text):
    """A flag's value (absl's parsed scalar, or the comma string of a tuple field) as the field's type."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    kind, is_tuple = _kind(cls, f)
    if not is_tuple:
        return text
    items = [s.strip() for s in str(text).split(",")]
    if not str(text).strip() and f.metadata.get("empty_ok"):
        return ()
    if not str(text).strip() or any(not s for s in items):
        raise flags.ValidationError(f"--{name} is empty or has an empty item: give a comma list, e.g. 0.1,0.3")
    try:
        return tuple(_parse_item(kind, s) for s in items)
    except ValueError:
        raise flags.ValidationError(f"--{name}={text!r}: every item must be {kind.__name__}") from None


def define_flags(cls, flag_values=FLAGS) -> None:
    """One absl flag per field of `cls`, defaulting to `cls.cpu()`'s value."""
    defaults = cls.cpu()
    for f in dataclasses.fields(cls):
        if f.name in flag_values:
            continue  # e.g. tests that import two experiments: the first definition serves both
        meta, default = f.metadata, getattr(defaults, f.name)
        kind, is_tuple = _kind(cls, f)
        help_text = meta.get("help", f.name)
        if is_tuple:
            if meta.get("choices"):
                help_text += f" Choices: {', '.join(map(str, meta['choices']))}."
            flags.DEFINE_string(f.name, ",".join(map(str, default)), help_text, flag_values=flag_values)
        elif kind is str and meta.get("choices"):
            flags.DEFINE_enum(f.name, default, list(meta["choices"]), help_text, flag_values=flag_values)
        else:
            define = {int: flags.DEFINE_integer, float: flags.DEFINE_float, bool: flags.DEFINE_bool,
                      str: flags.DEFINE_string}[kind]
            define(f.name, default, help_text, flag_values=flag_values)

        def check(value, name=f.name, meta=meta, is_tuple=is_tuple):
            if value is None:
                return True
            values = parse_value(cls, name, value) if is_tuple else (value,)
            _check(name, meta, values)
            return True

        if meta.get("choices") or meta.get("lower") is not None or meta.get("upper") is not None or is_tuple:
            flags.register_validator(f.name, check, flag_values=flag_values)


def from_flags(cls, flag_values=FLAGS):
    """The --scale preset of `cls`, overridden by every flag given on the command line, then
    `cls.validate()` if it has one (cross-field checks; raise flags.ValidationError naming the flags)."""
    scale = flag_values["scale"].value if "scale" in flag_values else "cpu"
    base = cls.full() if scale == "full" else cls.cpu()
    given = {f.name: parse_value(cls, f.name, flag_values[f.name].value)
             for f in dataclasses.fields(cls) if f.name in flag_values and flag_values[f.name].present}
    cfg = dataclasses.replace(base, **given)
    if hasattr(cfg, "validate"):
        cfg.validate()
    return cfg


def as_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)
