"""The model zoo experiment: SIGKILL mid-run + rerun = an uninterrupted run, bit for bit; refusals; verdicts."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO, assert_cli_rejects, run_cli, run_experiment

from experiments import svhn_zoo
from experiments.svhn_zoo import skips, zoo
from jaxdl.tasks import recipe


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("data_cache")


def tiny(cache, out, *extra):
    return ["--models=lenet5", "--dataset=svhn_synth", "--train_size=256", "--test_size=64", "--seeds=2",
            "--batch_size=16", "--steps=48", "--chunk_steps=8", "--record_every=4", f"--data_cache_dir={cache}",
            f"--out={out}", "--skip_models=", *extra]


def checkpoint_steps(model_dir):
    """Finished checkpoint steps (orbax renames a step's directory into place once it is complete)."""
    return sorted(int(p.name) for p in model_dir.iterdir() if p.name.isdigit()) if model_dir.exists() else []


def test_sigkill_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path, cache):
    run_experiment("experiments.svhn_zoo", *tiny(cache, tmp_path / "straight"))  # here: no process to kill

    args = tiny(cache, tmp_path / "killed", f"--workdir={tmp_path / 'work'}", "--chunk_sleep_s=0.5")
    env = {**os.environ, "JAXDL_HOST_DEVICES": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "experiments.svhn_zoo", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not [s for s in checkpoint_steps(tmp_path / "work" / "lenet5") if s >= 16]:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = max(checkpoint_steps(tmp_path / "work" / "lenet5"))
    assert 16 <= killed_at < 48 and not (tmp_path / "killed" / "summary.json").exists()

    resumed = run_cli("experiments.svhn_zoo", *args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from the checkpoint at step" in resumed.stderr
    a = json.loads((tmp_path / "straight" / "summary.json").read_text())["data"]["models"][0]
    b = json.loads((tmp_path / "killed" / "summary.json").read_text())["data"]["models"][0]
    assert b["resumed_from_step"] >= killed_at
    assert a["params_sha256"] == b["params_sha256"] and len(set(a["params_sha256"])) == 2  # 2 distinct seeds
    assert a["test_acc"] == b["test_acc"] and a["test_loss_per_seed"] == b["test_loss_per_seed"]
    assert a["loss_history"] == b["loss_history"]  # the curves recorded before the kill came back too
    assert np.isfinite(np.asarray(a["loss_history"], float)).all()
    assert a["params"] == 62_006 and a["forward_flops_per_image"] > 0


def test_a_workdir_from_other_flags_is_refused_by_name(tmp_path, cache):
    args = tiny(cache, tmp_path / "a", f"--workdir={tmp_path / 'work'}")
    run_experiment("experiments.svhn_zoo", *args[:6], "--steps=8", *args[7:])
    assert_cli_rejects("experiments.svhn_zoo", tmp_path / "b", *args[:6], "--steps=8", *args[7:],
                       "--peak_lr=0.1", message="peak_lr: checkpoint 0.0005 vs now 0.1", creates_out=True)


@pytest.mark.parametrize("flags, message", [
    (["--models=lenet5,resnet9"], "--models=lenet5,resnet9: 'resnet9' is not one of lenet5, alexnet"),
    (["--batch_size=1000"], "exceeds the 256 training examples"),
    (["--dataset=digits"], "cannot be padded"),
    (["--seeds=0"], "--seeds=0: must be >= 1"),
    # One seed on 2 devices: both split its batch (auto), so the batch must be even.
    (["--seeds=1", "--batch_size=15"], "--batch_size=15 is not divisible by the 2 devices that split"),
    (["--batch_shards=3"], "--batch_shards=3 does not divide the 2 devices"),
])
def test_bad_flags_fail_clearly_and_write_nothing(tmp_path, cache, flags, message):
    args = [a for a in tiny(cache, tmp_path / "out") if not a.startswith("--out=")]
    assert_cli_rejects("experiments.svhn_zoo", tmp_path / "out", *args, *flags, message=message, creates_out=True)


def verdicts(synthetic=False, **accs):
    claims = svhn_zoo.ranking_claims(accs, "svhn_synth" if synthetic else "svhn_cropped", synthetic)
    assert [c.id for c in claims] == ["svhn_ranking", "lenet_suits_svhn", "resnets_less_effective"]
    return {c.id: c for c in claims}


def test_ranking_verdicts_go_through_the_paired_rule():
    assert verdicts(True, lenet5=[0.9], vgg16=[0.95])["svhn_ranking"].verdict.startswith(
        "not testable here (the data are svhn_synth")
    six = lambda base: [base + 0.001 * i for i in range(6)]  # noqa: E731  (six seeds: the sign test can decide)
    beaten = verdicts(lenet5=six(0.90), resnet18=six(0.95))
    assert beaten["lenet_suits_svhn"].verdict == "contradicted" and "resnet18 95." in beaten["svhn_ranking"].ours
    assert beaten["resnets_less_effective"].verdict == "contradicted"  # each ResNet below each of the others: no
    assert verdicts(lenet5=six(0.97), alexnet=six(0.94))["lenet_suits_svhn"].verdict == "supported"
    mixed = verdicts(lenet5=six(0.95), alexnet=six(0.94), vgg16=six(0.96))
    assert mixed["lenet_suits_svhn"].verdict == "partly supported — lenet5 minus alexnet, test accuracy: supported; " \
        "lenet5 minus vgg16, test accuracy: contradicted"  # each part named with its own word
    # Two seeds never decide at 95%: the claim stays open.
    assert verdicts(lenet5=[0.97, 0.96], alexnet=[0.95, 0.94])["svhn_ranking"].verdict.startswith("not resolved")
    assert verdicts(vgg16=six(0.9))["lenet_suits_svhn"].verdict.startswith("not testable here (needs")


def test_vgg_small_filters_is_read_from_the_model():
    [claim] = svhn_zoo.vgg_claim(["lenet5", "alexnet", "vgg16"])
    assert claim.verdict == "supported" and "every convolution 3x3" in claim.ours and "5 max-pooling" in claim.ours


def test_full_preset_refuses_too_few_seeds_to_decide():
    from absl import flags as absl_flags

    cfg = svhn_zoo.Config.full()
    assert cfg.seeds == 6
    with pytest.raises(absl_flags.ValidationError, match="--seeds >= 6"):
        dataclasses.replace(cfg, seeds=3).validate()


def test_peak_lr_is_the_recipes_but_lower_for_resnet50_101_on_the_cpu_budgets_and_a_flag_overrides_both():
    default = svhn_zoo.Config()
    assert [default.model_lr(m) for m in ("lenet5", "resnet18", "resnet50", "resnet101")] == [5e-4, 5e-4, 1e-4, 1e-4]
    # Outside the CPU budgets (--steps, --epochs, --scale=full) every model gets the recipe's peak lr.
    for cfg in (svhn_zoo.Config(steps=10), svhn_zoo.Config(epochs=1.0), svhn_zoo.Config.full()):
        assert cfg.model_lr("resnet50") == cfg.model_lr("lenet5") == recipe.Recipe.peak_lr
    assert {svhn_zoo.Config(peak_lr=0.02).model_lr(m) for m in ("lenet5", "resnet101")} == {0.02}


def test_skip_rows_test_a_larger_first_over_last_ratio_with_skips_paired_by_seed():
    grads = {"resnet18": {"blocks": 8, "log10_first_over_last_skip": [0.3] * 6,
                          "log10_first_over_last_plain": [0.6 + 0.01 * i for i in range(6)]}}
    rows = skips.table_rows(grads)
    assert rows[0][4].verdict == "contradicted" and rows[0][4].n == 6  # a stats.Paired: data, formatted in summary.md
    assert rows[0][:2] == ["resnet18", 8] and np.isclose(rows[0][2], 10 ** 0.3)


def test_28x28_images_are_padded_to_32x32_around_the_centre():
    images = np.full((2, 28, 28, 1), 7, np.uint8)
    padded = zoo.to_32x32(images)
    assert padded.shape == (2, 32, 32, 1) and padded[:, 2:30, 2:30].min() == 7
    assert padded.sum() == images.sum()
    assert zoo.to_32x32(np.zeros((1, 32, 32, 3), np.uint8)).shape == (1, 32, 32, 3)


def test_block_gradient_norms_are_the_norms_of_each_blocks_gradient():
    import jax
    import jax.numpy as jnp

    from jaxdl.data import batching
    from jaxdl.models import ResNet
    from jaxdl.models.resnet import BasicBlock

    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8), np.arange(6) % 10
    model = ResNet(stage_sizes=(1, 3), block_cls=BasicBlock, num_filters=4, zero_init_last_bn=False)
    # Three seeds over two devices: padded to four, as in the second call below (the same shapes).
    norms = skips.block_grad_norms(model, images, labels, seed_ids=[0, 5, 9])
    assert norms.shape == (3, 4) and (norms > 0).all()

    # By hand for seed 5, with flax's own convolutions: block order stage0_block0, stage1_block0, then
    # the two scanned blocks of stage 1 (parameters stacked on axis 0).
    mean, std = batching.channel_stats(images)
    x = (jnp.asarray(images, jnp.float32) / 255.0 - mean) / std
    variables = jax.jit(lambda v: model.init(jax.random.key(5), v, train=False))(x[:1])

    def loss(params):
        logits, _ = model.apply({**variables, "params": params}, x, train=True, mutable=["batch_stats"])
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(6), labels])

    grads = jax.jit(jax.grad(loss))(variables["params"])
    norm = lambda tree: np.sqrt(sum(float(jnp.sum(g**2)) for g in jax.tree.leaves(tree)))  # noqa: E731
    expected = [norm(grads["stage0_block0"]), norm(grads["stage1_block0"]),
                *(norm(jax.tree.map(lambda g, j=j: g[j], grads["stage1_blocks"])) for j in range(2))]
    np.testing.assert_allclose(norms[1], expected, rtol=1e-4)
    assert not np.allclose(norms[0], norms[1])  # each seed its own initialisation
    # Seeds split over the devices (padded where they do not divide): a seed's norms do not depend on
    # which others are measured beside it.
    three = skips.block_grad_norms(model, images, labels, seed_ids=[7, 5, 0])
    assert three.shape == (3, 4)
    np.testing.assert_allclose(three[[2, 1]], norms[:2], rtol=1e-4)
