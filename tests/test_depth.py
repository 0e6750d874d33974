"""Gradient flow with depth: the recorded per-layer and per-block gradient norms against a direct jax.grad,
the shortcut switch against a net built without shortcuts, the measures and verdicts on constructed data,
and a tiny run of the experiment, in process."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import depth as exp
from experiments.depth import tasks as depth
from jaxdl.data import batching
from jaxdl.experiment.config import as_dict
from jaxdl.models.cifar_resnet import CifarResNet, blocks_for, depth_of, option_a
from jaxdl.reporting import summary
from jaxdl.training import engine
from jaxdl.training.losses import softmax_ce

MEAN, STD = np.float32([0.3]), np.float32([0.4])


def _images(n=12, size=8, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8)), jnp.asarray(np.arange(n) % 10)


def _first_batch(key, images, labels, batch_size):
    """The batch the tasks train on at step 0 (epoch 0 of the model's permutation)."""
    perm = batching.epoch_permutation(jax.random.fold_in(key, 1), 0, images.shape[0])
    x, y = batching.get_batch(images, labels, perm, 0, batch_size)
    return batching.normalize(x, MEAN, STD), y


def _norm(tree) -> float:
    return float(np.sqrt(sum(float(jnp.sum(g**2)) for g in jax.tree.leaves(tree))))


@pytest.mark.parametrize("activation", [0, 2])  # sigmoid, relu
def test_mlp_layer_gradient_norms_and_flat_units_equal_a_direct_grad(activation):
    images, labels = _images()
    task = depth.mlp_task(depth=3, width=5, activations=("sigmoid", "tanh", "relu"), inits=("glorot_uniform",
                          "he_normal"), input_shape=(8, 8, 1), num_classes=10, num_train=12, batch_size=6,
                          mean=MEAN, std=STD)
    key = engine.seed_keys([4])[0]
    state = jax.jit(task.init)(key, {"lr": jnp.float32(0.1), "activation": jnp.int32(activation),
                                     "init": jnp.int32(1)})
    _, metrics = jax.jit(task.step)(state, {"train": (images, labels)}, jnp.int32(0))

    model = depth.mlp_model(3, 5, ("sigmoid", "tanh", "relu"), 10)
    x, y = _first_batch(key, images, labels, 6)
    loss = lambda p: softmax_ce(model.apply({"params": p}, x, choice=activation), y)
    grads = jax.jit(jax.grad(loss))(state["params"])
    expected = [_norm(grads[f"Dense_{i}"]) for i in range(4)]
    np.testing.assert_allclose(metrics["grad_norm"], expected, rtol=1e-5)

    # Flat units in closed form: ReLU z <= 0; sigmoid'(z) = s(1 - s) < 0.01 <=> |z| > 4.5951.
    h, flat = x.reshape(6, -1), []
    for i in range(3):
        z = np.asarray(h @ state["params"][f"Dense_{i}"]["kernel"] + state["params"][f"Dense_{i}"]["bias"])
        flat.append(z <= 0 if activation == 2 else np.abs(z) > 4.5951)
        h = jax.nn.relu(z) if activation == 2 else jax.nn.sigmoid(z)
    np.testing.assert_allclose(metrics["flat"], [f.mean() for f in flat], atol=1e-6)
    np.testing.assert_allclose(metrics["dead"], [f.all(0).mean() for f in flat], atol=1e-6)


def test_shared_init_gives_every_activation_the_same_weights_and_he_normal_its_variance():
    model = depth.mlp_model(2, 64, ("sigmoid", "relu"), 10)
    key = jax.random.key(7)
    glorot = depth.init_mlp_params(model, key, 64, ("glorot_uniform", "he_normal"), 0)
    he = depth.init_mlp_params(model, key, 64, ("glorot_uniform", "he_normal"), jnp.int32(1))
    bound = np.sqrt(6 / (64 + 64))  # Glorot uniform on a 64x64 kernel: U(-b, b)
    assert np.abs(glorot["Dense_1"]["kernel"]).max() <= bound
    assert np.std(he["Dense_1"]["kernel"]) == pytest.approx(np.sqrt(2 / 64), rel=0.05)
    assert not np.allclose(glorot["Dense_0"]["kernel"], glorot["Dense_1"]["kernel"])
    # Seed k's weights depend on the scheme only, not on the activation the model uses.
    task = depth.mlp_task(depth=2, width=64, activations=("sigmoid", "relu"), inits=("glorot_uniform", "he_normal"),
                          input_shape=(8, 8, 1), num_classes=10, num_train=12, batch_size=6, mean=MEAN, std=STD)
    states = [jax.jit(task.init)(key, {"lr": 0.1, "activation": a, "init": 0}) for a in (0, 1)]
    jax.tree.map(np.testing.assert_array_equal, states[0]["params"], states[1]["params"])


def test_vmapped_init_equals_each_model_initialised_alone():
    """The tasks draw their weights one model at a time under the engine's vmap (depth.one_at_a_time_under_vmap):
    model k of a batch gets exactly the weights it gets alone."""
    kw = dict(input_shape=(8, 8, 1), num_classes=10, num_train=12, batch_size=6, mean=MEAN, std=STD)
    tasks = [depth.resnet_task(blocks_per_stage=2, widths=(2, 3, 4), norm=True, kernel_init="he_normal", **kw),
             depth.mlp_task(depth=3, width=5, activations=("sigmoid", "relu"), inits=("glorot_uniform", "he_normal"),
                            **kw)]
    keys = engine.seed_keys([0, 3, 5])
    hp = {"lr": jnp.full(3, 0.1), "skip": jnp.array([0, 1, 1]), "activation": jnp.array([0, 1, 0]),
          "init": jnp.array([1, 0, 1])}
    for task in tasks:
        batch, init = jax.jit(jax.vmap(task.init))(keys, hp), jax.jit(task.init)
        for k in range(3):
            alone = init(keys[k], jax.tree.map(lambda v, k=k: v[k], hp))
            jax.tree.map(lambda a, b, k=k: np.testing.assert_array_equal(a[k], b), batch["params"], alone["params"])


def test_cifar_resnet_has_6n_plus_2_layers_and_option_a_shortcuts():
    assert [depth_of(n) for n in (1, 3, 9, 18)] == [8, 20, 56, 110] and blocks_for(110) == 18
    with pytest.raises(ValueError, match="6n"):
        blocks_for(21)
    x = jnp.arange(2 * 4 * 4 * 3, dtype=jnp.float32).reshape(2, 4, 4, 3)
    y = option_a(x, 5, 2)
    assert y.shape == (2, 2, 2, 5)
    np.testing.assert_array_equal(y[..., :3], x[:, ::2, ::2]) and np.testing.assert_array_equal(y[..., 3:], 0)
    model = CifarResNet(2, (2, 3, 4), norm=False)
    params = jax.jit(lambda v: model.init(jax.random.key(0), v, train=False))(x[:1])["params"]
    convs = [p for p in jax.tree_util.tree_leaves_with_path(params) if "kernel" in jax.tree_util.keystr(p[0])]
    # stem + 2 convs x (block0 + one scanned block, stacked) x 3 stages + head = 6n + 2 with n = 2
    layers = sum(leaf.shape[0] if leaf.ndim == 5 else 1 for _, leaf in convs)
    assert layers == depth_of(2)


@pytest.mark.parametrize("norm", [True, False])
def test_a_shortcut_switched_off_equals_a_plain_net_built_without_it(norm):
    images, _ = _images(4)
    x = batching.normalize(images, MEAN, STD)
    residual, plain = (CifarResNet(2, (2, 3, 4), norm=norm, shortcut=s) for s in (True, False))
    variables = jax.jit(lambda v: residual.init(jax.random.key(1), v, train=False))(x)
    plain_shapes = jax.eval_shape(lambda v: plain.init(jax.random.key(1), v, train=False), x)
    assert jax.tree.structure(variables) == jax.tree.structure(plain_shapes)
    mutable = ["batch_stats"] if norm else False

    def loss(params, model, **kw):
        out = model.apply({**variables, "params": params}, x, train=True, mutable=mutable, **kw)
        return jnp.sum((out[0] if norm else out) ** 2)

    grad = jax.jit(jax.value_and_grad(loss), static_argnums=1)
    off, built = grad(variables["params"], residual, skip=0.0), grad(variables["params"], plain)
    # Equal to float rounding: compiled, the two programs fuse BN differently (eager they are bit-identical).
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())  # noqa: E731
    jax.tree.map(close, off, built)
    on = grad(variables["params"], residual, skip=1.0)
    assert not np.allclose(on[0], off[0])


def test_resnet_block_gradient_norms_equal_a_direct_grad_of_the_plain_and_residual_net():
    images, labels = _images(12)
    kw = dict(widths=(2, 3, 4), input_shape=(8, 8, 1), num_classes=10, num_train=12, batch_size=6, mean=MEAN, std=STD)
    task = depth.resnet_task(blocks_per_stage=2, norm=True, kernel_init="he_normal", **kw)
    model = CifarResNet(2, (2, 3, 4), norm=True)
    key = engine.seed_keys([2])[0]
    x, y = _first_batch(key, images, labels, 6)

    @jax.jit
    def direct_grad(params, extra, skip):
        def loss(p):
            logits, _ = model.apply({"params": p, **extra}, x, train=True, skip=skip, mutable=["batch_stats"])
            return softmax_ce(logits, y)
        return jax.grad(loss)(params)

    init, step = jax.jit(task.init), jax.jit(task.step)
    for skip in (0, 1):
        state = init(key, {"lr": jnp.float32(0.1), "skip": jnp.int32(skip)})
        _, metrics = step(state, {"train": (images, labels)}, jnp.int32(0))
        g = direct_grad(state["params"], state["extra"], jnp.float32(skip))
        expected = [n for i in range(3) for n in (_norm(g[f"stage{i}_block0"]),
                                                  _norm(jax.tree.map(lambda v: v[0], g[f"stage{i}_blocks"])))]
        np.testing.assert_allclose(metrics["grad_norm"], expected, rtol=1e-4)


def test_log_ratio_marks_a_missing_last_gradient_and_floors_a_dead_first_one():
    norms = np.array([[4.0, 1.0, 1.0], [1.0, 1.0, 8.0], [0.0, 1.0, 2.0], [0.0, 1.0, 0.0]])
    r = exp.log_ratio(norms, 2.0)
    np.testing.assert_allclose(r[:3], [2.0, -3.0, np.log2(1e-30 / 2.0)])
    assert np.isnan(r[3])


def _measures(plain_loss, residual_loss, plain_ratio, residual_ratio):
    """A fake resnet_measures entry: 6 seeds, arms (plain, residual)."""
    seeds = np.arange(6) * 0.01
    loss = np.stack([plain_loss + seeds, residual_loss + seeds])
    ratio = np.stack([plain_ratio + seeds, residual_ratio + seeds])
    return {"loss": loss, "log2_loss": np.log2(loss), "ratio": ratio, "ratio_init": ratio,
            "diverged": np.zeros((2, 6), bool)}


def test_degradation_and_skip_verdicts_follow_the_paired_data():
    cfg = exp.Config(resnet_depths=(8, 20), norms=("bn",))
    by = {("bn", 8): _measures(0.1, 0.1, 0.0, 0.0),
          ("bn", 20): _measures(0.4, 0.1, -3.0, 0.0)}  # deep plain: 4x the loss, first block 1/1000 of the last
    found, _ = exp.degradation(cfg, by)
    assert [stats_head(p.verdict) for _, _, p in found] == ["supported", "supported", "not reproduced"]
    claim = exp.skips_claim(cfg, by)
    assert claim.verdict == "supported" and "Mitigates vanishing gradients [supported]" in claim.ours
    # Equal nets: each part within its margin.
    by["bn", 20] = _measures(0.1, 0.1, 0.0, 0.0)
    assert exp.skips_claim(cfg, by).verdict == "not reproduced"


def stats_head(verdict: str) -> str:
    return verdict.split(" (")[0]


TINY = dict(seeds=6, mlp_depths=(2, 3), mlp_width=4, mlp_lr=(0.1,), mlp_steps=20, mlp_record_every=10,
            resnet_depths=(8,), resnet_widths=(2, 2, 4), norms=("none",), resnet_seeds=6, resnet_steps=10,
            resnet_record_every=5, chunk_steps=10)


def test_tiny_run_writes_the_summary_and_answers_both_claims(tmp_path):
    cfg = exp.Config(**TINY)
    out = exp.run(cfg)
    assert set(out["mlp"]) == {2, 3} and set(out["resnet"]) == {("none", 8)}
    assert out["mlp"][3].metrics["grad_norm"].shape == (4 * 6, 2, 4)  # arms x seeds, records, Dense layers
    assert out["resnet"]["none", 8].metrics["grad_norm"].shape == (2 * 6, 2, 3)  # plain + residual, 3 blocks
    s = exp.analyse(cfg, out)
    summary.write(s, tmp_path, as_dict(cfg), wall_s=1.0)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert set(written["claims"]) == {"relu_no_vanishing_gradient", "resnet_skips_vanishing"}
    for name in ("summary.md", "mlp_gradients.png", "resnet_curves.png", "resnet_gradients.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "3 layers, customary init" in written["claims"]["relu_no_vanishing_gradient"]["ours"]
