"""The experiment shape's pieces: config flags from a dataclass, the summary writer, the model grid."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from absl import flags

from jaxdl.experiment import config
from jaxdl.reporting import summary
from jaxdl.training import grid


@dataclasses.dataclass(frozen=True)
class Toy(config.Common):
    lr: tuple[float, ...] = config.field((0.1, 1.0), "Learning rates.", lower=0, strict=True)
    steps: int = config.field(100, "Steps.", lower=1)
    loss: str = config.field("ce", "Loss.", choices=("ce", "l2"))
    out: str = config.field("results/toy", "Output directory.")

    @classmethod
    def full(cls):
        return cls(scale="full", seeds=1024)


def parse(*argv):
    fv = flags.FlagValues()
    config.define_flags(Toy, flag_values=fv)
    fv(["prog", *argv])
    return config.from_flags(Toy, flag_values=fv)


def test_flags_default_to_the_cpu_preset_and_explicit_flags_win_over_full():
    assert parse() == Toy()
    cfg = parse("--scale=full", "--steps=7", "--lr=0.5, 2")
    assert (cfg.seeds, cfg.steps, cfg.lr, cfg.out) == (1024, 7, (0.5, 2.0), "results/toy")
    assert list(cfg.seed_ids) == list(range(1024))
    assert config.as_dict(cfg)["lr"] == (0.5, 2.0)


@pytest.mark.parametrize("argv, message", [
    ("--lr=0,1", "every item must be > 0, not 0.0"), ("--lr=0.1,", "empty item"),
    ("--lr=a", "every item must be a number, e.g. --lr=0.1,1.0"),
    ("--steps=0", "^flag --steps=0: must be >= 1$"), ("--loss=mse", "one of <ce|l2>"), ("--seeds=0", "must be >= 1"),
    ("--steps=2.5", "^flag --steps=2.5: '2.5' is not a whole number \\(e.g. 1000 or 1e3\\)$"),
    ("--steps=1e3x", "is not a whole number"),
])
def test_bad_values_are_refused_naming_the_flag(argv, message):
    with pytest.raises(flags.IllegalFlagValueError, match=message):
        parse(argv)


def test_integer_flags_take_whole_numbers_written_as_people_write_them():
    assert parse("--steps=1e3").steps == 1000 and parse("--steps=10_000").steps == 10000
    assert parse("--steps=42").steps == 42


def test_engine_group_maps_the_flag():
    assert Toy(group=-1).engine_group(16) == 16 and Toy(group=0).engine_group(16) is None
    assert Toy(group=4).engine_group(16) == 4


def test_grid_orders_models_axis_major_with_seeds_fastest_and_same_key_per_seed():
    g = grid.Grid([3, 4], lr=[0.1, 1.0], act=[0, 1, 2])
    assert g.shape == (2, 3, 2) and g.size == 12
    np.testing.assert_array_equal(g.hparams["lr"], np.repeat([0.1, 0.1, 0.1, 1.0, 1.0, 1.0], 2).astype(np.float32))
    np.testing.assert_array_equal(g.hparams["act"], np.tile(np.repeat([0, 1, 2], 2), 2))
    keys = np.asarray(g.keys)
    np.testing.assert_array_equal(keys[g.index(lr=1.0, act=2)], keys[:2])  # seed k: one key everywhere
    assert g.index(lr=1.0, act=2) == slice(10, 12)
    assert g.reshape(np.arange(12))[1, 2].tolist() == [10, 11]


def test_summary_is_written_once_as_json_and_markdown(tmp_path):
    s = summary.Summary(
        experiment="fc_grid", title="T", setup="Setup text.",
        tables=[summary.Table("Tab", ["a", "b"], [[1, 0.123456], ["x|y", None]], formats=["", ".2f"])],
        claims=[summary.Claim("fc_ordering", "ours 1", "supported", {"n": 8})],
        notes=["A note."], figures=[summary.Figure("f.png", Path.write_text, ("png",))])
    text = summary.write(s, tmp_path, {"seeds": 8}, wall_s=1.5, compile_s=0.5)
    assert "| 1 | 0.12 |" in text and "| x/y | n/a |" in text and "A note." in text and "![f.png](f.png)" in text
    assert "| `fc_ordering` | 000 §2 |" in text and "**supported**" in text
    assert "Wall time 1.5 s (compile 0.5 s)" in text
    assert (tmp_path / "f.png").read_text() == "png" and (tmp_path / "summary.md").read_text() == text
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["claims"] == {"fc_ordering": {"ours": "ours 1", "verdict": "supported", "evidence": {"n": 8}}}
    assert data["provenance"]["flags"] == {"seeds": 8} and data["provenance"]["wall_s"] == 1.5


def test_claims_must_be_registered_and_use_a_known_verdict():
    with pytest.raises(KeyError, match="not in the registry"):
        summary.Claim("made_up", "x", "supported")
    with pytest.raises(ValueError, match="not one of"):
        summary.Claim("fc_ordering", "x", "likely")
