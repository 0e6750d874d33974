"""An experiment's configuration: one dataclass, its `cpu()`/`full()` presets, and absl flags made from it.

    @dataclasses.dataclass(frozen=True)
    class Config(config.Common):
        lr: tuple[float, ...] = config.field((0.1, 1.0), "Learning rates to sweep.", lower=0, strict=True)
        steps: int = config.field(2000, "Maximum iterations.", lower=1)

        @classmethod
        def full(cls):                      # the accelerator schedule (--scale=full)
            return cls(seeds=1024)

    config.define_flags(Config)             # by the entry point, when it runs: --help lists every field
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
    tensorboard_dir: str = field("", "Also write every model's training scalars for TensorBoard here, as they are "
                                 "recorded: one run per model, <dir>/<engine call>/model_NNNN (needs tensorboardX: "
                                 "pip install -e '.[tensorboard]'). Default: none.")

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


def _bounds_text(meta: dict) -> str:
    lo, hi, strict = meta["lower"], meta["upper"], meta["strict"]
    parts = []
    if lo is not None:
        parts.append(f"{'>' if strict else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if strict else '<='} {hi:g}")
    return " and ".join(parts)


def _check(name: str, meta: dict, values: Sequence) -> None:
    """Raises flags.ValidationError with the fix; absl puts 'flag --name=value: ' before it."""
    lo, hi, strict = meta["lower"], meta["upper"], meta["strict"]
    for v in values:
        if meta["choices"] and v not in meta["choices"]:
            raise flags.ValidationError(f"{v!r} is not one of {', '.join(map(str, meta['choices']))}")
        low = lo is not None and (v <= lo if strict else v < lo)
        high = hi is not None and (v >= hi if strict else v > hi)
        if low or high:
            which = f"every item must be {_bounds_text(meta)}, not {v!r}" if len(values) > 1 else \
                f"must be {_bounds_text(meta)}"
            raise flags.ValidationError(which)


def parse_value(cls, name: str, text):
    """A flag's value (absl's parsed scalar, or the list of a tuple field) as the field's type."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    kind, is_tuple = _kind(cls, f)
    if not is_tuple:
        return text
    items = [str(s).strip() for s in (text if isinstance(text, (list, tuple)) else str(text).split(","))]
    if not items and f.metadata.get("empty_ok"):
        return ()
    if not items or any(not s for s in items):
        raise flags.ValidationError("it is empty or has an empty item: give a comma list, e.g. 0.1,0.3")
    try:
        return tuple(_parse_item(kind, s) for s in items)
    except ValueError:
        raise flags.ValidationError(f"every item must be {'a number' if kind is float else kind.__name__}, "
                                    f"e.g. --{name}={','.join(map(str, getattr(cls.cpu(), name)))}") from None


def _help(meta: dict, kind, is_tuple: bool) -> str:
    text = meta.get("help", "")
    extra = []
    if meta.get("choices") and is_tuple:
        extra.append(f"choices: {', '.join(map(str, meta['choices']))}")
    if meta.get("lower") is not None or meta.get("upper") is not None:
        extra.append(("every item " if is_tuple else "") + _bounds_text(meta))
    return text + (f" [{'; '.join(extra)}]" if extra else "")


def define_flags(cls, flag_values=FLAGS, key_module: str | None = None) -> None:
    """One absl flag per field of `cls`, defaulting to `cls.cpu()`'s value; tuples are comma lists
    (DEFINE_list), bounds and choices are shown in `--help` and checked when the flags are parsed.
    `key_module` (an entry point passes sys.argv[0]) makes them that module's key flags, which is what
    `--help` lists."""
    defaults = cls.cpu()
    for f in dataclasses.fields(cls):
        if f.name not in flag_values:
            _define_one(cls, f, getattr(defaults, f.name), flag_values)
        if key_module:
            flag_values.register_key_flag_for_module(key_module, flag_values[f.name])


def _define_one(cls, f: dataclasses.Field, default, flag_values) -> None:
    meta = f.metadata
    kind, is_tuple = _kind(cls, f)
    help_text = _help(meta, kind, is_tuple)
    if is_tuple:
        flags.DEFINE(_CheckedList(lambda items: _check(f.name, meta, parse_value(cls, f.name, items))), f.name,
                     [str(v) for v in default], help_text, flag_values, flags.CsvListSerializer(","))
        return
    if kind is str and meta.get("choices"):
        flags.DEFINE_enum(f.name, default, list(meta["choices"]), help_text, flag_values=flag_values)
    elif kind is int:
        flags.DEFINE(_WholeNumber(), f.name, default, help_text, flag_values, flags.ArgumentSerializer())
    else:
        define = {float: flags.DEFINE_float, bool: flags.DEFINE_bool, str: flags.DEFINE_string}[kind]
        define(f.name, default, help_text, flag_values=flag_values)

    def check(value):
        if value is not None:
            _check(f.name, meta, (value,))
        return True

    if meta.get("choices") or meta.get("lower") is not None or meta.get("upper") is not None:
        flags.register_validator(f.name, check, flag_values=flag_values)


class _WholeNumber(flags.IntegerParser):
    """An integer flag that also takes the way people write step counts (1e4, 10_000) when the value is a
    whole number, and otherwise says what it needs instead of Python's int() message."""

    def convert(self, argument):
        try:
            return super().convert(argument)
        except ValueError:
            try:
                value = float(str(argument).replace("_", ""))
            except ValueError:
                value = None
            if value is None or not value.is_integer():
                raise ValueError(f"{argument!r} is not a whole number (e.g. 1000 or 1e3)") from None
            return int(value)


class _CheckedList(flags.ListParser):
    """A comma list checked item by item as it is parsed, so that the error quotes the text the user typed
    (`flag --lr=0.1,-1: every item must be > 0, not -1.0`), not the parsed list."""

    def __init__(self, check):
        super().__init__()
        self._check = check

    def parse(self, argument):
        items = super().parse(argument)
        try:
            self._check(items)
        except flags.ValidationError as err:
            raise ValueError(str(err)) from None  # absl prefixes 'flag --name=argument: '
        return items


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
