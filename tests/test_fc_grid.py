"""The FC-grid experiment end to end at tiny scale, its bad-input errors, and its statistics helpers."""

import json

import numpy as np
import pytest
from conftest import run_cli

TINY = ["--seeds=3", "--steps=200", "--lr=1,3", "--num_points=40", "--chunk_steps=100"]


def test_cli_end_to_end_writes_every_output(tmp_path):
    out = tmp_path / "fc"
    proc = run_cli("experiments.fc_grid", *TINY, f"--out={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("summary.json", "summary.md", "curves.png", "iterations.png", "boundaries.png"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert [(c["activation"], c["loss"]) for c in summary["cells"]] == [
        ("sigmoid", "l2"), ("sigmoid", "ce"), ("relu", "l2"), ("relu", "ce")]
    for cell in summary["cells"]:
        for row in cell["by_lr"]:
            iters = np.array(row["iterations"])
            assert iters.shape == (3,) and ((iters >= 0) & (iters <= 200)).all()
            assert row["median"] == pytest.approx(np.median(iters))
            assert row["fraction_reached"] == pytest.approx(np.mean(iters < 200), abs=0.34)
    assert len(summary["verdict"]["pairs"]) == 6
    prov = summary["provenance"]
    assert prov["git_commit"] and prov["versions"]["jax"] and prov["device"]["device_count"] == 2
    assert prov["wall_s"] > 0 and summary["flags"]["lr"] == "1,3"
    # No temporary files are left behind by the atomic writes.
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_seed_k_alone_equals_seed_k_in_the_grid(tmp_path):
    args = ["--activation=relu", "--loss=ce", "--steps=300", "--lr=1", "--num_points=40", "--chunk_steps=100"]
    grid = run_cli("experiments.fc_grid", *args, "--seeds=8", f"--out={tmp_path / 'grid'}")
    solo = run_cli("experiments.fc_grid", *args, "--seeds=1", "--first_seed=5", f"--out={tmp_path / 'solo'}")
    assert grid.returncode == 0 and solo.returncode == 0, grid.stderr[-2000:] + solo.stderr[-2000:]
    it_grid = json.loads((tmp_path / "grid" / "summary.json").read_text())["cells"][0]["by_lr"][0]["iterations"]
    it_solo = json.loads((tmp_path / "solo" / "summary.json").read_text())["cells"][0]["by_lr"][0]["iterations"]
    assert it_solo == [it_grid[5]]


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--activation=tanh", "activation"),
        ("--loss=hinge", "loss"),
        ("--seeds=0", "--seeds must be >= 1"),
        ("--lr=", "--lr is empty"),
        ("--lr=0.1,-1", "every item must be > 0"),
        ("--lr=0.1,abc", "every item must be a number"),
        ("--hidden=16,0", "every item must be > 0"),
        ("--dataset=mnist", "dataset"),
        ("--out=/proc/forbidden", "pass a writable directory with --out"),
    ],
)
def test_bad_input_fails_clearly_and_writes_nothing(tmp_path, flag, message):
    out = tmp_path / "never"
    args = [*TINY, f"--out={out}", flag] if not flag.startswith("--out") else [*TINY, flag]
    proc = run_cli("experiments.fc_grid", *args, timeout=60)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


def test_censoring_counts_unreached_and_diverged_as_max():
    from jaxdl.stats import censored_iterations

    # Runs 2 and 3 diverged: after reaching 100% (hit kept) and before (hit stays -1, the member frozen).
    hit = np.array([5, -1, 7, -1])
    np.testing.assert_array_equal(censored_iterations(hit, 100), [5, 100, 7, 100])
