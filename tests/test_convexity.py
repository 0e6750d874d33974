"""Convexity probes (experiments.convexity.probes) on functions whose answer is known, and experiments/convexity/
end to end: witnesses that re-check, and a bad flag that fails before anything is written."""


import json
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_cli_rejects, run_experiment
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.convexity import probes as convexity

DIM = 6
RTOL = 1e-9


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def quadratic(a, x):
    return 0.5 * x @ a @ x + jnp.sum(x)


@partial(jax.jit, static_argnames="method")
def probe_quadratic(a, points, chord_a, chord_b, method):
    f = partial(quadratic, a)
    return (convexity.eigen_probe(f, points, method=method, key=jax.random.key(0), num_iters=DIM),
            convexity.midpoint_probe(f, chord_a, chord_b))


def random_chords(seed, n=64):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, DIM)) * rng.uniform(0.01, 10, size=(n, 1))
    return jnp.asarray(points), jnp.asarray(points + rng.normal(size=(n, DIM)))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rank=st.integers(0, DIM), method=st.sampled_from(convexity.EIGEN_METHODS))
def test_psd_quadratic_is_never_flagged(seed, rank, method):
    # PSD, possibly singular: zero eigenvalues must read as zero, not as negative rounding.
    b = np.random.default_rng(seed).normal(size=(DIM, rank))
    a, b_end = random_chords(seed)
    eig, chords = probe_quadratic(jnp.asarray(b @ b.T), a, a, b_end, method)
    assert not np.any(eig.min_value < -convexity.eigen_tolerance(eig, RTOL))
    assert not np.any(chords.gap > convexity.chord_tolerance(chords, RTOL, 1e-14))


def test_indefinite_quadratic_is_flagged_with_a_witness_that_rechecks():
    a = np.diag([2.0, -1.0, 0.5, -2.0, 0.0, 1.0])
    points, b_end = random_chords(1)
    eig, chords = probe_quadratic(jnp.asarray(a), points, points, b_end, "exact")
    assert bool((eig.min_value < -convexity.eigen_tolerance(eig, RTOL)).all())
    np.testing.assert_allclose(eig.min_value, -2.0, rtol=1e-12)
    # Witness direction, recomputed by hand: v^T A v = -2.
    v = np.asarray(eig.min_vector[0])
    assert v @ a @ v == pytest.approx(-2.0, rel=1e-12)
    # Chord witness, re-evaluated in numpy: for a quadratic the gap is -(b-a)^T A (b-a) / 8 exactly.
    j = int(np.argmax(chords.gap))
    assert chords.gap[j] > convexity.chord_tolerance(chords, RTOL, 1e-14)[j]
    pa, pb = np.asarray(points[j]), np.asarray(b_end[j])
    f = lambda x: 0.5 * x @ a @ x + x.sum()
    gap = f((pa + pb) / 2) - (f(pa) + f(pb)) / 2
    assert gap == pytest.approx(-(pb - pa) @ a @ (pb - pa) / 8, rel=1e-9)
    assert gap == pytest.approx(float(chords.gap[j]), rel=1e-9)


def test_lanczos_eigen_probe_finds_a_small_negative_eigenvalue():
    a = np.diag([3.0, 2.0, 1.0, 0.5, 0.25, -1e-3])
    points, b_end = random_chords(2)
    eig, _ = probe_quadratic(jnp.asarray(a), points, points, b_end, "lanczos")
    np.testing.assert_allclose(eig.min_value, -1e-3, rtol=1e-8)
    np.testing.assert_allclose(eig.rayleigh, eig.min_value, rtol=1e-8)


def test_verdict_lines():
    assert convexity.verdict(10, 0, 20, 0, exact=True).startswith("no violation found in 10 exact Hessian")
    assert "Lanczos" in convexity.verdict(10, 0, 20, 0, exact=False)
    assert convexity.verdict(10, 3, 20, 0, exact=True).startswith("not convex (3/10 points")
    with pytest.raises(ValueError, match="exact, lanczos"):
        convexity.eigen_probe(jnp.sum, jnp.zeros((1, 2)), method="dense")


def test_cli_logistic_verdicts_on_real_data_and_witness_rechecks(tmp_path):
    # The false-verdict guard: at the experiment's own tolerances logistic + ce (and least squares) must
    # come out convex on real data, logistic + mse must not, and its witness must re-check from the file.
    out = tmp_path / "convexity"
    run_experiment("experiments.convexity", f"--out={out}", "--model=logistic", "--points=16", "--chords=256",
                   "--seeds=4", "--gd_steps=300")
    for name in ("summary.json", "summary.md", "min_eigenvalues.png", "chords.png", "gd_spread.png"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["flags"]["model"] == "logistic"
    convex = {c["loss"]: c["convex_by_probes"] for c in summary["data"]["cells"]}
    assert convex == {"ce": True, "mse": False, "mse_logit": True}
    assert {c["hessian_method"] for c in summary["data"]["cells"]} == {"exact"}
    assert summary["claims"]["ce_convex_logistic"]["verdict"] == "supported — exact"
    assert summary["claims"]["mse_nonconvex_from_squaring"]["verdict"] == "contradicted — exact"
    assert "linear_net_cannot_classify" not in summary["claims"]  # needs --model=all
    [witness] = summary["data"]["witnesses"]
    assert (witness["model"], witness["loss"]) == ("logistic", "mse")
    again = convexity.recheck(witness)
    assert again["gap"] == pytest.approx(witness["chord"]["gap"], rel=1e-9)
    assert again["gap"] > witness["chord"]["tol"]
    assert again["rayleigh_quotient"] == pytest.approx(witness["eigen"]["min_eigenvalue"], rel=1e-6)
    assert again["rayleigh_quotient"] < -witness["eigen"]["tol"]
    assert again["second_difference"] < 0


def test_linear_network_collapses_to_one_affine_map():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(20, 5)))
    point = np.random.default_rng(1).normal(size=5 * 3 + 3 + 3 * 3 + 3 + 3 + 1)
    assert convexity.collapse_error("linear2", x, 3, point) < 1e-12


def test_gd_reaches_the_exact_minimum_of_the_convex_losses():
    x, y = convexity.load_dataset("breast_cancer")
    keys = jax.random.split(jax.random.key(0), 3)
    out = convexity.gd_final_losses(convexity.whitened_components(x, 3), y, keys, 1000)
    for loss in ("ce", "mse_logit"):
        final = np.asarray(out["final"][convexity.LOSS_NAMES.index(loss)])
        np.testing.assert_allclose(final, float(out["minimum"][loss]), rtol=1e-3)
        assert np.all(final >= float(out["minimum"][loss]) - 1e-12)  # nothing beats the exact minimum


def test_cli_bad_flag_fails_before_writing(tmp_path):
    assert_cli_rejects("experiments.convexity", tmp_path / "never", "--loss=hinge",
                       message="--loss=hinge: value should be one of <all|ce|mse|mse_logit>")
