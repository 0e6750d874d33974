"""The training engine: metrics plumbing, sharding invariance, seed independence, divergence isolation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.data.toy import make_toy
from jaxdl.models.mlp import MLP
from jaxdl.tasks import binary
from jaxdl.training import engine, program


def counter_task():
    """x_{t+1} = x_t + rate; 'acc' = 1 once x >= 1. Closed form: hit step = ceil(1 / rate)."""

    def init(key, hp):
        return {"x": jnp.float32(0.0), "hit_step": jnp.int32(-1), "rate": hp["lr"]}

    def step(state, data, t):
        acc = (state["x"] >= 1.0).astype(jnp.float32)
        hit = jnp.where((state["hit_step"] < 0) & (acc >= 1), t, state["hit_step"])
        return {**state, "x": state["x"] + state["rate"] * data, "hit_step": hit}, {"acc": acc, "loss": state["x"]}

    return engine.Task(init=init, step=step)


def test_hit_step_and_records_match_closed_form():
    rates = np.array([0.5, 0.25, 0.1, 0.3], np.float32)
    trainer = engine.make_train(counter_task(), steps=40, chunk_steps=20, record_every=5)
    result = trainer(engine.seed_keys(range(4)), {"lr": rates}, jnp.float32(1.0))
    expected = []
    for rate in rates:  # the same float32 accumulation, on the host
        x, t = np.float32(0), 0
        while x < 1:
            x, t = np.float32(x + rate), t + 1
        expected.append(t)
    assert expected == [2, 4, 10, 4]
    np.testing.assert_array_equal(result.state["hit_step"], expected)
    np.testing.assert_array_equal(result.record_steps, np.arange(0, 40, 5))
    # Metrics at a recorded step describe the state before that step's update.
    np.testing.assert_allclose(result.metrics["loss"], rates[:, None] * np.arange(0, 40, 5)[None], rtol=1e-5)
    assert result.metrics["acc"].shape == (4, 8)
    assert result.steps_run == 40 and not result.diverged.any()


def test_chunk_length_divides_steps():
    assert program.chunk_length(10000, 1000, 10) == 1000
    assert program.chunk_length(300, 1000, 10) == 300
    assert program.chunk_length(1050, 1000, 10) == 350
    with pytest.raises(ValueError, match="multiple of record_every"):
        engine.make_train(counter_task(), steps=15, record_every=10)


def toy_setup(activation="relu", loss="ce"):
    x, y = make_toy("xor", 64, seed=0)
    model = MLP(features=(8, 1), activation=activation)
    return binary.make_task(model, loss, "sgd", input_dim=2), (jnp.asarray(x), jnp.asarray(y, jnp.float32))


def run_grid(seeds, lrs, devices, steps=200, group=None, task_data=None):
    task, data = task_data or toy_setup()
    trainer = engine.make_train(task, steps=steps, chunk_steps=100, record_every=10, group=group,
                                mesh=engine.device_mesh(jax.devices()[:devices]))
    keys = engine.seed_keys(np.tile(seeds, len(lrs)))
    return trainer(keys, {"lr": np.repeat(np.asarray(lrs, np.float32), len(seeds))}, data)


def test_two_devices_give_the_same_numbers_as_one():
    assert len(jax.devices()) >= 2, "conftest sets 2 host devices"
    one = run_grid(np.arange(6), [0.5, 2.0], devices=1)
    two = run_grid(np.arange(6), [0.5, 2.0], devices=2)
    np.testing.assert_array_equal(one.state["hit_step"], two.state["hit_step"])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), one.state["params"],
                 two.state["params"])
    np.testing.assert_allclose(one.metrics["loss"], two.metrics["loss"], rtol=1e-6)


def test_model_k_of_a_grid_equals_its_solo_run():
    grid = run_grid(np.arange(64), [1.0], devices=2, group=16)
    for k in (0, 37, 63):
        solo = run_grid(np.array([k]), [1.0], devices=2, group=16)
        assert solo.state["hit_step"][0] == grid.state["hit_step"][k]
        jax.tree.map(lambda a, b, k=k: np.testing.assert_allclose(a[0], b[k], atol=1e-5), solo.state["params"],
                     grid.state["params"])


def test_grouped_map_equals_plain_vmap():
    plain = run_grid(np.arange(10), [1.0], devices=2, group=None)
    grouped = run_grid(np.arange(10), [1.0], devices=2, group=2)
    np.testing.assert_array_equal(plain.state["hit_step"], grouped.state["hit_step"])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), plain.state["params"],
                 grouped.state["params"])


def test_a_diverging_member_is_recorded_and_spoils_no_other():
    task_data = toy_setup(activation="relu", loss="l2")
    calm = run_grid(np.arange(3), [0.5], devices=2, task_data=task_data)
    # Member 3 gets an absurd learning rate and blows up; members 0-2 are the calm run's models.
    task, data = task_data
    trainer = engine.make_train(task, steps=200, chunk_steps=100, record_every=10)
    keys = engine.seed_keys([0, 1, 2, 0])
    mixed = trainer(keys, {"lr": np.array([0.5, 0.5, 0.5, 1e38], np.float32)}, data)
    assert mixed.diverged.tolist() == [False, False, False, True]
    assert mixed.diverged_at[3] >= 0
    np.testing.assert_array_equal(mixed.state["hit_step"][:3], calm.state["hit_step"])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[:3], b, atol=1e-6), mixed.state["params"],
                 calm.state["params"])
    # The diverged member is frozen at its last finite state, so its final weights are usable numbers.
    assert all(np.isfinite(leaf[3]).all() for leaf in jax.tree.leaves(mixed.state["params"]))


def test_uneven_model_count_is_padded_and_trimmed():
    result = run_grid(np.arange(3), [1.0], devices=2)
    assert result.state["hit_step"].shape == (3,)
    assert result.metrics["acc"].shape == (3, 20)


def test_stop_early_ends_at_a_chunk_boundary():
    task = counter_task()
    trainer = engine.make_train(task, steps=100, chunk_steps=10, record_every=5)
    result = trainer(engine.seed_keys([0, 1]), {"lr": np.array([0.5, 0.5], np.float32)}, jnp.float32(1.0),
                     stop_early=lambda s: bool((s["task"]["hit_step"] >= 0).all()))
    assert result.steps_run == 10
    assert result.metrics["acc"].shape == (2, 2)


def test_resume_from_a_chunk_state_equals_an_uninterrupted_run():
    task, data = toy_setup()
    trainer = engine.make_train(task, steps=200, chunk_steps=100, record_every=10)
    keys, hp = engine.seed_keys([0, 1]), {"lr": np.array([1.0, 1.0], np.float32)}
    full = trainer(keys, hp, data)
    saved = {}
    trainer(keys, hp, data, on_chunk=lambda s, n: saved.setdefault(n, jax.device_get(s)),
            stop_early=lambda s: True)
    assert list(saved) == [100]
    resumed = trainer(keys, hp, data, state=jax.device_put(saved[100]), start_step=100)
    np.testing.assert_array_equal(resumed.record_steps, np.arange(100, 200, 10))
    jax.tree.map(np.testing.assert_array_equal, resumed.state["params"], full.state["params"])


def blowup_task():
    """x_{t+1} = rate * x_t from x_0 = 1 (metric 'x' = x_t); 'y' turns NaN at update `nan_at` without
    touching the metrics, so only the state check can catch it."""

    def init(key, hp):
        return {"x": jnp.float32(1.0), "y": jnp.float32(0.0), "rate": hp["lr"], "nan_at": hp["nan_at"]}

    def step(state, data, t):
        y = jnp.where(t == state["nan_at"], jnp.nan, state["y"])
        return {**state, "x": state["x"] * state["rate"], "y": y}, {"x": state["x"]}

    return engine.Task(init=init, step=step)


def host_powers(rate, steps):
    """x_0..x_steps in float32, as the device computes them."""
    xs = [np.float32(1)]
    for _ in range(steps):
        with np.errstate(over="ignore"):
            xs.append(np.float32(xs[-1] * np.float32(rate)))
    return xs


def test_guard_records_the_divergence_step_and_freezes_at_the_last_checked_state():
    rates = np.array([1.01, 1e10, 1e3, 1.01], np.float32)
    nan_at = np.array([-1, -1, -1, 12], np.float32)
    trainer = engine.make_train(blowup_task(), steps=40, chunk_steps=20, record_every=5, guard_every=10)
    assert trainer.guard_every == 10
    result = trainer(engine.seed_keys(range(4)), {"lr": rates, "nan_at": nan_at}, None)
    # Metrics at step t are x_t: the first non-finite one is the divergence step (closed form, host).
    first_inf = [next((t for t, x in enumerate(host_powers(r, 40)) if not np.isfinite(x)), -1) for r in rates[:3]]
    assert first_inf == [-1, 4, 13]
    # Member 3's metrics stay finite; its state turns NaN at update 12, caught at the end of block [10, 20).
    np.testing.assert_array_equal(result.diverged_at, [-1, 4, 13, 19])
    np.testing.assert_array_equal(result.frozen_at, [-1, 0, 10, 10])
    # Reported state: the member's state at frozen_at (finite), and it stays frozen in later chunks.
    expected_x = [host_powers(1.01, 40)[40], 1.0, host_powers(1e3, 10)[10], host_powers(1.01, 10)[10]]
    np.testing.assert_allclose(result.state["x"], expected_x, rtol=1e-6)
    np.testing.assert_array_equal(result.state["y"], [0, 0, 0, 0])


def test_a_diverging_member_leaves_the_others_bit_identical():
    hp = {"lr": np.array([1.01, 1e10, 1.02], np.float32), "nan_at": np.array([-1, 3, -1], np.float32)}
    trainer = engine.make_train(blowup_task(), steps=40, chunk_steps=20, record_every=5, group=2)
    mixed = trainer(engine.seed_keys(range(3)), hp, None)
    calm = trainer(engine.seed_keys(range(3)), {k: v[[0, 0, 2]] for k, v in hp.items()}, None)
    assert mixed.diverged.tolist() == [False, True, False]
    np.testing.assert_array_equal(mixed.state["x"][[0, 2]], calm.state["x"][[0, 2]])
    np.testing.assert_array_equal(mixed.metrics["x"][[0, 2]], calm.metrics["x"][[0, 2]])


def test_auto_group_rule():
    assert engine.default_group() == engine.AUTO
    cpu = functools.partial(engine.auto_group, backend="cpu")
    assert cpu(True, 10**6, 8) == 1  # convolutions: one model at a time
    assert cpu(False, 1_791_176, 5) == 2  # the dense net's Adam state
    assert cpu(False, 272, 128) == 32  # the FC grid's tiny MLPs
    assert cpu(False, 272, 16) is None  # the group would hold every model: plain vmap
    assert cpu(False, 272, 1) is None
    gpu = functools.partial(engine.auto_group, backend="gpu")
    assert gpu(True, 600_000, 64) is None  # a small CNN: one vmap over every seed
    assert gpu(True, 90 << 20, 4) == 1  # ResNet-18's state: grouped convolutions would halve the speed
    assert gpu(False, 90 << 20, 4) is None
    with pytest.raises(ValueError, match="group must be"):
        engine.make_train(counter_task(), steps=10, group=0)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the rule's groups are XLA:CPU's")
def test_auto_group_sees_convolutions_and_matches_an_explicit_group():
    def init(key, hp):
        return {"w": jax.random.normal(key, (3, 3, 1, 2)), "lr": hp["lr"]}

    def step(state, images, t):
        def loss(w):
            out = jax.lax.conv_general_dilated(images, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
            return jnp.mean(out**2)

        value, grad = jax.value_and_grad(loss)(state["w"])
        return {**state, "w": state["w"] - state["lr"] * grad}, {"loss": value}

    trainer = engine.make_train(engine.Task(init=init, step=step), steps=10, record_every=10)
    x = jnp.ones((2, 4, 4, 1))
    assert trainer(engine.seed_keys(range(8)), {"lr": np.ones(8, np.float32)}, x).group == 1
    task, data = toy_setup()
    auto = run_grid(np.arange(8), [1.0], devices=2, task_data=(task, data), group=engine.AUTO)
    plain = run_grid(np.arange(8), [1.0], devices=2, task_data=(task, data), group=None)
    assert auto.group is None  # 4 models per device: one group holds them all
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), auto.state["params"],
                 plain.state["params"])


def choice_task():
    """x_{t+1} = factor[k] * x_t + lr, with k = hparams["k"] a categorical choice (lax.switch): closed form."""
    factors = (0.5, 0.9, 1.1)

    def init(key, hp):
        return {"x": jnp.float32(1.0), "lr": hp["lr"], engine.CHOICE: {"k": jnp.asarray(hp["k"], jnp.int32)}}

    def step(state, data, t):
        k = state[engine.CHOICE]["k"]
        x = jax.lax.switch(k, [lambda v, f=f: v * f for f in factors], state["x"]) + state["lr"]
        return {**state, "x": x}, {"x": state["x"]}

    return engine.Task(init=init, step=step, categorical={"k": len(factors)}), factors


def test_categorical_groups_give_each_member_its_own_choice():
    """Uniform groups run with the choice as a constant, mixed groups per member, any layout: every member
    follows its own closed form, and a run stopped and resumed (state in layout order) matches."""
    task, factors = choice_task()
    k = np.repeat([0, 2, 1], 8)  # runs of 8 equal choices, as a grid lists them
    lr = np.tile(np.float32([0.0, 0.1, 0.2, 0.3]), 6)
    hp = {"k": k.astype(np.float32), "lr": lr}
    traj = np.empty((len(k), 21), np.float32)  # x_0..x_20 per member, float32 on the host
    for m, (ki, li) in enumerate(zip(k, lr, strict=True)):
        traj[m, 0] = 1.0
        for t in range(20):
            traj[m, t + 1] = np.float32(traj[m, t] * np.float32(factors[ki]) + li)
    keys = engine.seed_keys(range(len(k)))
    assert len(jax.devices()) == 2
    for group in (4, 3, None):  # uniform groups, groups straddling runs (+ a remainder), one vmap
        trainer = engine.make_train(task, steps=20, chunk_steps=10, record_every=5, group=group)
        order = trainer.layout(hp, len(k))
        # 2 devices: each run of 8 is split 4 + 4, device 0 gets the first halves in grid order.
        np.testing.assert_array_equal(order, np.r_[0:4, 8:12, 16:20, 4:8, 12:16, 20:24])
        result = trainer(keys, hp, None)
        np.testing.assert_allclose(result.state["x"], traj[:, 20], rtol=1e-6)
        np.testing.assert_allclose(result.metrics["x"], traj[:, 0:20:5], rtol=1e-6)  # in model order
        np.testing.assert_array_equal(result.state[engine.CHOICE]["k"], k)
        saved = []
        trainer(keys, hp, None, on_chunk=lambda s, n, out=saved: out.append(jax.device_get(s)),
                stop_early=lambda s: True)
        resumed = trainer(keys, hp, None, state=jax.device_put(saved[0]), start_step=10)
        np.testing.assert_array_equal(resumed.state["x"], result.state["x"])
        np.testing.assert_array_equal(resumed.metrics["x"], result.metrics["x"][:, 2:])
    assert engine.make_train(task, steps=20, record_every=5).layout({"k": np.zeros(4), "lr": lr[:4]}, 4) is None


def test_a_second_call_reuses_the_compiled_program():
    task, data = toy_setup()
    trainer = engine.make_train(task, steps=20, chunk_steps=10, record_every=10)
    keys, hp = engine.seed_keys([0, 1]), {"lr": np.array([1.0, 0.5], np.float32)}
    first, again = trainer(keys, hp, data), trainer(keys, hp, data)
    assert first.compile_s > 0 and again.compile_s == 0 and again.group == first.group
    jax.tree.map(np.testing.assert_array_equal, again.state["params"], first.state["params"])
    other = trainer(engine.seed_keys([0, 1, 2]), {"lr": np.array([1.0, 0.5, 2.0], np.float32)}, data)
    assert other.compile_s > 0  # 3 models pad to 4: another shape, another program


def test_step_group_traces_the_step_only_where_convolving_changes_the_group():
    from jaxdl.training import grouping

    small = {"w": jax.ShapeDtypeStruct((3, 3, 1, 4), jnp.float32)}
    x = jnp.zeros((1, 8, 8, 1))

    def conv_step(state, data, t):
        y = jax.lax.conv_general_dilated(data, state["w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return state, {"y": y.sum()}

    def dense_step(state, data, t):
        return state, {"y": (data.reshape(1, -1)[:, :36] @ state["w"].reshape(36, 1)).sum()}

    def untraceable(state, data, t):
        raise AssertionError("traced although convolving cannot change the group")

    cpu = jax.default_backend() == "cpu"
    assert grouping.step_group(conv_step, small, x, 64) == (1 if cpu else None)
    assert grouping.step_group(dense_step, small, x, 64) == (32 if cpu else None)
    big = {"w": jax.ShapeDtypeStruct((8 << 20,), jnp.float32)}  # 32 MB: one at a time on CPU either way
    if cpu:
        assert grouping.step_group(untraceable, big, x, 64) == 1
    assert grouping.step_group(untraceable, small, x, 1) is None  # one model: nothing to group
