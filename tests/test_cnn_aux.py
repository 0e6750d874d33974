"""The auxiliary-regression CNN experiment: heads, loss composition, targets, spikes, CLI end to end."""

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_cli_rejects, run_experiment

from jaxdl.analysis import curves, stats
from jaxdl.models.cnn import SmallCNN
from jaxdl.models.scan_conv import ScanFriendlyConvs
from jaxdl.reporting import claims
from jaxdl.tasks import aux_head
from jaxdl.training import losses

MEAN, STD = np.float32([0.13]), np.float32([0.3])


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)), jnp.asarray(rng.integers(0, 10, n))


@pytest.mark.parametrize("target", list(aux_head.TARGETS))
def test_heads_have_the_target_shapes(target):
    images, labels = batch()
    model = SmallCNN(num_classes=10, regression_outputs=aux_head.TARGET_OUTPUTS[target])
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)), train=False)
    logits, regression = model.apply(params, images.astype(jnp.float32), train=False)
    assert logits.shape == (8, 10)
    assert regression.shape == aux_head.TARGETS[target](images, labels).shape == (8, aux_head.TARGET_OUTPUTS[target])


def test_lambda_zero_gives_exactly_the_ce_only_gradients():
    images, labels = batch()
    with_head = ScanFriendlyConvs(SmallCNN(num_classes=10, regression_outputs=2))
    without = ScanFriendlyConvs(SmallCNN(num_classes=10))  # the same convolution code as with_head
    params = with_head.init(jax.random.PRNGKey(3), jnp.zeros((1, 28, 28, 1)), train=False)["params"]
    trunk = {k: v for k, v in params.items() if k != "regression"}
    objective = aux_head.make_objective("centroid", np.float32([0.5, 0.5]), np.float32([0.1, 0.1]))

    def grads(aux_weight):
        return jax.jit(jax.value_and_grad(lambda p: aux_head.total_loss(with_head, p, images, labels, objective,
                                                                       aux_weight, MEAN, STD)))(params)

    def ce_only(p):
        logits = without.apply({"params": p}, (images / 255.0 - MEAN) / STD, train=False)
        return losses.softmax_ce(logits, labels)

    ce, ce_grads = jax.jit(jax.value_and_grad(ce_only))(trunk)
    loss0, g0 = grads(0.0)
    assert loss0 == ce
    jax.tree.map(np.testing.assert_array_equal, {k: v for k, v in g0.items() if k != "regression"}, ce_grads)
    jax.tree.map(lambda g: np.testing.assert_array_equal(g, 0.0), g0["regression"])
    # λ > 0: the recorded value is still the CE, the gradient that of CE + λ·L2.
    loss1, g1 = grads(0.5)
    assert loss1 == ce

    def explicit(p):
        logits, regression = with_head.apply({"params": p}, (images / 255.0 - MEAN) / STD, train=False)
        z = (aux_head.centroid(images, labels) - 0.5) / 0.1
        return losses.softmax_ce(logits, labels) + 0.5 * jnp.mean((regression - z) ** 2)

    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), g1,
                 jax.jit(jax.grad(explicit))(params))
    assert np.abs(g1["regression"]["kernel"]).max() > 0 and not np.array_equal(g1["Conv_0"]["kernel"],
                                                                                 g0["Conv_0"]["kernel"])


@pytest.mark.parametrize("padding, strides, shape", [("SAME", 1, (2, 9, 7, 3)), ("VALID", 1, (2, 9, 7, 3)),
                                                     ((2, 0), 1, (1, 6, 6, 2)), ("SAME", 2, (2, 9, 7, 3))])
def test_scan_friendly_conv_matches_flax_values_and_gradients(padding, strides, shape):
    conv = nn.Conv(4, (3, 2), strides=strides, padding=padding)
    fast = ScanFriendlyConvs(conv)
    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    params = conv.init(jax.random.PRNGKey(1), x)

    def loss(model, p, x):
        return jnp.sum(jnp.sin(model.apply(p, x)))

    for model in (conv, fast):
        assert model.apply(params, x).shape == conv.apply(params, x).shape
    np.testing.assert_allclose(fast.apply(params, x), conv.apply(params, x), rtol=1e-5, atol=1e-5)
    g_ref = jax.grad(loss, argnums=(1, 2))(conv, params, x)
    g_fast = jax.grad(loss, argnums=(1, 2))(fast, params, x)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), g_fast, g_ref)


def test_targets_on_hand_made_images():
    images = np.zeros((4, 4, 6, 1), np.uint8)  # H=4, W=6
    images[0, 1, 4] = 255  # one pixel at row 1, column 4
    images[1, 0, 0] = images[1, 3, 5] = 100  # two equal pixels in opposite corners
    images[2, 2, 1], images[2, 2, 3] = 255, 85  # weights 3:1 along row 2
    # images[3] is blank
    labels = np.array([0, 3, 7, 9])
    np.testing.assert_allclose(aux_head.centroid(images, labels),
                               [[4.5 / 6, 1.5 / 4], [0.5, 0.5], [(3 * 1.5 + 3.5) / 4 / 6, 2.5 / 4], [0.5, 0.5]],
                               rtol=1e-6)
    np.testing.assert_allclose(aux_head.ink(images, labels)[:, 0],
                               [1 / 24, 200 / 255 / 24, 340 / 255 / 24, 0], rtol=1e-6)
    np.testing.assert_array_equal(aux_head.digit_value(images, labels)[:, 0], [0, 3, 7, 9])
    # Channels count as their mean: a colour image with ink in one channel.
    rgb = np.zeros((1, 2, 2, 3), np.uint8)
    rgb[0, 1, 1, 0] = 255
    np.testing.assert_allclose(aux_head.centroid(rgb, labels[:1]), [[0.75, 0.75]])
    np.testing.assert_allclose(aux_head.ink(rgb, labels[:1]), [[1 / 12]])


def test_spikes_first_hits_and_censoring():
    curves_ = np.array([
        [3.0, 2.0, 1.0, 0.5, 0.4, 0.3],  # monotone: no spike
        [3.0, 1.0, 2.0, 0.9, 2.0, 0.8],  # up twice (1 -> 2 > 1.5, 0.9 -> 2 > 1.5 * 0.9)
        [3.0, 1.0, 1.6, 1.7, 0.9, np.nan],  # one excursion of two points; NaN skipped
        [1.0, 1.4, 1.49, 1.2, 1.1, 1.0],  # never above 1.5 x the running minimum
    ])
    np.testing.assert_array_equal(curves.count_spikes(curves_, 1.5), [0, 2, 1, 0])
    acc = np.array([[0.1, 0.5, 0.97, 0.9], [0.1, 0.2, 0.3, 0.4], [0.1, 0.5, 0.9, 0.96]])
    hit = curves.first_hit_step(np.array([0, 10, 20, 30]), acc, 0.95)
    np.testing.assert_array_equal(hit, [20, -1, 30])
    # Reached only at the last evaluation is not censored: the censored value lies beyond every step.
    np.testing.assert_array_equal(stats.censored_iterations(hit, 40), [20, 40, 30])
    np.testing.assert_allclose(curves.moving_median(np.array([[1.0, 5.0, 3.0, 0.0]]), 2), [[1, 3, 4, 1.5]])


TINY = ["--dataset=digits", "--seeds=2", "--aux_weight=0,1", "--steps=40", "--record_every=5", "--eval_every=10",
        "--batch_size=32", "--chunk_steps=20", "--target_acc=0.3", "--validation_fraction=0.2"]


def test_cli_end_to_end_writes_every_output(tmp_path):
    out = tmp_path / "aux"
    run_experiment("experiments.cnn_aux", *TINY, f"--out={out}")
    for name in ("summary.json", "summary.md", "curves.png"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    per_seed = summary["data"]["per_seed"]
    assert set(per_seed["test_acc"]) == {"0", "1"}
    for lam in ("0", "1"):
        assert len(per_seed["test_acc"][lam]) == 2 and all(0 <= a <= 1 for a in per_seed["test_acc"][lam])
        # Reached by the last evaluation (after step 40) or censored at 40 + eval_every.
        assert all(0 <= it <= 40 or it == 50 for it in per_seed["iterations_to_target"][lam])
    # Evaluations before the updates at 0, 10, 20, 30, then the task's own of the final state, at 40.
    assert summary["data"]["eval_steps"] == [0, 10, 20, 30, 40]
    assert all(np.isfinite(per_seed["final_heldout_ce"][lam]).all() for lam in ("0", "1"))
    # The head is never trained at λ = 0: its test MSE stays far above the trained head's.
    assert np.median(per_seed["head_test_mse"]["0"]) > np.median(per_seed["head_test_mse"]["1"])
    assert set(summary["claims"]) == {e.id for e in claims.for_experiment("cnn_aux")}
    for c in summary["claims"].values():  # 2 seeds: the sign test can never decide
        assert c["verdict"].startswith("not resolved"), c
    prov = summary["provenance"]
    assert prov["git_commit"] and prov["device"]["device_count"] == 2 and prov["flags"]["target"] == "digit_value"
    assert prov["flags"]["aux_weight"] == [0.0, 1.0]
    assert "Seed claims vs our measurement" in (out / "summary.md").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("flag, message", [
    ("--target=area", "--target"),
    ("--aux_weight=0,-0.1", "every item must be >= 0"),
    ("--aux_weight=0.1,1", "must include 0"),
    ("--eval_every=7", "multiples of --record_every"),
])
def test_bad_flags_fail_clearly_and_write_nothing(tmp_path, flag, message):
    assert_cli_rejects("experiments.cnn_aux", tmp_path / "never", *TINY, flag, message=message)
