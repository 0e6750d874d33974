"""experiments/landscape/: jax.grad against the closed forms, the summary helpers, and the CLI."""


import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_cli_rejects, run_experiment
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.landscape import neuron as landscape

curve = jax.jit(landscape.curve, static_argnums=0)


@settings(max_examples=25, deadline=None)
@given(z=st.lists(st.floats(-30, 30, width=32), min_size=16, max_size=16), label=st.sampled_from([0.0, 1.0]),
       loss=st.sampled_from(landscape.LOSSES))
def test_autodiff_matches_closed_form_gradients(z, label, loss):
    # dCE/dz = s - y and dL2/dz = 2 (s - y) s (1 - s), s = sigmoid(z). Fixed length: one compile per loss.
    z = jnp.asarray(z, jnp.float32)
    _, grad = curve(loss, z, label)
    s = 1 / (1 + np.exp(-np.asarray(z, np.float64)))
    expected = s - label if loss == "ce" else 2 * (s - label) * s * (1 - s)
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_l2_gradient_peak_and_saturation():
    z = jnp.linspace(-10.0, 10.0, 20001)
    _, l2_grad = curve("l2", z, 1.0)
    peak = int(np.argmax(np.abs(l2_grad)))
    assert abs(l2_grad[peak]) == pytest.approx(8 / 27, rel=1e-5)
    assert float(z[peak]) == pytest.approx(-np.log(2), abs=1e-3)
    _, ce_grad = curve("ce", z, 1.0)
    assert abs(l2_grad[0]) < 1e-4 and abs(ce_grad[0]) == pytest.approx(1.0, abs=1e-4)


def test_steps_to_progress_and_valley_floor():
    values = np.array([[1.0, 0.5, 0.2, 0.1], [1.0, 0.99, 0.98, 0.97]])
    np.testing.assert_array_equal(landscape.steps_to_progress(values, floor=0.0, fraction=0.75), [2, -1])
    w = b = np.linspace(-5, 5, 101)
    grid = (b[:, None] - (-1.5 * w[None, :] + 0.5)) ** 2  # valley floor b = -1.5 w + 0.5
    slope, intercept, columns = landscape.valley_floor(grid, w, b, ceiling=np.inf)
    assert slope == pytest.approx(-1.5, abs=0.02) and intercept == pytest.approx(0.5, abs=0.1)
    assert columns < 101  # columns whose floor leaves the grid are not used


def test_minimum_and_batched_descent():
    x, y = jnp.asarray([0.5, 1.0, 1.5, 2.0]), jnp.asarray([0.0, 1.0, 0.0, 1.0])
    p, loss, eig = jax.jit(landscape.minimum, static_argnums=0)("ce", jnp.asarray([0.0, 0.0]), x, y)
    grad = (1 / (1 + np.exp(-(p[0] * x + p[1]))) - y)
    np.testing.assert_allclose([np.mean(grad * x), np.mean(grad)], 0, atol=1e-5)
    assert np.all(eig > 0)
    starts = jnp.asarray([[-8.0, 0.0], [3.0, 3.0]])
    descend = jax.jit(landscape.descend, static_argnums=(0, 5))
    path, values = descend("ce", starts, x, y, 1.0, 30)
    assert path.shape == (2, 31, 2) and values.shape == (2, 31)
    # Each start's path is the unbatched one.
    solo_path, _ = descend("ce", starts[1:], x, y, 1.0, 30)
    np.testing.assert_allclose(path[1], solo_path[0], rtol=1e-6)
    assert np.all(np.diff(values, axis=1) <= 1e-6)


def test_derivative_sign_changes_count_extrema_and_inflections():
    # dCE/dz = s - 1 is monotone with one inflection (z = 0); dL2/dz = -2 s (1 - s)^2 has one minimum
    # (z = -ln 2) and two inflection points.
    z = jnp.linspace(-10.0, 10.0, 4001)
    counts = {}
    for loss in landscape.LOSSES:
        d = np.asarray(jax.jit(landscape.derivatives, static_argnums=(0, 2))(loss, z, 1.0))
        counts[loss] = landscape.extrema_and_inflections(np.asarray(z), d, 1e-4)
    assert len(counts["ce"][0]) == 0 and counts["ce"][1] == pytest.approx([0.0], abs=0.01)
    assert counts["l2"][0] == pytest.approx([-np.log(2)], abs=0.01)
    assert len(counts["l2"][1]) == 2
    np.testing.assert_array_equal(landscape.sign_changes(np.arange(4.0), np.array([1.0, 1e-9, -1e-9, -1.0]), 1e-6),
                                  [1.5])


def test_cli_tiny_run(tmp_path):
    out = tmp_path / "landscape"
    run_experiment("experiments.landscape", f"--out={out}", "--grid_points=31", "--z_points=101", "--gd_steps=200",
                   "--seeds=8")
    for name in ("curves.png", "surfaces.png", "paths.png", "summary.json", "summary.md"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["flags"]["gd_steps"] == 200
    from jaxdl.reporting import claims
    assert set(summary["claims"]) == {e.id for e in claims.for_experiment("landscape")}
    assert summary["claims"]["ce_grad_offset_sigmoid"]["verdict"] == "supported — exact"
    assert len(summary["data"]["far_steps"]["l2"]) == 8
    assert "Seed claims vs our measurement" in (out / "summary.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--y=0,2,1,0,1,1"], "--y=0,2,1,0,1,1: 2.0 is not one of 0.0, 1.0"),
    (["--x=1,2", "--y=0"], "--x and --y must have the same number of items"),
    (["--starts=1:2,3"], "--starts=1:2,3: every item must be a w:b pair"),
    (["--progress=1"], "--progress=1.0: must be > 0 and < 1"),
])
def test_cli_bad_flag_fails_before_writing(tmp_path, args, message):
    assert_cli_rejects("experiments.landscape", tmp_path / "never", *args, message=message)
