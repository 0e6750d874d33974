"""The persistent compilation cache: on by default in the chosen directory, reported as hit on the second
process, and harmless (a warning, not a failure) where the directory cannot be written."""

import json
import os
import subprocess
import sys

from conftest import REPO

TRAIN = """
import json, warnings
warnings.simplefilter("always")
from jaxdl.experiment import runtime
runtime.configure()  # what every entry point does first
import jax, jax.numpy as jnp, numpy as np
from jaxdl.training import engine
task = engine.Task(init=lambda key, hp: {"w": jax.random.normal(key, (8, 8)), "lr": hp["lr"]},
                   step=lambda s, x, t: ({**s, "w": jnp.tanh(s["w"] @ x) * s["lr"]}, {"loss": jnp.sum(s["w"])}))
result = engine.make_train(task, steps=20, record_every=10)(engine.seed_keys(range(4)),
                                                            {"lr": np.ones(4, np.float32)}, jnp.eye(8))
print(json.dumps({"dir": jax.config.jax_compilation_cache_dir, "hit": result.compile_cache_hit,
                  "finite": bool(np.isfinite(result.state["w"]).all())}))
"""


def train_in_subprocess(**env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "JAXDL_COMPILE"))}
    # Cache even this tiny program, so that the test needs no slow compile to see a hit.
    full_env |= {"JAXDL_HOST_DEVICES": "2", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", **env}
    proc = subprocess.run([sys.executable, "-c", TRAIN], cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_second_process_loads_the_program_from_the_chosen_directory(tmp_path):
    cache = tmp_path / "xla"
    first, _ = train_in_subprocess(JAXDL_COMPILE_CACHE_DIR=str(cache))
    assert first == {"dir": str(cache), "hit": False, "finite": True}
    assert any(p.name.startswith("jit__chunk_local") for p in cache.iterdir())
    second, _ = train_in_subprocess(JAXDL_COMPILE_CACHE_DIR=str(cache))
    assert second == {"dir": str(cache), "hit": True, "finite": True}


def test_an_unwritable_cache_directory_warns_and_trains_without_it(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")  # makedirs fails on it even as root
    result, stderr = train_in_subprocess(JAXDL_COMPILE_CACHE_DIR=str(blocker / "xla"))
    assert result == {"dir": None, "hit": False, "finite": True}
    assert "not writable" in stderr and "JAXDL_COMPILE_CACHE_DIR" in stderr


def test_an_empty_setting_turns_the_cache_off(tmp_path):
    result, stderr = train_in_subprocess(JAXDL_COMPILE_CACHE_DIR="", HOME=str(tmp_path), XDG_CACHE_HOME="")
    assert result["dir"] is None and "not writable" not in stderr
    assert not (tmp_path / ".cache").exists()
