"""--tensorboard_dir: every model's recorded metrics, read back from the event files, equal the Result's."""

import struct
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_cli_rejects, run_experiment
from tensorboardX.proto import event_pb2

from jaxdl.training import engine, tensorboard


def read_scalars(run: Path) -> dict[str, dict[int, float]]:
    """{tag: {step: value}} of the event files in `run` (TFRecord framing: length, CRC, event, CRC)."""
    out = {}
    for path in sorted(run.glob("events.out.tfevents.*")):
        data, pos = path.read_bytes(), 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for v in event.summary.value:
                out.setdefault(v.tag, {})[event.step] = v.simple_value
    return out


def counter_task():
    def init(key, hp):
        return {"x": jnp.float32(0.0), "rate": hp["rate"]}

    def step(state, data, t):
        x = state["x"] + state["rate"]
        return {**state, "x": x}, {"x": x, "pair": jnp.stack([x, -x])}

    return engine.Task(init=init, step=step)


def test_each_models_scalars_are_its_recorded_metrics(tmp_path):
    trainer = engine.make_train(counter_task(), steps=40, chunk_steps=20, record_every=5, group=None)
    rates = np.float32([0.5, 1.0, 2.0])
    with tensorboard.recording(tmp_path) as recorder:
        assert tensorboard.active() is recorder
        result = trainer(engine.seed_keys(range(3)), {"rate": rates}, None, label="counter run")
    assert tensorboard.active() is None
    runs = sorted(p.name for p in (tmp_path / "counter_run").iterdir())
    assert runs == ["model_0000", "model_0001", "model_0002"]
    for k in range(3):
        scalars = read_scalars(tmp_path / "counter_run" / runs[k])
        assert sorted(scalars) == ["pair/0", "pair/1", "x"]
        steps = list(result.record_steps)
        assert sorted(scalars["x"]) == steps == [0, 5, 10, 15, 20, 25, 30, 35]
        np.testing.assert_allclose([scalars["x"][s] for s in steps], result.metrics["x"][k])
        np.testing.assert_allclose([scalars["pair/1"][s] for s in steps], -result.metrics["x"][k])
        np.testing.assert_allclose(scalars["x"][35], 36 * rates[k])  # metrics before update t: t + 1 updates


def test_no_directory_writes_nothing(tmp_path):
    with tensorboard.recording("") as recorder:
        assert recorder is None and tensorboard.active() is None


def test_the_flag_writes_one_run_per_model_of_an_experiment(tmp_path):
    out = run_experiment("experiments.xor", "--seeds=2", "--steps=100", "--widths=2", "--lr=1",
                         "--chunk_steps=50", f"--tensorboard_dir={tmp_path / 'tb'}", f"--out={tmp_path / 'xor'}")
    runs = sorted(p.relative_to(tmp_path / "tb").as_posix() for p in (tmp_path / "tb").glob("*/model_*"))
    assert runs and all(r.split("/")[1].startswith("model_") for r in runs)
    assert (out / "summary.json").exists()
    assert any(read_scalars(tmp_path / "tb" / r) for r in runs)


def test_without_tensorboardx_the_flag_names_the_install(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    hidden = lambda name, *a: None if name == "tensorboardX" else real(name, *a)  # noqa: E731
    monkeypatch.setattr(importlib.util, "find_spec", hidden)
    assert_cli_rejects("experiments.xor", tmp_path / "never", f"--tensorboard_dir={tmp_path / 'tb'}",
                       message="--tensorboard_dir needs tensorboardX: pip install -e '.[tensorboard]'")


@pytest.mark.parametrize("label, run", [("sgd batch 32", "sgd_batch_32"), ("", "train"), ("a/b", "a_b")])
def test_run_names_are_safe_directory_names(tmp_path, label, run):
    recorder = tensorboard.Recorder(tmp_path)
    recorder.write(label, {"x": np.ones((1, 2))}, np.array([0, 1]))
    recorder.close()
    assert (tmp_path / run / "model_0000").is_dir()


def test_an_unwritable_directory_is_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("")
    assert_cli_rejects("experiments.xor", tmp_path / "never", f"--tensorboard_dir={tmp_path / 'file'}",
                       message="is a file, not a directory; pass a directory with --tensorboard_dir")
