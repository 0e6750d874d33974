"""The model zoo's machinery (experiments/svhn_zoo/): 32x32 data, and every seed of one model trained
under jaxdl.tasks.recipe on the engine, resumable from orbax checkpoints, evaluated once on the test split.

    train, test = load_32x32(cfg.load, "svhn_synth", train_size=20_000, test_size=1_000)
    row = train_model("resnet18", steps=600, rec=recipe.Recipe(batch_size=32), train=train, test=test,
                      seed_ids=[0, 1], mesh=engine.device_mesh(), workdir="/tmp/zoo")

Checkpoints: the engine state (parameters, optimizer state, batch statistics, RNG, loss history) is saved
under WORKDIR/<model> after every chunk; a rerun continues from the last one and ends with bit-identical
weights on CPU (tests/test_svhn_zoo.py kills a run with SIGKILL). A workdir written with other settings
(`fingerprint`) is refused, naming them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, logging

from jaxdl.analysis import stats
from jaxdl.models import flops
from jaxdl.reporting import peaks
from jaxdl.tasks import recipe
from jaxdl.training import checkpoint, distributed, engine

ZOO = ("lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "resnet101")


def to_32x32(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, C] with 28 <= H, W <= 32 -> [N, 32, 32, C], zero-padded around the centre."""
    h, w = images.shape[1:3]
    if h > 32 or w > 32 or h < 28 or w < 28:
        raise ValueError(f"the zoo's models take 32x32 images; {h}x{w} cannot be padded to it (use a 28x28 or "
                         "32x32 dataset)")
    top, left = (32 - h) // 2, (32 - w) // 2
    return np.pad(images, ((0, 0), (top, 32 - h - top), (left, 32 - w - left), (0, 0)))


def load_32x32(load, dataset: str, *, train_size: int, test_size: int):
    """(train, test) of `dataset` through `load(name, split, size=...)` (a DataConfig's), images 32x32;
    a size of 0 is the whole split."""
    train = load(dataset, "train", size=train_size or None)
    test = load(dataset, "test", size=test_size or None)
    if train.shape[:2] != (32, 32):
        try:
            train = dataclasses.replace(train, images=to_32x32(train.images))
            test = dataclasses.replace(test, images=to_32x32(test.images))
        except ValueError as err:
            raise app.UsageError(str(err)) from err
    return train, test


def mesh(batch_shards: int, batch_size: int, seeds: int):
    """The engine's device mesh: `batch_shards` devices split each model's batch, or (0) the fewest that
    leave no device idle, devices / gcd(devices, seeds); the rest hold models. Bad values: app.UsageError."""
    devices = len(jax.devices())
    shards = batch_shards or devices // math.gcd(devices, seeds)
    if devices % shards:
        raise app.UsageError(f"--batch_shards={shards} does not divide the {devices} devices")
    if batch_size % shards:
        raise app.UsageError(f"--batch_size={batch_size} is not divisible by the {shards} devices that split "
                             f"each model's batch ({devices} devices, {seeds} seeds); pick a multiple of "
                             f"{shards}, or set --batch_shards")
    return engine.device_mesh(batch_shards=shards)


def params_sha256(params) -> str:
    """Hash of every parameter's bytes (bitwise identity of two runs' weights)."""
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(params):
        digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()[:16]


def _restore(workdir, name, fingerprint, trainer, keys):
    """(checkpoints, state, start step, train seconds before) for a resumable run; (None, None, 0, 0.0)
    without a workdir."""
    if not workdir:
        return None, None, 0, 0.0
    ckpt = checkpoint.Checkpoints(Path(workdir) / name)
    if ckpt.latest_step() is None:
        return ckpt, None, 0, 0.0
    checkpoint.refuse_mismatch(ckpt.metadata()["fingerprint"], fingerprint, ckpt.directory,
                               hint=", or pass a new --workdir")
    state, meta = ckpt.restore(trainer.init(keys, {}))
    logging.info("%s: resuming from the checkpoint at step %d in %s", name, meta["steps_done"], ckpt.directory)
    return ckpt, state, meta["steps_done"], meta["train_s"]


def train_model(name: str, *, steps: int, rec: recipe.Recipe, train, test, seed_ids, mesh, dtype=jnp.float32,
                group: int | str | None = engine.AUTO, record_every: int = 2, chunk_steps: int = 50, workdir: str = "",
                fingerprint: dict | None = None, chunk_sleep_s: float = 0.0) -> dict:
    """Trains every seed of `name` for `steps` steps (`group` seeds vmapped together: the engine's rule by
    default) and evaluates the final weights on `test`. Returns the model's row: parameters,
    forward FLOPs per image, test accuracy per seed, loss history [seeds, records], weights' hashes,
    divergences, train seconds (compile and model init excluded), images/s, and the MFU on a GPU."""
    model, task = recipe.make_task(name, rec, steps=steps, train=(train.images, train.labels),
                                   eval_size=len(test), num_classes=train.num_classes,
                                   eval_every=None, dtype=dtype, batch_sharding=engine.batch_sharding(mesh))
    task = checkpoint.with_metric_history(task, steps=steps, record_every=record_every, names=("loss", "acc"))
    trainer = engine.make_train(task, steps=steps, chunk_steps=chunk_steps, record_every=record_every,
                                group=group, mesh=mesh)
    keys = engine.seed_keys(seed_ids)
    data = recipe.device_data((train.images, train.labels), test.images, test.labels)
    fingerprint = {"model": name, "steps": steps, **(fingerprint or {})}
    ckpt, state, start, train_s_before = _restore(workdir, name, fingerprint, trainer, keys)

    t_call = time.perf_counter()
    if start < steps:
        def on_chunk(state, steps_done):
            if ckpt is not None:
                train_s = (train_s_before + time.perf_counter() - t_call - trainer.last_compile_s
                           - trainer.last_init_s)
                ckpt.save(steps_done, state, {"fingerprint": fingerprint, "steps_done": steps_done,
                                              "train_s": train_s})
            if chunk_sleep_s:  # lets tests and demos kill a run between two saved chunks
                if ckpt is not None:
                    ckpt.wait()
                time.sleep(chunk_sleep_s)

        result = trainer(keys, {}, data, state=state, start_step=start, on_chunk=on_chunk, label=name)
        final, diverged_at = result.state, result.diverged_at
        compile_s, train_s = result.compile_s, train_s_before + result.wall_s
    else:  # finished before: nothing to train, nothing to compile
        host = jax.tree.map(lambda x: np.asarray(x)[:len(seed_ids)], distributed.fetch(state))
        final, diverged_at, compile_s, train_s = host["task"], host["diverged_at"], 0.0, train_s_before
    if ckpt is not None:
        ckpt.close()

    inner = final["task"]
    evaluated = evaluate_seeds(task.evaluate, inner["params"], inner["extra"], test.images, test.labels)
    test_loss, test_acc = [loss for loss, _ in evaluated], [acc for _, acc in evaluated]
    hashes = [params_sha256(jax.tree.map(lambda a, m=m: a[m], inner["params"])) for m in range(len(seed_ids))]

    history = np.asarray(final["history"]["loss"], np.float64)
    fwd = flops.forward_flops(name, train.num_classes, train.shape)
    images_per_s = (len(seed_ids) * (steps - start) * rec.batch_size / (train_s - train_s_before)
                    if start < steps and train_s > train_s_before else None)
    row = {
        "model": name, "params": sum(int(np.prod(p.shape[1:])) for p in jax.tree.leaves(inner["params"])),
        "forward_flops_per_image": fwd, "steps": steps, "epochs": steps * rec.batch_size / len(train),
        "batch_size": rec.batch_size, "peak_lr": recipe.peak_lr(rec), "resumed_from_step": start,
        "test_acc": {**stats.mean_std(test_acc), "per_seed": test_acc}, "test_loss_per_seed": test_loss,
        "loss_history": history.tolist(), "params_sha256": hashes,
        "diverged": int(np.sum(np.asarray(diverged_at) >= 0)), "train_s": train_s, "compile_s": compile_s,
        "images_per_s": images_per_s, "group": trainer.group if start < steps else "none (resumed finished)",
    }
    peak, _ = peaks.peak_bf16(jax.devices()[0].device_kind)
    if jax.default_backend() == "gpu" and peak and images_per_s:
        row["mfu"] = 3 * fwd * images_per_s / (peak * len(jax.devices()))
    return row


def evaluate_seeds(evaluate, params, extra, images, labels, devices=None) -> list[tuple[float, float]]:
    """[(test loss, test accuracy)] per seed of stacked host `params`/`extra` [seeds, ...]: `evaluate` (a
    task's stacked evaluate) on each seed alone, seed m on device m mod the local devices, every seed
    dispatched before any result is read, so the devices (on CPU, the cores) evaluate side by side. Each seed
    runs the same program on its own inputs as one at a time on one device would, so the numbers are the same
    bit for bit (tests/test_zoo_run_bench.py); one device at a time would leave the other cores idle."""
    devices = devices or jax.local_devices()
    seeds = len(jax.tree.leaves(params)[0])
    x, y = np.asarray(images), np.asarray(labels, np.int32)
    shared = {d: jax.device_put((x, y), d) for d in devices[:seeds]}  # the test set once per device, not per seed
    pending = []
    for m in range(seeds):
        device = devices[m % len(devices)]
        mine = jax.device_put(jax.tree.map(lambda a, m=m: a[m:m + 1], (params, extra)), device)
        pending.append(evaluate(*mine, *shared[device]))
    return [(float(loss[0]), float(acc[0])) for loss, acc in pending]


def architecture_facts(name: str, input_shape=(32, 32, 3)) -> dict:
    """What a zoo model is made of, read from the model itself (shapes and the traced program; nothing runs):
    its convolution kernels' spatial sizes, its weight layers and its max-pooling layers."""
    from jaxdl.models import get_model

    model = get_model(name, 10)
    x = jnp.zeros((1, *input_shape), jnp.float32)
    variables = jax.eval_shape(lambda k: model.init(k, x, train=False), jax.random.key(0))
    kernels = [leaf.shape for path, leaf in jax.tree_util.tree_leaves_with_path(variables["params"])
               if path[-1].key == "kernel"]
    jaxpr = str(jax.make_jaxpr(lambda v: model.apply(v, x, train=False))(variables))
    return {"conv_kernels": sorted({tuple(k[:2]) for k in kernels if len(k) == 4}),
            "weight_layers": len(kernels), "max_pools": jaxpr.count("reduce_window_max")}
