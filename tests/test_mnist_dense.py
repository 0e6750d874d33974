"""experiments/mnist_dense/: the seed's architecture and loss, the batched learning-rate sweep against
separate Adam runs, early-stopping selection on hand-made curves, and a tiny end-to-end run."""


import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import assert_cli_rejects, run_experiment
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments import mnist_dense as experiment
from experiments.mnist_dense import tuning
from jaxdl.data import load
from jaxdl.reporting import claims
from jaxdl.tasks import classify
from jaxdl.training import engine, optim

KERAS_EPSILON = 1e-7  # keras.config.epsilon(): the clip of categorical_crossentropy on probabilities


def test_architecture_is_the_seeds_dense_net_with_111146_params():
    model = experiment.build_model(10)
    assert tuning.count_params(model, (28, 28, 1)) == 111_146 == experiment.ARCHITECTURE_PARAMS
    variables = jax.eval_shape(lambda k: model.init(k, jnp.zeros((1, 28, 28, 1)), train=False), jax.random.key(0))
    kernels = [variables["params"][f"Dense_{i}"]["kernel"].shape for i in range(4)]
    assert kernels == [(784, 128), (128, 64), (64, 32), (32, 10)]


def keras_categorical_ce(logits: np.ndarray, one_hot: np.ndarray) -> float:
    """Keras: softmax output, then categorical_crossentropy(from_logits=False) on one-hot labels."""
    z = logits.astype(np.float64)
    probs = np.exp(z - z.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    probs = np.clip(probs, KERAS_EPSILON, 1 - KERAS_EPSILON)
    return float(np.mean(-np.sum(one_hot * np.log(probs), -1)))


@jax.jit
def ours_and_grad(logits, labels):
    loss = lambda z: classify.cross_entropy(z, None, labels, {})[0]
    return jax.value_and_grad(loss)(logits)


@settings(max_examples=40, deadline=None)
@given(batch=st.sampled_from([1, 7, 32]), seed=st.integers(0, 2**31 - 1))
def test_integer_label_ce_equals_keras_one_hot_categorical_ce(batch, seed):
    # Logits within +-5: every probability stays above Keras' clip, where the two losses are the same function.
    rng = np.random.default_rng(seed)
    logits = rng.uniform(-5, 5, (batch, 10)).astype(np.float32)
    labels = rng.integers(0, 10, batch)
    one_hot = np.eye(10)[labels]
    loss, grad = ours_and_grad(jnp.asarray(logits), jnp.asarray(labels))
    assert float(loss) == pytest.approx(keras_categorical_ce(logits, one_hot), rel=1e-5)
    softmax = np.exp(logits - logits.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    np.testing.assert_allclose(grad, (softmax - one_hot) / batch, atol=1e-6)


def test_keras_clip_caps_a_confident_mistake_where_ours_does_not():
    logits = np.zeros((1, 10), np.float32)
    logits[0, 0] = 40.0  # certain of class 0; the label is 1
    loss, _ = ours_and_grad(jnp.asarray(logits), jnp.asarray([1]))
    assert float(loss) == pytest.approx(40.0, rel=1e-5)
    assert keras_categorical_ce(logits, np.eye(10)[[1]]) == pytest.approx(-np.log(KERAS_EPSILON))


def run_adam(tx, params, grads, lr=None):
    """Applies tx to `grads` [T, ...] in turn; `lr` for an inject_hyperparams optimizer built with lr 0."""
    state = tx.init(params)
    if lr is not None:
        state = optim.with_lr(state, lr)

    def step(carry, g):
        p, s = carry
        updates, s = tx.update(g, s, p)
        return (optax.apply_updates(p, updates), s), None

    (params, state), _ = jax.jit(lambda p, s: jax.lax.scan(step, (p, s), grads))(params, state)
    return params, state


def test_jaxdl_adam_is_optax_adam_bit_for_bit_and_wrapping_optax_adam_is_not():
    rng = np.random.default_rng(0)
    params = {"w": jnp.asarray(rng.normal(size=(16, 8)), jnp.float32), "b": jnp.zeros(8)}
    grads = {"w": jnp.asarray(rng.normal(size=(30, 16, 8)), jnp.float32),
             "b": jnp.asarray(rng.normal(size=(30, 8)), jnp.float32)}
    plain, _ = run_adam(optax.adam(1e-2), params, grads)
    ours, ours_state = run_adam(optim.make_optimizer("adam"), params, grads, lr=1e-2)
    wrapped, wrapped_state = run_adam(optax.inject_hyperparams(optax.adam)(learning_rate=1e-2), params, grads)
    jax.tree.map(np.testing.assert_array_equal, ours, plain)
    # The reported trajectory change: wrapping optax.adam itself binds its defaults too, so b1, b2 and eps
    # become float32 arrays and every update is rounded differently (optax #583, #1532).
    assert set(ours_state.hyperparams) == {"learning_rate"}
    assert {"b1", "b2", "eps"} <= set(wrapped_state.hyperparams)
    assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(wrapped), jax.tree.leaves(plain), strict=True))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), wrapped, plain)


def test_batched_learning_rates_train_like_separate_optax_adam_runs():
    ds = load("mnist5k", "train", size=320)
    data = {"train": (jnp.asarray(ds.images[:256]), jnp.asarray(ds.labels[:256])),
            "eval": (jnp.asarray(ds.images[256:]), jnp.asarray(ds.labels[256:]))}
    model, lrs, steps, key = experiment.build_model(10), [1e-3, 1e-2], 16, engine.seed_keys([3])[0]

    def task(tx):
        return classify.make_task(model, tx, num_train=256, batch_size=32, input_shape=(28, 28, 1), mean=0.0,
                                  std=1.0, eval_every=8, keep_best=True)

    def solo(task):
        """One model, no batching: the task step in a jitted scan."""
        return jax.jit(lambda key, hp: jax.lax.scan(lambda s, t: task.step(s, data, t), task.init(key, hp),
                                                    jnp.arange(steps)))

    # The sweep as the experiment runs it: one program, lr a per-model value, both devices.
    injected = task(optim.make_optimizer("adam"))
    trainer = engine.make_train(injected, steps=steps, chunk_steps=steps, record_every=1,
                                group=engine.default_group())
    sweep = trainer(jnp.stack([key, key]), {"lr": np.asarray(lrs, np.float32)}, data)
    solo_injected = solo(injected)
    for i, lr in enumerate(lrs):
        state, metrics = solo_injected(key, {"lr": jnp.float32(lr)})
        # Batching changes the rounding of the matmuls (measured: <= 1e-6 after 16-24 steps), nothing more.
        jax.tree.map(lambda a, b, i=i: np.testing.assert_allclose(a, b[i], atol=1e-5), jax.device_get(state["params"]),
                     sweep.state["params"])
        np.testing.assert_allclose(metrics["loss"], sweep.metrics["loss"][i], rtol=1e-5)
    # And a separate run with the injected lr is a plain optax.adam(lr) run (lr a Python constant), to the bit.
    # One lr, the largest (one compilation per constant); test_jaxdl_adam_is_optax_adam... covers the rest.
    ref_state, ref_metrics = solo(task(optax.adam(lrs[-1])))(key, {})
    jax.tree.map(np.testing.assert_array_equal, state["params"], ref_state["params"])
    np.testing.assert_array_equal(metrics["loss"], ref_metrics["loss"])


def test_early_stopping_picks_the_first_best_validation_epoch():
    nan = np.nan
    curves = np.array([
        [0.10, 0.60, 0.80, 0.90, 0.85, 0.90, 0.70],  # overfits after epoch 3; the later tie does not win
        [0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70],  # still improving: the last epoch
        [0.10, nan, 0.50, 0.40, nan, 0.45, 0.30],    # a missing evaluation never wins
        [0.50, 0.40, 0.30, 0.20, 0.10, 0.10, 0.10],  # training only hurt: the initial weights
    ])
    np.testing.assert_array_equal(tuning.early_stopping_epoch(curves), [3, 6, 2, 0])


def test_configs_ranked_by_mean_validation_and_keras_default_added():
    rows = [{"batch_size": bs, "lr": lr, "best_val": acc} for bs, lr, acc in [
        (32, 1e-3, [0.90, 0.92]), (32, 1e-2, [0.95, 0.92]), (128, 1e-3, [0.94, 0.94]), (128, 1e-2, [0.80, 0.99])]]
    np.testing.assert_array_equal(tuning.rank_configs(np.array([r["best_val"] for r in rows])), [2, 1, 0, 3])
    choose = lambda optimizer: tuning.chosen_configs(rows, 2, optimizer, experiment.KERAS_DEFAULT, "Keras (a priori)")
    chosen = choose("adam")
    assert [(c["index"], c["rank"]) for c in chosen] == [(2, 1), (1, 2), (0, 3)]
    assert chosen[-1]["reason"] == "Keras (a priori)"
    assert len(choose("sgd")) == 2


def test_the_task_evaluates_its_final_state_and_keep_best_can_keep_it():
    ds = load("mnist5k", "train", size=320)
    data = {"train": (jnp.asarray(ds.images[:256]), jnp.asarray(ds.labels[:256])),
            "eval": (jnp.asarray(ds.images[256:]), jnp.asarray(ds.labels[256:]))}
    task = classify.make_task(experiment.build_model(10), optim.make_optimizer("adam"), num_train=256, batch_size=32,
                              input_shape=(28, 28, 1), mean=0.0, std=1.0, eval_every=8, keep_best=True, steps=16)
    trainer = engine.make_train(task, steps=16, chunk_steps=16, record_every=4)
    result = trainer(engine.seed_keys([0, 1]), {"lr": np.float32([1e-3, 1e-2])}, data)
    state = result.state
    loss, acc = task.evaluate(state["params"], state["extra"], *data["eval"])
    np.testing.assert_allclose(state["final_eval_acc"], acc, atol=1e-6)
    np.testing.assert_allclose(state["final_eval_loss"], loss, rtol=1e-5)
    steps, curve_loss, curve_acc = classify.eval_curve(result, 8)
    assert steps.tolist() == [0, 8, 16] and curve_acc.shape == curve_loss.shape == (2, 3)
    np.testing.assert_array_equal(curve_acc[:, -1], state["final_eval_acc"])
    best = tuning.early_stopping_epoch(curve_acc)  # the first best evaluation, the final one included
    np.testing.assert_array_equal(state["best_step"], steps[best])
    # The dense net is evaluated as one vmap, a CNN one model at a time on CPU (no grouped convolutions).
    assert not classify.one_model_at_a_time(experiment.build_model(10), (28, 28, 1))
    from jaxdl.models.cnn import SmallCNN
    assert classify.one_model_at_a_time(SmallCNN(num_classes=10), (28, 28, 1)) == (jax.default_backend() == "cpu")


def test_step_memory_grows_with_the_batch():
    ds = load("mnist5k", "train", size=320)
    data = {"train": (jnp.asarray(ds.images), jnp.asarray(ds.labels)), "eval": (jnp.asarray(ds.images[:8]),
                                                                               jnp.asarray(ds.labels[:8]))}
    rows = tuning.step_memory(experiment.build_model(10), [16, 256], data)
    assert [r[0] for r in rows] == [16, 256] and rows[1][1] > rows[0][1] > 0
    assert rows[0][2] == rows[1][2]  # the same state and data: only the temporaries depend on the batch


TINY = ["--train_size=600", "--test_size=200", "--epochs=3", "--seeds=2", "--lr=1e-3,1e-2", "--batch_size=32,64",
        "--top=1", "--chunk_epochs=1", "--compare_batch=64", "--sgd_lr=0.1", "--momentum_lr=0.03",
        "--underfit_epochs=1", "--memory_batch_sizes=32,256"]


def test_cli_end_to_end_writes_consistent_outputs(tmp_path):
    out = tmp_path / "md"
    run_experiment("experiments.mnist_dense", *TINY, f"--out={out}")
    for name in ("summary.json", "summary.md", "heatmap.png", "curves.png"):
        assert (out / name).stat().st_size > 0, name
    s = json.loads((out / "summary.json").read_text())
    assert set(s["data"]) == {f"{p} lr {lr:g}" for p in ("adam b32", "adam b64") for lr in (1e-3, 1e-2)} | {
        "sgd b64 lr 0.1", "momentum b64 lr 0.03"}
    for run in s["data"].values():
        curve = np.array(run["val_acc"], float)
        assert curve.shape == (2, 4)  # after 0..3 epochs, the last evaluated by the task itself
        np.testing.assert_array_equal(run["stop"], tuning.early_stopping_epoch(curve))
        for key in ("test_best", "test_last"):
            acc = np.array(run[key])
            np.testing.assert_allclose(acc * 200, np.round(acc * 200), atol=1e-3)  # a share of 200 test images
        # A run stopped at its last epoch keeps the last weights.
        last = np.array(run["stop"]) == 3
        np.testing.assert_array_equal(np.array(run["test_best"])[last], np.array(run["test_last"])[last])
    assert set(s["claims"]) == {e.id for e in claims.for_experiment("mnist_dense")}
    assert s["claims"]["large_batch_memory"]["verdict"] == "supported — exact"  # an exact fact, not a paired verdict
    for cid, c in s["claims"].items():  # 2 seeds: no paired verdict can be decided
        assert cid == "large_batch_memory" or c["verdict"].startswith("not resolved"), (cid, c)
    chosen = s["tables"][0]["rows"]
    assert any("Keras default" in row[1] and row[0] == {"lr": 0.001, "batch_size": 32} for row in chosen)
    prov = s["provenance"]
    assert prov["git_commit"] and prov["device"]["device_count"] == 2 and prov["flags"]["batch_size"] == [32, 64]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("flag, message", [
    ("--batch_size=32,0", "every item must be > 0"),
    ("--batch_size=1000", "exceeds the 481 training examples"),
])
def test_bad_input_fails_clearly_and_writes_nothing(tmp_path, flag, message):
    assert_cli_rejects("experiments.mnist_dense", tmp_path / "never", *TINY, flag, message=message,
                       creates_out=True)
