"""Dense-net sweep throughput: configurations trained per second, batched by the engine vs one by one.

Workload: the mnist_dense experiment's own training (experiments/mnist_dense/: 784-128-64-32-10, Adam,
inputs /255, mnist5k with 800 of its 4,000 training images held out and evaluated after every epoch,
best-epoch weights kept), CONFIGS = 5 learning rates x 2 seeds, EPOCHS epochs each, at batch 32 and 128.
Contenders, all running the same classify task step:

* engine default: one call trains every configuration (lr a per-model value, models sharded over the
  host devices), group "auto" (make_train's default: `engine.auto_group`, 2 on CPU for this net);
* engine, group 1 and vmap all: the same with one model at a time per device (lax.map) and with one
  vmap over each device's models;
* one by one: the task step in a jitted `lax.scan` for one model, the lr a traced argument (compiled
  once), the configurations run in turn;
* plain vmap, no engine: that jitted scan vmapped over all configurations on one device; the gap to the
  engine rows is the engine's own work (divergence guard, sharding, recording) less what the second
  device brings.

Unit: configurations trained per second (EPOCHS epochs each), compile excluded, median of REPEATS;
contenders interleaved within each repeat (the machine is shared: load hits them alike).

    python -m benchmarks.mnist_bench        # prints a markdown section
"""

from __future__ import annotations

import statistics

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import timing, workloads
from jaxdl.data import load, split_validation
from jaxdl.experiment import runtime
from jaxdl.models import get_model
from jaxdl.reporting.summary import Table
from jaxdl.tasks import classify
from jaxdl.training import engine, optim

LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
SEEDS = 2
EPOCHS = 1
BATCH_SIZES = (32, 128)
REPEATS = 5
ONE_BY_ONE = "one by one (jit'd scan per configuration)"


def _setup(batch_size: int):
    """The mnist_dense experiment's task (its net is jaxdl.models' "mlp", 784-128-64-32-10), data and steps."""
    train, val = split_validation(load("mnist5k", "train"), 0.2, seed=0)
    data = {"train": (jnp.asarray(train.images), jnp.asarray(train.labels)),
            "eval": (jnp.asarray(val.images), jnp.asarray(val.labels))}
    spe = len(train) // batch_size
    task = classify.make_task(get_model("mlp", 10), optim.make_optimizer("adam"), num_train=len(train),
                              batch_size=batch_size, input_shape=train.shape, mean=0.0, std=1.0, eval_every=spe,
                              keep_best=True)
    return task, data, EPOCHS * spe


def _contenders(batch_size: int) -> dict:
    """name -> a function training every configuration once (blocking); the engine's default first."""
    task, data, steps = _setup(batch_size)
    keys = engine.seed_keys(np.tile(np.arange(SEEDS), len(LRS)))
    lrs = np.repeat(np.asarray(LRS, np.float32), SEEDS)

    def engine_run(group):
        trainer = workloads.one_chunk(task, steps, group=group, record_every=1)
        return lambda: trainer(keys, {"lr": lrs}, data).group

    # Every step's metrics kept, as the engine records them (record_every=1).
    scan = workloads.scan_train(task, data, steps, keep_metrics=True)

    @jax.jit
    def train_one(key, lr):
        state, metrics = scan(key, {"lr": lr})
        return state["best_eval_acc"], metrics

    def one_by_one():
        for key, lr in zip(keys, lrs, strict=True):
            jax.block_until_ready(train_one(key, lr))

    train_all = jax.jit(jax.vmap(train_one))
    devices = len(jax.devices())
    default = engine_run(engine.AUTO)
    return {f"engine default, {devices} devices, group auto (= {default()})": default,
            f"engine, {devices} devices, group 1": engine_run(1),
            f"engine, {devices} devices, vmap all": engine_run(None),
            ONE_BY_ONE: one_by_one,
            "plain jax.vmap of the same scan, 1 device, no engine": lambda: jax.block_until_ready(train_all(keys, lrs))}


def measure(batch_size: int, repeats: int = REPEATS) -> dict[str, list[float]]:
    """Seconds per contender per repeat, contenders interleaved (each called once untimed first)."""
    return {name: t.seconds for name, t in timing.side_by_side(_contenders(batch_size), repeats).items()}


def run(repeats: int = REPEATS) -> str:
    configs = len(LRS) * SEEDS
    device = f"{len(jax.devices())} x {jax.devices()[0].device_kind}"
    rows = []
    for batch_size in BATCH_SIZES:
        seconds = measure(batch_size, repeats)
        medians = {name: statistics.median(s) for name, s in seconds.items()}
        base, default = medians[ONE_BY_ONE], next(iter(medians.values()))
        rows += [(batch_size, name, med, timing.rate(configs, s), base / med, default / med)
                 for (name, s), med in zip(seconds.items(), medians.values(), strict=True)]
    lines = [
        "## Dense-net sweep (mnist_dense): configurations trained per second, batched vs one by one",
        "",
        f"{configs} configurations ({len(LRS)} learning rates x {SEEDS} seeds) of the 784-128-64-32-10 net, Adam, "
        f"{EPOCHS} epoch(s) of mnist5k (3,200 train, 800 validation evaluated each epoch). Device: {device} "
        f"({timing.cpu_text()}, JAX {jax.__version__}). Median of {repeats} interleaved repeats, compile excluded; "
        "the machine was shared, so compare rows of one table, not tables of different runs.",
        "",
        *Table("", ("batch", "contender", "s per sweep (median)", "configurations/s", "vs one by one",
                    "vs engine default"), rows,
               (None, None, ".2f", ".2f", lambda v: f"{v:.2f}x", lambda v: f"{v:.2f}x")).markdown(),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
