r"""SVHN model zoo: LeNet-5, AlexNet, VGG-16, ResNet-18/50/101 under one recipe, an honest table, resumable.

Seed 004, question 4 reports SVHN test accuracies LeNet-5 97%, VGG 96%, AlexNet 95%, ResNet-18/50/101
88-91% from one run each, and concludes that the simplest net is best. Deep ResNets losing to LeNet-5
usually means under-training (different, untuned schedules per model). Here every model trains with the
same recipe (jaxdl.tasks.recipe), seeds on the engine, grouped by the engine's rule (jaxdl.training.grouping:
one at a time where a vmap over seeds would make the convolutions grouped ones and slower); the test split
is read once.

Protocol per model: train `steps` iterations (from --steps, --epochs or the CPU budget CPU_STEPS) for
each seed (zoo.train_model); evaluate the final weights on the test split; report parameters, forward
FLOPs per image (XLA's count of the compiled forward pass, jaxdl.models.flops), test accuracy mean ± std
over seeds, the training loss at the start and the end, training wall time (compile and init excluded), images/s
and, on a GPU, the model-FLOPs utilisation (3 x forward FLOPs per trained image / the chip's dense bf16
peak). Then, as context for the seed's reason "residual connections mitigate vanishing gradients" (answered
in trained nets by experiments.depth), each block's gradient norm at initialisation with and without the
shortcuts (experiments.svhn_zoo.skips), paired by seed.

Checkpoints (--workdir, experiments.svhn_zoo.zoo): a killed run, rerun, continues from its last chunk and ends with
bit-identical weights on CPU; a workdir written with other settings is refused, naming them.

Data: --dataset=svhn_synth (default, offline) is a SYNTHETIC stand-in (jaxdl.data.svhn_synth): on it the
seed's ranking is not testable. Real SVHN: prepare `svhn_cropped` with tfds (jaxdl.data) and pass
--dataset=svhn_cropped. 28x28 datasets are zero-padded to 32x32.

Command (CPU default: svhn_synth 20,000 train / 200 test, 2 seeds, batch 32, Adam, per-model step budgets in
CPU_STEPS (and peak lr 1e-4 for ResNet-50/101, CPU_PEAK_LR), then the skip-connection measurement on
ResNet-18/50, 6 initialisations):
    python -m experiments.svhn_zoo
Resumable:
    python -m experiments.svhn_zoo --workdir=/tmp/zoo        # kill it, rerun: it continues
Real SVHN on a GPU (--scale=full: svhn_cropped prepared with tfds, all 73,257 / 26,032 images, 6 seeds (the
fewest the paired rule can decide at), batch 128, 30 epochs per model, random crops; not yet run: real SVHN
cannot be had on the machines built on):
    python -m experiments.svhn_zoo --scale=full --workdir=/tmp/zoo_full

Runtime: ~12 min on 2 CPU cores (CPU default, empty compilation cache: 708 s; rerun, cache warm: 556 s;
the committed run, cores shared with other work: 943 s).

Expected (CPU default): test accuracy on the synthetic stand-in, mean ± std over 2 seeds: LeNet-5
83.00 ± 2.12% (0.96 epochs), AlexNet 55.00 ± 3.54% (0.4), VGG-16 68.00 ± 7.78% (0.32), ResNet-18 66.50 ±
0.00% (0.22): every one clearly above chance (10%). ResNet-50 and ResNet-101 (10 steps, 0.016 epochs, peak lr
1e-4) stay at chance (10.50%, 9.25%), but their training CE falls (median over seeds, first → last quarter:
2.739 → 2.451 and 2.683 → 2.463), still above chance's ln 10. The seed's ranking is not
testable on this data. At initialisation the first/last block gradient-norm ratio is 1.97 with skips and 4.1 without
(ResNet-18), 21.8 vs 470 (ResNet-50): with batch norm, the plain nets' early blocks get larger gradients,
not vanishing ones (context: experiments/depth/ answers that reason of the seed in trained nets).

CPU budgets: the recipe (jaxdl.tasks.recipe: Adam, peak lr 5e-4, warm-up then cosine, per-image
standardisation, residual branches not zero-initialised) and CPU_STEPS were chosen so that LeNet-5,
AlexNet, VGG-16 and ResNet-18 learn within the run's ~12 minutes (LeNet-5 ~1 epoch, the others 0.2-0.4)
and ResNet-50/101's training loss falls (ResNet-18 trains ~46 images/s here, ResNet-101 ~9). At the
recipe's 5e-4 the two deep nets' loss rose over 20 steps (ResNet-50 2.59 → 2.83 by fifths, one seed, even
with half the steps as warm-up), at 1e-4 it fell (2.59 → 2.33; ResNet-101 2.57 → 2.30): CPU_PEAK_LR.
No image is seen twice, so the CPU default does not augment.
Probes behind the recipe (one seed, batch 32, 500 test images, 2026-12-04, on a shared machine): ResNet-18
with Adam 1e-3 reached 83.6% after 150 steps with each block's last BN scale starting at 1 and 16.0% with
it at 0 (PyTorch's twin, benchmarks/torch_zoo.py, 68.6% after 200 steps); Adam 1e-3 at batch 16 left
AlexNet at 22.6% after 500 steps and VGG-16 at 19.6% after 200, Adam 5e-4 at batch 32 took them to 47.8%
(200 steps) and 30.8% (120); SGD + Nesterov with per-channel statistics (the previous recipe) left
ResNet-18 and AlexNet at chance for 150-400 steps at every learning rate tried (0.025-0.1).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from experiments.svhn_zoo import plots, skips, zoo
from jaxdl.analysis import stats
from jaxdl.data import IMAGE_DATASETS
from jaxdl.experiment import config, entry
from jaxdl.reporting import verdicts
from jaxdl.reporting.summary import Claim, Figure, Summary, Table
from jaxdl.tasks import classify, recipe
from jaxdl.training import checkpoint, engine

SEED_REPORT = {"lenet5": 0.97, "vgg16": 0.96, "alexnet": 0.95, "resnet18": {"lo": 0.88, "hi": 0.91},
               "resnet50": {"lo": 0.88, "hi": 0.91}, "resnet101": {"lo": 0.88, "hi": 0.91}}
# CPU default: steps per model at --batch_size, the fewest measured to take LeNet-5, AlexNet, VGG-16 and
# ResNet-18 clearly above chance (at 100 steps ResNet-18 reached 47.0%, at 140 67.25%), and for ResNet-50/101
# what keeps the run near 10 minutes (10 steps each: 38.5 s and 68.4 s for two seeds; at 20 their training CE fell
# 2.673 -> 2.376 and 2.693 -> 2.375, first -> last quarter, but the run took 12.5 min; at 10, 2.739 -> 2.445
# and 2.683 -> 2.431, and 11.8 min).
CPU_STEPS = {"lenet5": 600, "alexnet": 250, "vgg16": 200, "resnet18": 140, "resnet50": 10, "resnet101": 10}
# ... and a lower peak lr for ResNet-50/101 there: at the recipe's 5e-4 their training CE rose over 20 steps
# (first -> last fifth 2.59 -> 2.83 for ResNet-50, one seed, even with half the steps as warm-up); at 1e-4
# it fell (ResNet-50 2.59 -> 2.33, ResNet-101 2.57 -> 2.30; 2026-12-04).
CPU_PEAK_LR = {"resnet50": 1e-4, "resnet101": 1e-4}
SKIP_BATCH = 32  # training images in the skip-connection measurement's one batch
# The settings that decide a model's trajectory: a checkpoint written under others is refused.
FINGERPRINT = ("dataset", "data_source", "train_size", "test_size", "seeds", "first_seed", "batch_size", "optimizer",
               "peak_lr", "momentum", "weight_decay", "standardize", "zero_init_residual", "warmup_fraction",
               "crop_pad", "dtype", "record_every")


@dataclasses.dataclass(frozen=True)
class Config(classify.DataConfig, config.Common):
    models: tuple[str, ...] = config.field(zoo.ZOO, "Models to train, in order.", choices=zoo.ZOO)
    dataset: str = config.field("svhn_synth", "Image dataset (jaxdl.data); 28x28 is padded to 32x32.",
                                choices=IMAGE_DATASETS)
    train_size: int = config.field(20_000, "Training examples (0 = the whole split).", lower=0)
    test_size: int = config.field(200, "Test examples (0 = the whole split).", lower=0)
    seeds: int = config.field(2, "Seeds per model (seed k: the same data order at every model).", lower=1)
    steps: int = config.field(0, "Training steps for every model (0: from --epochs, else the per-model CPU "
                              "budget).", lower=0)
    epochs: float = config.field(0.0, "Epochs for every model (0: see --steps).", lower=0)
    batch_size: int = config.field(32, "Minibatch size.", lower=1)
    optimizer: str = config.field(recipe.Recipe.optimizer, "adam, or sgd (Nesterov momentum).",
                                  choices=recipe.OPTIMIZERS)
    peak_lr: float = config.field(0.0, "Peak learning rate after warm-up; for sgd at batch 128, scaled linearly "
                                  "with --batch_size (jaxdl.tasks.recipe). 0: the recipe's (5e-4), and on the CPU "
                                  "budgets "
                                  "CPU_PEAK_LR's for ResNet-50/101.", lower=0)
    momentum: float = config.field(recipe.Recipe.momentum, "Nesterov momentum (sgd).", lower=0, upper=1, strict=True)
    weight_decay: float = config.field(recipe.Recipe.weight_decay, "Weight decay on kernels (adam: decoupled).",
                                       lower=0)
    standardize: str = config.field(recipe.Recipe.standardize, "Input standardisation: per image, or per channel "
                                    "with training-set statistics.", choices=recipe.STANDARDIZE)
    zero_init_residual: bool = config.field(recipe.Recipe.zero_init_residual, "ResNets: start each block's last BN "
                                            "scale at 0 (Goyal et al.); slows short runs (jaxdl.tasks.recipe).")
    warmup_fraction: float = config.field(recipe.Recipe.warmup_fraction, "Share of the steps spent warming up.",
                                          lower=0, upper=1)
    # 0 on CPU: the budgets stay under one epoch, so no image is seen twice and augmentation only slows learning.
    crop_pad: int = config.field(0, "Random-crop padding in pixels (0 = no augmentation).", lower=0)
    dtype: str = config.field("auto", "Compute dtype: auto = bfloat16 on GPU/TPU, float32 on CPU; parameters "
                              "stay float32.", choices=("auto", *recipe.DTYPES))
    record_every: int = config.field(1, "Record the training loss every this many steps.", lower=1)
    chunk_steps: int = config.field(50, "Steps per compiled chunk: a progress line and a checkpoint each.", lower=1)
    group: int = config.field(-1, "Seeds vmapped together per device; 0 = all; -1 = the engine's rule "
                              "(jaxdl.training.grouping: one at a time for these nets on CPU, and on an "
                              "accelerator for the nets with more than 16 MB of state).", lower=-1)
    batch_shards: int = config.field(0, "Devices that split each model's batch (data parallelism); must divide the "
                                     "device count. 0 = auto: devices / gcd(devices, seeds), so no device idles.",
                                     lower=0)
    workdir: str = config.field("", "Checkpoint directory (one sub-directory per model). Rerunning with the same "
                                "settings resumes; others are refused. Default: no checkpoints.")
    chunk_sleep_s: float = config.field(0.0, "Sleep after each chunk's checkpoint (for tests and demos that kill "
                                        "a run mid-way).", lower=0)
    skip_models: tuple[str, ...] = config.field(("resnet18", "resnet50"), "ResNets whose per-block gradient norms "
                                                "at initialisation are measured with and without skip connections; "
                                                "empty: none.", choices=skips.MODELS, empty_ok=True)
    skip_seeds: int = config.field(6, "Initialisations for the skip measurement; the paired sign test needs 6 to "
                                   "decide.", lower=1)
    out: str = config.field("results/svhn_zoo", "Output directory.")

    @classmethod
    def full(cls):
        # stats.MIN_SEEDS (6): fewer seeds can never decide a paired comparison at 95%.
        return cls(scale="full", dataset="svhn_cropped", seeds=stats.MIN_SEEDS, batch_size=128, epochs=30.0,
                   train_size=0, test_size=0, chunk_steps=500, crop_pad=recipe.Recipe.crop_pad, record_every=10)

    def validate(self):
        if self.scale == "full" and self.seeds < stats.MIN_SEEDS:
            raise flags.ValidationError(f"--scale=full needs --seeds >= {stats.MIN_SEEDS}: with fewer the paired "
                                        "sign test can never decide (BUILD.md § Verdicts)")

    @property
    def cpu_budgets(self) -> bool:
        """Neither --steps nor --epochs: each model trains for its CPU_STEPS (at CPU_PEAK_LR where set)."""
        return not self.steps and not self.epochs

    def model_lr(self, name: str) -> float:
        """--peak_lr, or when it is 0 the recipe's, lowered on the CPU budgets where CPU_PEAK_LR says."""
        if self.peak_lr:
            return self.peak_lr
        return CPU_PEAK_LR.get(name, recipe.Recipe.peak_lr) if self.cpu_budgets else recipe.Recipe.peak_lr

    def model_steps(self, name: str, num_train: int) -> int:
        if self.cpu_budgets:
            steps = CPU_STEPS[name]
        else:
            steps = self.steps or max(1, round(self.epochs * num_train / self.batch_size))
        return -(-steps // self.record_every) * self.record_every  # whole record intervals



def _groups(rows) -> str:
    """The engine's resolved groups, as the summary states them (e.g. "1", or "lenet5: all, resnet18: 1")."""
    names = {r["model"]: "all" if r["group"] is None else str(r["group"]) for r in rows}
    return next(iter(names.values())) if len(set(names.values())) == 1 else \
        ", ".join(f"{k}: {v}" for k, v in names.items())


def run(cfg: Config) -> dict:
    train, test = zoo.load_32x32(cfg.load, cfg.dataset, train_size=cfg.train_size, test_size=cfg.test_size)
    if cfg.batch_size > len(train):
        raise app.UsageError(f"--batch_size={cfg.batch_size} exceeds the {len(train)} training examples")
    mesh = zoo.mesh(cfg.batch_shards, cfg.batch_size, cfg.seeds)
    rec = recipe.Recipe(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(recipe.Recipe)
                           if f.name != "peak_lr"})
    dtype, group = recipe.compute_dtype(cfg.dtype), cfg.engine_group(engine.default_group())
    rows = []
    for i, name in enumerate(cfg.models, 1):
        steps = cfg.model_steps(name, len(train))
        logging.info("[%d/%d] %s: %d steps x %d seeds", i, len(cfg.models), name, steps, cfg.seeds)
        try:
            rows.append(zoo.train_model(
                name, steps=steps, rec=dataclasses.replace(rec, peak_lr=cfg.model_lr(name)), train=train, test=test,
                seed_ids=cfg.seed_ids, mesh=mesh, dtype=dtype,
                group=group, record_every=cfg.record_every, chunk_steps=cfg.chunk_steps, workdir=cfg.workdir,
                fingerprint={k: cfg.model_lr(name) if k == "peak_lr" else getattr(cfg, k) for k in FINGERPRINT},
                chunk_sleep_s=cfg.chunk_sleep_s))
        except checkpoint.CheckpointError as err:
            raise app.UsageError(str(err)) from err
        logging.info("%s: test acc %.2f ± %.2f%%, %.1f s training", name, 100 * rows[-1]["test_acc"]["mean"],
                     100 * rows[-1]["test_acc"]["std"], rows[-1]["train_s"])
    grads = None
    if cfg.skip_models:
        logging.info("gradient norms per block with and without skips: %s, %d seeds", ",".join(cfg.skip_models),
                     cfg.skip_seeds)
        grads = skips.measure(train.images[:SKIP_BATCH], train.labels[:SKIP_BATCH], cfg.skip_models, cfg.skip_seeds)
    return {"models": rows, "skips": grads, "dtype": jnp.dtype(dtype).name, "group": _groups(rows),
            "mesh": {"models": mesh.shape[engine.AXIS], "batch": mesh.shape.get(engine.BATCH_AXIS, 1)},
            "compile_s": sum(r["compile_s"] for r in rows),
            "sizes": {"train": len(train), "test": len(test), "synthetic": train.synthetic,
                      "train_metadata": train.metadata(), "test_metadata": test.metadata()}}


# Test accuracies within half a point are the same model quality (one run's binomial s.e. at 26,032 test images
# and ~90% is ~0.2 pp; the seed's models differ by 1-9 points).
ACC_MARGIN = 0.005
SEED_ORDER = ("lenet5", "vgg16", "alexnet", "resnet18", "resnet50", "resnet101")  # the seed's ranking, best first
RESNETS = ("resnet18", "resnet50", "resnet101")


def ranking_claims(accs: dict, dataset: str, synthetic: bool) -> list[Claim]:
    """The seed's SVHN statements against our test accuracies per seed, paired by seed (seed k: the same data
    order at every model): svhn_ranking, each adjacent pair of the seed's order (the three ResNets one tier);
    lenet_suits_svhn, LeNet-5 above each other model; resnets_less_effective, each ResNet below each of
    LeNet-5, VGG and AlexNet. On synthetic stand-in data none of them can be tested (the seed's claims are
    about SVHN)."""
    order = sorted(accs, key=lambda m: -np.mean(accs[m]))
    ranking = " > ".join(f"{m} {100 * np.mean(accs[m]):.1f}%" for m in order)
    ids = ("svhn_ranking", "lenet_suits_svhn", "resnets_less_effective")
    if synthetic:
        reason = (f"the data are {dataset}, a synthetic stand-in, and the seed's statements are about SVHN; "
                  "--scale=full trains on svhn_cropped")
        return [verdicts.not_testable(cid, f"synthetic stand-in data, not SVHN (ranking there: {ranking})", reason)
                for cid in ids]

    def part(a, b):
        return verdicts.compare(f"{a} minus {b}, test accuracy", accs[a], accs[b], +1, ACC_MARGIN)

    tiers = [[m] for m in SEED_ORDER[:3] if m in accs] + [[m for m in RESNETS if m in accs]]
    tiers = [t for t in tiers if t]
    wanted = {
        "svhn_ranking": [part(a, b) for upper, lower in zip(tiers, tiers[1:], strict=False) for a in upper
                         for b in lower],
        "lenet_suits_svhn": [part("lenet5", m) for m in accs if m != "lenet5"] if "lenet5" in accs else [],
        "resnets_less_effective": [part(m, r) for r in RESNETS if r in accs for m in SEED_ORDER[:3] if m in accs],
    }
    return [verdicts.claim(cid, parts, note=f"ranking: {ranking}") if parts else verdicts.not_testable(
        cid, f"ranking: {ranking}", "needs the models it names in --models") for cid, parts in wanted.items()]


def vgg_claim(models) -> list[Claim]:
    """vgg_small_filters, read from the models as built (zoo.architecture_facts): VGG-16's kernels, depth and
    pooling, against the other zoo models'."""
    if "vgg16" not in models:
        return []
    facts = {m: zoo.architecture_facts(m) for m in models if not m.startswith("resnet")}
    vgg, others = facts["vgg16"], {m: f for m, f in facts.items() if m != "vgg16"}
    e = verdicts.exact
    same_filters = [m for m, f in others.items() if max(f["conv_kernels"]) <= (3, 3)]
    return [verdicts.claim("vgg_small_filters", [
        e("deep", all(vgg["weight_layers"] > f["weight_layers"] for f in others.values()),
          f"{vgg['weight_layers']} weight layers, against " + (", ".join(
              f"{m} {f['weight_layers']}" for m, f in others.items()) or "no other plain CNN in --models")),
        e("small convolutional filters", max(vgg["conv_kernels"]) <= (3, 3),
          f"every convolution {' / '.join('x'.join(map(str, k)) for k in vgg['conv_kernels'])}"
          + (f" (as in this zoo's 32x32 {', '.join(same_filters)}: small filters do not set VGG apart here)"
             if same_filters else "")),
        e("max-pooling layers", vgg["max_pools"] > 0, f"{vgg['max_pools']} max-pooling layers")],
        context={"architecture": facts})]


def seed_report_text(acc) -> str:
    """The seed's accuracy: '97%', or '88-91%' for a range."""
    return f"{100 * acc['lo']:.0f}-{100 * acc['hi']:.0f}%" if isinstance(acc, dict) else f"{100 * acc:.0f}%"


def analyse(cfg: Config, out: dict) -> Summary:
    rows, sizes, grads = out["models"], out["sizes"], out["skips"]
    gpu = any("mfu" in r for r in rows)
    def ends(history, last):  # mean training CE over the first or last quarter of the records, median over seeds
        h = np.asarray(history)
        k = max(1, h.shape[1] // 4)
        return float(np.median(np.nanmean(h[:, -k:] if last else h[:, :k], axis=1)))

    table = [[r["model"], r["params"], r["forward_flops_per_image"] / 1e6, r["batch_size"], r["peak_lr"],
              {"steps": r["steps"], "epochs": r["epochs"]}, r["train_s"], r["images_per_s"] or None,
              *([r.get("mfu")] if gpu else []),
              {"first_quarter": ends(r["loss_history"], False), "last_quarter": ends(r["loss_history"], True)},
              {"mean": r["test_acc"]["mean"], "std": r["test_acc"]["std"]}, list(r["test_acc"]["per_seed"]),
              SEED_REPORT[r["model"]], r["diverged"]]
             for r in rows]
    claims = ranking_claims({r["model"]: r["test_acc"]["per_seed"] for r in rows}, cfg.dataset, sizes["synthetic"])
    claims += vgg_claim([r["model"] for r in rows])
    tables = [Table("Per model", ["model", "parameters", "forward MFLOPs / image (XLA)", "batch", "peak lr",
                                  "steps (epochs)", "train s", "images/s", *(["MFU"] if gpu else []),
                                  "training CE, first → last quarter (median)", "test accuracy, mean ± std",
                                  "per seed", "seed's report", "diverged"], table,
                    formats=[None, ",", ",.1f", None, ".3g", "{steps:,} ({epochs:.2g})", ".1f", ",.0f",
                             *([".1%"] if gpu else []), "{first_quarter:.3f} → {last_quarter:.3f}",
                             "{mean:.2%} ± {std:.2%}", lambda accs: ", ".join(f"{100 * a:.1f}" for a in accs),
                             seed_report_text],
                    note=f"Train s: training wall time of all {cfg.seeds} seeds (compile excluded); images/s: "
                    "trained images (all seeds) per second on the whole machine (n/a: resumed from a checkpoint). "
                    "FLOPs: XLA's count of the compiled "
                    "forward pass (a multiply-add = 2); a training step costs about 3x."
                    + (" MFU: 3 x forward FLOPs x images/s / the chip's dense bf16 peak." if gpu else ""))]
    notes = []
    if grads:
        skip_rows = skips.table_rows(grads)
        tables.append(Table("Residual connections and vanishing gradients",
                            ["model", "blocks", "median first / last block norm, with skips", "without",
                             "paired test (log10 ratio)"], skip_rows,
                            formats=[None, None, ".3g", ".3g", lambda p: f"{p.describe(' decades')}, {p.verdict}"],
                            note=f"Gradient norm of the training loss w.r.t. each residual block's parameters at "
                            f"initialisation, one batch of {SKIP_BATCH} training images (BN in training mode), "
                            f"{cfg.skip_seeds} initialisations, with the shortcuts and without them (the same "
                            "layers, every block's last BN scale starting at 1 in both arms). A vanishing gradient "
                            "would show as a first/last ratio far below 1 without skips."))
    if cfg.cpu_budgets:
        notes.append("CPU scale: each model gets a step budget (CPU_STEPS): for LeNet-5, AlexNet, VGG-16 and "
                     "ResNet-18 the fewest steps measured to take them clearly off chance, for ResNet-50/101 "
                     f"{CPU_STEPS['resnet50']} and {CPU_STEPS['resnet101']} steps at peak lr 1e-4 (CPU_PEAK_LR: at "
                     "5e-4 their training loss rose), all within minutes on two cores; train s and "
                     "images/s above are what each budget bought. These are budgets, not convergence: the accuracies "
                     "rank the budgets as much as the models; `--scale=full` on a GPU is the comparison.")
    synthetic = (" — **SYNTHETIC stand-in, not SVHN**: the seed's numbers are not comparable and its ranking is not "
                 "testable here") if sizes["synthetic"] else ""
    rec = rows[0] if rows else {"batch_size": cfg.batch_size}
    lrs = sorted({cfg.model_lr(m) for m in cfg.models})
    lr = f"peak lr {lrs[0]:g}" if len(lrs) == 1 else "peak lr per model (table)"
    optimizer = (f"Adam, {lr}" if cfg.optimizer == "adam" else
                 f"SGD + Nesterov {cfg.momentum:g}, {lr} per 128 images scaled linearly with the batch")
    decay = " (decoupled)" if cfg.optimizer == "adam" else ""
    zero_init = ", ResNet blocks' last BN scale starting at 0" if cfg.zero_init_residual else ""
    augment = f"random crop (pad {cfg.crop_pad}), no flips" if cfg.crop_pad else "no augmentation"
    setup = (f"Data: `{cfg.dataset}` ({sizes['train']:,} train, {sizes['test']:,} test){synthetic}. Recipe "
             f"(recipe, every model): {optimizer}, after {cfg.warmup_fraction:.0%} linear warm-up then cosine "
             f"to 0 over the model's steps, weight decay {cfg.weight_decay:g} on kernels{decay}, inputs standardised "
             f"{'per image' if cfg.standardize == 'image' else 'per channel'}, {augment}{zero_init}, batch "
             f"{rec['batch_size']}, compute {out['dtype']}; {cfg.seeds} seeds per model, the test split read once at "
             f"the end. Engine: {out['mesh']['models']} model shards x {out['mesh']['batch']} "
             f"batch shards, group {out['group']}.")
    figures = [Figure("curves.png", plots.zoo_curves, (
        rows, f"Model zoo on {cfg.dataset}" + (" (SYNTHETIC)" if sizes["synthetic"] else "")
        + ": training loss per model, median and range over seeds"), caption="loss curves")]
    if grads:
        figures.append(Figure("skip_gradients.png", plots.block_norms, (grads, cfg.skip_seeds, SKIP_BATCH),
                              caption="gradient norm per block"))
    return Summary(experiment="svhn_zoo", title="SVHN model zoo: one recipe for every model (seed 004 Q4)",
                   setup=setup, tables=tables, claims=claims, notes=notes, figures=figures,
                   data={"models": rows, "skip_gradients": grads, "sizes": sizes, "dtype": out["dtype"],
                         "group": out["group"], "mesh": out["mesh"]})


main = entry.main(Config, run, analyse, name="svhn_zoo")
