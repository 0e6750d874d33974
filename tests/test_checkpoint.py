"""orbax checkpoint helpers: bitwise round trip of sharded state, metadata, settings guard, metric history."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.training import checkpoint, engine


def counter_task():
    """x_{t+1} = x_t + rate * data; metrics: x before the update and a step-dependent value."""

    def init(key, hp):
        return {"x": jnp.float32(0.0), "rate": hp["lr"], "noise": jax.random.uniform(key)}

    def step(state, data, t):
        metrics = {"loss": state["x"], "acc": jnp.sin(state["x"] + state["noise"] * t)}
        return {**state, "x": state["x"] + state["rate"] * data}, metrics

    return engine.Task(init=init, step=step)


def test_save_restore_is_bitwise_with_shardings_and_metadata(tmp_path):
    task = checkpoint.with_metric_history(counter_task(), steps=40, record_every=5, names=("loss", "acc"))
    trainer = engine.make_train(task, steps=40, chunk_steps=10, record_every=5)
    keys, hp = engine.seed_keys([0, 1, 2]), {"lr": np.array([0.1, 0.2, 0.3], np.float32)}
    state = trainer.init(keys, hp)
    with checkpoint.Checkpoints(tmp_path / "ck", max_to_keep=2) as ckpt:
        assert ckpt.latest_step() is None
        ckpt.save(10, state, {"fingerprint": {"steps": 40}, "wall_s": 1.5})
        ckpt.save(20, state, {"fingerprint": {"steps": 40}, "wall_s": 2.5})
        ckpt.save(30, state, {"fingerprint": {"steps": 40}, "wall_s": 3.5})
    with checkpoint.Checkpoints(tmp_path / "ck", max_to_keep=2) as ckpt:
        assert ckpt.latest_step() == 30
        assert ckpt.metadata()["wall_s"] == 3.5
        restored, meta = ckpt.restore(trainer.init(keys, hp), step=20)
    assert meta == {"fingerprint": {"steps": 40}, "wall_s": 2.5}
    assert sorted(int(p.name) for p in (tmp_path / "ck").iterdir() if p.name.isdigit()) == [20, 30]
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored), strict=True):
        assert a.dtype == b.dtype and a.sharding == b.sharding
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.fixture
def xla_optimized():
    """XLA's optimisations on (conftest turns most off): the history kept in the state and the recorded
    metric are one value only once XLA's common-subexpression pass merges their two computations."""
    jax.config.update("jax_disable_most_optimizations", False)
    yield
    jax.config.update("jax_disable_most_optimizations", True)


def test_resume_through_a_checkpoint_equals_an_uninterrupted_run(tmp_path, xla_optimized):
    task = checkpoint.with_metric_history(counter_task(), steps=40, record_every=5, names=("loss", "acc"))
    trainer = engine.make_train(task, steps=40, chunk_steps=10, record_every=5)
    keys, hp = engine.seed_keys([0, 1, 2]), {"lr": np.array([0.1, 0.2, 0.3], np.float32)}
    full = trainer(keys, hp, jnp.float32(1.0))
    # The history kept in the state equals what the engine recorded.
    for name in ("loss", "acc"):
        np.testing.assert_array_equal(full.state["history"][name], full.metrics[name])

    ckpt = checkpoint.Checkpoints(tmp_path / "ck")
    trainer(keys, hp, jnp.float32(1.0), on_chunk=lambda s, n: ckpt.save(n, s, {"steps_done": n}),
            stop_early=lambda s: True)
    ckpt.close()
    ckpt = checkpoint.Checkpoints(tmp_path / "ck")
    state, meta = ckpt.restore(trainer.init(keys, hp))
    assert meta["steps_done"] == 10
    resumed = trainer(keys, hp, jnp.float32(1.0), state=state, start_step=meta["steps_done"])
    ckpt.close()
    for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)


def test_mismatched_settings_are_refused_by_name(tmp_path):
    saved = {"model": "lenet5", "steps": 100, "lr": 0.05}
    checkpoint.refuse_mismatch(saved, dict(saved), tmp_path)
    with pytest.raises(checkpoint.CheckpointMismatchError) as err:
        checkpoint.refuse_mismatch(saved, {**saved, "steps": 200, "seeds": 2}, tmp_path)
    message = str(err.value)
    assert "steps: checkpoint 100 vs now 200" in message and "seeds: checkpoint '<absent>' vs now 2" in message
    assert "lr" not in message and str(tmp_path) in message


def test_restore_from_an_empty_directory_fails_clearly(tmp_path):
    with checkpoint.Checkpoints(tmp_path / "empty") as ckpt, pytest.raises(FileNotFoundError, match="no checkpoint"):
        ckpt.restore({"x": jnp.zeros(3)})
