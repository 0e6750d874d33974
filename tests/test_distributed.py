"""Multi-process runs (jaxdl.training.distributed) with two processes on 127.0.0.1, one host device each: the same
results as one process with two devices, process 0 alone writing; refusals and timeouts end with the fix."""

import json
import os
import re
import socket
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl import flags
from conftest import REPO, run_experiment

from jaxdl.training import distributed, engine

LAUNCH_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(argv_for, processes: int = 2, timeout: int = LAUNCH_TIMEOUT_S,
           env_for=lambda i: {}) -> list[subprocess.CompletedProcess]:
    """Starts `processes` python processes (argv_for(i) after `python`, env_for(i) added to the
    environment), each with one host device, and waits for all; on a timeout or any error here every one
    is killed, so none is left behind."""
    # This test process's XLA_FLAGS (set by runtime.configure() in conftest) would override JAXDL_HOST_DEVICES.
    xla_flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "", os.environ.get("XLA_FLAGS", "")).strip()
    env = {**os.environ, "XLA_FLAGS": xla_flags, "JAXDL_HOST_DEVICES": "1", "PYTHONUNBUFFERED": "1",
           "MPLBACKEND": "Agg"}
    procs = [subprocess.Popen([sys.executable, *argv_for(i)], cwd=REPO, env={**env, **env_for(i)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(processes)]
    try:
        results = []
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def launch_experiment(module: str, args: list[str], per_process=lambda i: [], timeout_s: int = 120):
    port = free_port()
    return launch(lambda i: ["-m", module, f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2",
                             f"--process_id={i}", f"--distributed_timeout_s={timeout_s}", *args, *per_process(i)])


def comparable(summary: dict) -> dict:
    """The results of a summary: provenance, timings and the output path removed."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()
                    if k not in ("provenance", "out", "cpu_s") and not k.endswith(("_s", "_per_s"))
                    and not k.startswith(("train_s", "images_per_s", "seconds_per"))}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(summary)


def check_same_as_one_process(module: str, args: list[str], tmp_path) -> dict:
    two = tmp_path / "two"
    procs = launch_experiment(module, [*args, f"--out={two}"])
    for i, p in enumerate(procs):
        assert p.returncode == 0, f"process {i}:\n{p.stderr[-3000:]}"
    run_experiment(module, *args, f"--out={tmp_path / 'one'}")  # this process: one process, two host devices
    a, b = (json.loads((d / "summary.json").read_text()) for d in (two, tmp_path / "one"))
    assert comparable(a) == comparable(b)
    # Process 0 wrote exactly what a one-process run writes; process 1 wrote nothing beside it.
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
    device = a["provenance"]["device"]
    assert device["process_count"] == 2 and device["device_count"] == 2
    assert [d.endswith(f"(process {i})") for i, d in enumerate(device["devices"])] == [True, True]
    assert b["provenance"]["device"]["process_count"] == 1
    return a


def test_fc_grid_two_processes_equal_one_process(tmp_path):
    summary = check_same_as_one_process("experiments.fc_grid", [
        "--loss=ce", "--seeds=4", "--steps=300", "--lr=3", "--chunk_steps=100", "--time_models=0"], tmp_path)
    # Every model reaches 100% train accuracy, so the comparison above covers 8 real hit steps.
    iterations = {f"{c['activation']}-{c['loss']}": c["by_lr"][0]["iterations"] for c in summary["data"]["cells"]}
    assert sorted(iterations) == ["relu-ce", "sigmoid-ce"]
    assert all(len(v) == 4 and max(v) < 300 for v in iterations.values()), iterations


def test_cnn_aux_two_processes_equal_one_process(tmp_path):
    # The minibatch path: per-model batch indices, evaluation inside the step, a [models, ...] state.
    check_same_as_one_process("experiments.cnn_aux", [
        "--dataset=digits", "--seeds=2", "--aux_weight=0,1", "--steps=20", "--record_every=5", "--eval_every=10",
        "--batch_size=32", "--chunk_steps=10", "--target_acc=0.3", "--validation_fraction=0.2"], tmp_path)


def test_mismatched_flags_are_refused_by_every_process(tmp_path):
    out = tmp_path / "out"
    procs = launch_experiment("experiments.fc_grid", ["--steps=100", f"--out={out}"],
                              per_process=lambda i: [f"--seeds={2 + i}"])
    for i, p in enumerate(procs):
        assert p.returncode != 0
        assert "flags differ between processes: --seeds" in p.stderr, p.stderr[-2000:]
        assert f"seeds={2 + i}" in p.stderr
    assert not out.exists()


def test_coordinator_that_never_answers_fails_with_the_fix(tmp_path):
    # Process 1 of 2 alone: nobody listens at the coordinator's port.
    port, out = free_port(), tmp_path / "out"
    (proc,) = launch(lambda i: ["-m", "experiments.fc_grid", f"--coordinator_address=127.0.0.1:{port}",
                                "--num_processes=2", "--process_id=1", "--distributed_timeout_s=2",
                                f"--out={out}"], processes=1, timeout=120)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"the coordinator at 127.0.0.1:{port} did not gather all 2 processes within 2 s" in proc.stderr
    assert "--distributed_timeout_s" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("values, message", [
    ({"num_processes": 2}, "needs all of --coordinator_address"),
    ({"coordinator_address": "127.0.0.1:1", "num_processes": 2, "process_id": 2}, "--process_id=2 must be <"),
    ({"coordinator_address": "localhost", "num_processes": 2, "process_id": 0}, "must be HOST:PORT"),
])
def test_bad_runtime_flags_are_refused_before_any_connection(values, message):
    fv = flags.FlagValues()
    distributed.define_flags(fv)
    fv(["prog", *(f"--{k}={v}" for k, v in values.items())])
    with pytest.raises(distributed.DistributedError, match=message):
        distributed.initialize(fv)


def test_single_process_is_left_alone():
    assert not distributed.initialize()  # no flags, no cluster: nothing started
    assert distributed.is_writer()
    distributed.check_same_flags()  # one process: nothing to compare
    x = jnp.arange(6.0)
    np.testing.assert_array_equal(distributed.fetch({"x": x})["x"], np.arange(6.0))


CHECKPOINT_PROBE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from absl import flags
    from jaxdl.experiment import runtime
    runtime.configure()
    import jax
    from jaxdl.training import checkpoint, distributed
    distributed.define_flags()
    flags.FLAGS(sys.argv[:1] + sys.argv[2:])
    distributed.initialize()
    print(f"process {jax.process_index()} of {jax.process_count()}")
    base = Path(sys.argv[1])
    checkpoint.require_shared_directory(base / "shared")
    print("shared ok")
    try:  # each process its own directory: what node-local disks look like
        checkpoint.require_shared_directory(base / f"local{jax.process_index()}")
    except checkpoint.CheckpointError as err:
        print("refused:", err)
""")


def test_slurm_job_joins_without_flags_and_checkpoints_need_a_shared_directory(tmp_path):
    # What `srun --ntasks=2` sets (JAX's SLURM detector reads these); the port is JAX's override of the one
    # it derives from the job id, so that parallel test runs do not collide.
    port = free_port()
    slurm = lambda i: {"SLURM_JOB_ID": "4242", "SLURM_STEP_NODELIST": "localhost", "SLURM_NTASKS": "2",
                       "SLURM_PROCID": str(i), "SLURM_LOCALID": str(i), "JAX_COORDINATOR_PORT": str(port)}
    procs = launch(lambda i: ["-c", CHECKPOINT_PROBE, str(tmp_path), "--distributed_timeout_s=120"], env_for=slurm)
    for i, p in enumerate(procs):
        assert p.returncode == 0, p.stderr[-2000:]
        assert f"process {i} of 2" in p.stdout
        assert "shared ok" in p.stdout
        assert "refused: process(es) [1] cannot see" in p.stdout and "--workdir must be on a file system" in p.stdout
    assert not [p for p in (tmp_path / "shared").iterdir()]  # the probe file is removed


def test_done_stops_like_stop_early_and_counts_diverged_models_as_done():
    """`done` (per model, on device) ends training at the same chunk as the equivalent host-side
    `stop_early`; a model whose state turned non-finite (frozen) does not keep the others running."""

    def init(key, hp):
        return {"x": jnp.float32(0.0), "rate": hp["rate"]}

    def step(state, data, t):
        x = state["x"] + state["rate"]
        return {"x": x, "rate": state["rate"]}, {"x": x}

    task = engine.Task(init=init, step=step)
    trainer = engine.make_train(task, steps=100, chunk_steps=10, record_every=5)
    keys = engine.seed_keys(np.arange(3))
    hparams = {"rate": np.float32([1.0, 2.0, 4.0])}
    by_done = trainer(keys, hparams, None, done=lambda s: s["x"] >= 30)
    by_host = trainer(keys, hparams, None, stop_early=lambda s: bool(np.all(s["task"]["x"] >= 30)))
    assert by_done.steps_run == by_host.steps_run == 30
    np.testing.assert_array_equal(by_done.state["x"], by_host.state["x"])
    # A model that becomes inf at step 0 is frozen, hence done; the others decide alone.
    diverging = trainer(keys, {"rate": np.float32([1.0, np.inf, 4.0])}, None, done=lambda s: s["x"] >= 30)
    assert diverging.diverged.tolist() == [False, True, False] and diverging.steps_run == 30


def test_fetch_gathers_only_non_addressable_arrays(monkeypatch):
    calls = []
    monkeypatch.setattr(distributed.multihost_utils, "process_allgather",
                        lambda x, tiled=False: calls.append(x) or np.asarray(x))
    sharded = jax.device_put(jnp.arange(4.0), jax.sharding.NamedSharding(engine.device_mesh(),
                                                                         jax.sharding.PartitionSpec("models")))
    np.testing.assert_array_equal(distributed.fetch([sharded, np.ones(2)])[0], np.arange(4.0))
    assert calls == []  # one process: every array is addressable, a plain device_get
