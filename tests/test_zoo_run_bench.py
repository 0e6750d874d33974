"""The zoo's whole-run benchmark (benchmarks/zoo_run_bench.py, benchmarks/torch_zoo.py's --model form) and the
zoo's per-seed test evaluation on every device (experiments/svhn_zoo/zoo.evaluate_seeds). No timing asserts."""

import importlib.util
import json
import subprocess
import sys

import jax
import numpy as np
import pytest
from conftest import REPO

from benchmarks import run as bench_run
from benchmarks import zoo_run_bench
from experiments.svhn_zoo import zoo
from jaxdl.tasks import recipe
from jaxdl.training import engine

STEADY = """# Benchmarks

## Model zoo: training throughput (svhn_zoo recipe)

| model | batch | steps / call | images/s (median) | ours / PyTorch |
|---|---|---|---|---|
| resnet18 | 32 | 2 | 58.2 | 0.93x |
| resnet50 | 32 | 2 | 22.1 | 1.26x |

## Landscape

| resnet18 | 1 | 2 | 3 | 9.99x |
"""


def test_steady_ratios_are_read_from_the_zoo_section_only():
    assert zoo_run_bench.steady_ratios(STEADY) == {"resnet18": "0.93x", "resnet50": "1.26x"}
    assert zoo_run_bench.steady_ratios("# Benchmarks\n\n## Landscape\n") == {}


def test_parse_torch_reads_the_last_json_line_and_names_what_is_missing():
    out = "warning: something\n" + json.dumps({"images": 768, "train_s": 16.5, "wall_s": 1}) + "\n"
    assert zoo_run_bench.parse_torch(out)["images"] == 768
    with pytest.raises(ValueError, match="no JSON"):
        zoo_run_bench.parse_torch("Traceback ...\n")
    with pytest.raises(ValueError, match="train_s"):
        zoo_run_bench.parse_torch('{"images": 768}\n')


def test_ours_row_counts_every_seeds_images_from_the_summary():
    summary = {"data": {"models": [{"train_s": 16.0, "compile_s": 2.5, "steps": 12, "batch_size": 32}]}}
    row = zoo_run_bench.ours_row(40.0, summary)
    assert row == {"wall_s": 40.0, "train_s": 16.0, "compile_s": 2.5, "images": zoo_run_bench.SEEDS * 12 * 32}


def test_the_section_is_registered_with_benchmarks_run():
    assert bench_run.SECTIONS["zoo_run"] == "benchmarks.zoo_run_bench"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_torch_whole_run_cli_prints_what_the_bench_parses():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.torch_zoo", "--model=lenet5", "--steps=2", "--batch=8",
                           "--seeds=2", "--threads=1", "--train_size=64", "--test_size=16"], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = zoo_run_bench.parse_torch(proc.stdout)
    assert out["images"] == 2 * 2 * 8 and len(out["test_acc"]) == 2 and len(out["final_loss"]) == 2
    assert all(out[k] >= 0 for k in ("data_s", "train_s", "eval_s"))


def test_evaluate_seeds_on_every_device_equals_one_seed_at_a_time_on_one_device_bit_for_bit():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 64).astype(np.int32)
    _, task = recipe.make_task("lenet5", recipe.Recipe(batch_size=8), steps=2, train=(images, labels), eval_size=24,
                               num_classes=10, eval_every=None)
    trainer = engine.make_train(task, steps=2, chunk_steps=2, record_every=1)
    seeds = 3  # more seeds than the 2 test devices: the third goes back to the first
    state = trainer(engine.seed_keys(range(seeds)), {}, recipe.device_data((images, labels), images[:24],
                                                                           labels[:24])).state
    test_x, test_y = images[:24], labels[:24]
    got = zoo.evaluate_seeds(task.evaluate, state["params"], state["extra"], test_x, test_y)
    want = []
    for m in range(seeds):
        params, extra = (jax.tree.map(lambda a, m=m: a[m:m + 1], state[k]) for k in ("params", "extra"))
        loss, acc = task.evaluate(params, extra, jax.numpy.asarray(test_x), jax.numpy.asarray(test_y))
        want.append((float(loss[0]), float(acc[0])))
    assert got == want and len(set(got)) > 1
