"""Loss landscapes of the real nets: filter normalisation as Li et al. define it, a surface point against a
direct evaluation of the loss, the Lanczos eigenvalues against a dense eigendecomposition, the plane's
finite-difference Hessian against a quadratic's, the im2col convolutions against flax's, and a tiny run of
the experiment, in process."""

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import run_experiment

from jaxdl.analysis import hessian, surfaces
from jaxdl.models.mlp import MLP
from jaxdl.training import losses

X = jnp.asarray(np.random.default_rng(0).normal(size=(40, 2)), jnp.float32)
Y = jnp.asarray((np.asarray(X[:, 0]) * np.asarray(X[:, 1]) > 0).astype(np.float32))
MODEL = MLP(features=(5, 1), activation="sigmoid")


def _loss(params, aux, batch):
    z = MODEL.apply({"params": params}, batch[0])[:, 0]
    return losses.select_binary_loss(("l2", "ce"), aux["loss"])(z, batch[1])


def _params(seed):
    return MODEL.init(jax.random.key(seed), X[:1])["params"]


def _stacked(*trees):
    return jax.tree.map(lambda *x: jnp.stack(x), *trees)


def test_each_direction_filter_has_the_norm_of_the_weights_filter_and_biases_do_not_move():
    params = {"dense": {"kernel": jax.random.normal(jax.random.key(1), (3, 4)), "bias": jnp.ones(4)},
              "conv": {"kernel": jax.random.normal(jax.random.key(2), (3, 3, 2, 5)), "scale": jnp.ones(5)},
              "blocks": {"kernel": jax.random.normal(jax.random.key(3), (2, 3, 3, 5, 5)), "bias": jnp.ones((2, 5))}}
    d = surfaces.filter_normalized(jax.random.key(4), params, lambda path: 1 if "blocks" in path else 0)
    for name, axes in (("dense", (0,)), ("conv", (0, 1, 2)), ("blocks", (1, 2, 3))):
        norm = lambda x, axes=axes: np.sqrt(np.sum(np.square(x), axis=axes))  # noqa: E731
        np.testing.assert_allclose(norm(d[name]["kernel"]), norm(params[name]["kernel"]), rtol=1e-5)
    for leaf in (d["dense"]["bias"], d["conv"]["scale"], d["blocks"]["bias"]):
        assert not np.any(leaf)
    # Reproducible from the key, different for another key.
    again = surfaces.filter_normalized(jax.random.key(4), params, lambda path: 1 if "blocks" in path else 0)
    other = surfaces.filter_normalized(jax.random.key(5), params)
    np.testing.assert_array_equal(d["conv"]["kernel"], again["conv"]["kernel"])
    assert not np.allclose(d["conv"]["kernel"], other["conv"]["kernel"])


def _planes():
    thetas = [_params(s) for s in (0, 1)]
    d1 = [surfaces.filter_normalized(jax.random.key(10 + s), t) for s, t in enumerate(thetas)]
    d2 = [surfaces.filter_normalized(jax.random.key(20 + s), t) for s, t in enumerate(thetas)]
    aux = {"loss": jnp.asarray([0, 1], jnp.int32)}
    return thetas, d1, d2, aux, {"theta": _stacked(*thetas), "d1": _stacked(*d1), "d2": _stacked(*d2), "aux": aux}


def test_a_surface_point_equals_the_loss_evaluated_at_those_weights():
    thetas, d1, d2, aux, planes = _planes()
    axis, coords = surfaces.grid_coords(1.0, 3)
    out = surfaces.evaluate_plane(_loss, planes, coords, (X, Y), grad=True)
    assert out["loss"].shape == (2, 9)
    for k in range(2):
        one = {"loss": aux["loss"][k]}
        for i, (a, b) in enumerate(coords):
            w = surfaces.plane(thetas[k], d1[k], d2[k], a, b)
            np.testing.assert_allclose(out["loss"][k, i], _loss(w, one, (X, Y)), rtol=1e-5)
            g = jax.grad(_loss)(w, one, (X, Y))
            np.testing.assert_allclose(out["grad_norm"][k, i], np.sqrt(sum(float(jnp.sum(v**2))
                                                                           for v in jax.tree.leaves(g))), rtol=1e-4)
    assert coords[4].tolist() == [0.0, 0.0] and axis.tolist() == [-1.0, 0.0, 1.0]


def test_lanczos_extreme_eigenvalues_at_a_point_equal_a_dense_eigendecomposition():
    thetas, d1, d2, aux, planes = _planes()
    dim = sum(x.size for x in jax.tree.leaves(thetas[0]))  # 21 parameters: Lanczos with dim steps is exact
    out = surfaces.evaluate_plane(_loss, planes, np.float32([[0.3, -0.2]]), (X, Y), curvature_iters=dim)
    for k in range(2):
        w = surfaces.plane(thetas[k], d1[k], d2[k], 0.3, -0.2)
        values, _ = hessian.hessian_eigenvalues_exact(lambda p, k=k: _loss(p, {"loss": aux["loss"][k]}, (X, Y)), w)
        np.testing.assert_allclose(out["eig_max"][k, 0], values[-1], rtol=1e-3)
        np.testing.assert_allclose(out["eig_min"][k, 0], values[0], atol=1e-3 * abs(float(values[-1])))


def test_plane_curvature_and_eigen_ratio_of_a_quadratic():
    axis = np.linspace(-1, 1, 11)
    b, a = np.meshgrid(axis, axis, indexing="ij")
    hess = np.array([[2.0, 1.5], [1.5, -1.0]])  # indefinite: one eigenvalue of each sign
    f = 0.5 * (hess[0, 0] * a**2 + 2 * hess[0, 1] * a * b + hess[1, 1] * b**2)
    lo, hi = surfaces.plane_curvature(np.stack([f, -f]), axis[1] - axis[0])
    expected = np.linalg.eigvalsh(hess)
    np.testing.assert_allclose(lo[0], expected[0], rtol=1e-9)
    np.testing.assert_allclose(hi[0], expected[1], rtol=1e-9)
    ratio = surfaces.eigen_ratio(lo, hi)
    np.testing.assert_allclose(ratio[0], expected[0] / abs(expected[1]))
    assert np.all(ratio[1] < -1)  # -f: even the largest eigenvalue is negative


class _Convs(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(3, (3, 3))(x))
        return jnp.mean(nn.Conv(2, (3, 3), strides=2, padding="VALID")(x), axis=(1, 2))


def test_matmul_convolutions_equal_flax_and_give_its_hessian_vector_products():
    model = _Convs()
    x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 7, 7, 2)), jnp.float32)
    params = model.init(jax.random.key(0), x)["params"]
    wrapped = surfaces.MatmulConvs(model)
    np.testing.assert_allclose(wrapped.apply({"params": params}, x), model.apply({"params": params}, x), rtol=1e-5,
                               atol=1e-6)

    def loss(model):
        return lambda p: jnp.sum(jnp.tanh(model.apply({"params": p}, x)))

    v = jax.tree.map(jnp.ones_like, params)
    ours, flax_hvp = hessian.hvp(loss(wrapped), params, v), hessian.hvp(loss(model), params, v)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(flax_hvp), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_tiny_run_writes_surfaces_interpolation_and_paired_comparisons(tmp_path):
    out = run_experiment("experiments.net_landscape", f"--out={tmp_path / 'nl'}", "--families=fc", "--seeds=6",
                         "--fc_steps=100", "--fc_points=5", "--ratio_points=3", "--interp_points=5",
                         "--lanczos_iters=4")
    doc = json.loads((out / "summary.json").read_text())
    assert doc["claims"] == {}  # new findings, never registry answers
    assert sorted(doc["figures"]) == ["curves_1d.png", "interpolation.png", "surfaces_fc.png"]
    assert all((out / f).exists() for f in doc["figures"])
    compared = next(t for t in doc["tables"] if t["title"].startswith("Paired"))
    assert {r[1] for r in compared["rows"]} == {"sigmoid: L2 - CE", "ReLU: L2 - CE"}
    per_seed = doc["data"]["fc"]["per_seed"]
    assert np.shape(per_seed["flat_share"]) == (4, 6) and np.shape(per_seed["hessian_nonconvex"]) == (4, 6)
    assert doc["data"]["fc"]["t"][0] == pytest.approx(-0.5) and doc["data"]["fc"]["t"][-1] == pytest.approx(1.5)
