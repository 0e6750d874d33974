"""The one training recipe of the model zoo, written once and used for every model.

Adam (default) or SGD with Nesterov momentum 0.9; a peak learning rate (SGD: given at batch 128 and
scaled linearly with the batch size; Adam: as given, its step size does not grow with the batch);
weight decay on the weight matrices/kernels only (not on biases or batch-norm scales: decaying those
only fights the normalisation; coupled L2 under SGD, decoupled under Adam, as AdamW); a linear warm-up
to the peak learning rate followed by cosine decay to zero over the model's own step budget;
random-crop augmentation (pad and crop back; no flips: digits are not mirror-symmetric); inputs
standardised per image (default: each image to mean 0 and std 1, as SVHN's contrast normalisation does)
or per channel with training-set statistics; and mixed precision where it pays: bfloat16 computation
with float32 parameters on GPU/TPU, float32 on CPU (XLA:CPU has no fast bf16 convolutions).

Why Adam, per-image standardisation and no zero-initialised residual branches by default: the CPU zoo
trains each deep net for a few hundred steps at most, and there (svhn_synth, batch 32, one seed,
2026-12-04) ResNet-18 with Adam reached 83.6% test accuracy after 150 steps with every block's last BN
scale starting at 1, and 16.0% with it starting at 0 (Goyal et al.'s zero-init, `zero_init_residual=True`:
each residual branch then grows from nothing at Adam's step size), while SGD + Nesterov with per-channel
statistics left ResNet-18 and AlexNet at chance for 150-400 steps at every learning rate tried. Adam's
5e-4 rather than 1e-3: at 1e-3 (batch 16) the BN-free AlexNet and VGG-16 stalled near chance for
hundreds of steps. The probes: experiments/svhn_zoo/'s docstring.

The warm-up is what lets the BN-free nets (LeNet-5, AlexNet) take the same peak learning rate as the
BN nets (VGG-16, ResNets): their first updates, from a random init, are the large and unstable ones.

    recipe = Recipe(batch_size=64)                     # flags may override any field
    model, task = make_task("resnet18", recipe, steps=2000, train=(images, labels), eval_size=len(test_labels),
                            num_classes=10, eval_every=None)
    trainer = engine.make_train(task, steps=2000, group=1)
    result = trainer(engine.seed_keys([0, 1]), {}, device_data((images, labels), test_images, test_labels))
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from jaxdl.data import batching
from jaxdl.models import get_model, scan_conv
from jaxdl.tasks import classify
from jaxdl.training import engine

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Every choice of the recipe that is not the model or the step budget."""

    optimizer: str = "adam"  # or "sgd" (Nesterov)
    peak_lr: float = 5e-4  # Adam: as given; SGD: at batch 128, scaled linearly with the batch (Goyal et al. 2017)
    momentum: float = 0.9  # SGD's Nesterov momentum (Adam keeps its own b1 = 0.9)
    weight_decay: float = 5e-4
    warmup_fraction: float = 0.05  # of the model's steps, at least one step
    crop_pad: int = 4  # pixels of zero padding before the random 32x32 crop
    batch_size: int = 128
    standardize: str = "image"  # or "channel": training-set mean and std per channel
    zero_init_residual: bool = False  # ResNets: start every block's last BN scale at 0 (identity blocks)


REFERENCE_BATCH = 128
OPTIMIZERS = ("adam", "sgd")
STANDARDIZE = ("image", "channel")


def peak_lr(recipe: Recipe) -> float:
    """The recipe's peak learning rate at its batch size: SGD's peak_lr x batch_size / 128 (linear
    scaling); Adam's peak_lr."""
    if recipe.optimizer == "adam":
        return recipe.peak_lr
    return recipe.peak_lr * recipe.batch_size / REFERENCE_BATCH


def schedule(recipe: Recipe, steps: int) -> optax.Schedule:
    """Learning rate at step t: linear 0 -> peak over the warm-up, then cosine to 0 at `steps`."""
    warmup = max(1, round(recipe.warmup_fraction * steps))
    return optax.warmup_cosine_decay_schedule(0.0, peak_lr(recipe), warmup, max(steps, warmup + 1), 0.0)


def _decay_mask(params):
    """Weight decay on kernels (ndim >= 2) only."""
    return jax.tree.map(lambda p: p.ndim >= 2, params)


def optimizer(recipe: Recipe, steps: int) -> optax.GradientTransformation:
    """Adam with decoupled decay (AdamW: w -= lr x wd x w), or SGD + Nesterov momentum with coupled L2
    decay (the gradient of wd/2 |w|^2 is added before the momentum, as in the classic CIFAR/SVHN recipes
    and torch.optim.SGD's weight_decay)."""
    if recipe.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {recipe.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if recipe.optimizer == "adam":
        return optax.adamw(schedule(recipe, steps), weight_decay=recipe.weight_decay, mask=_decay_mask)
    return optax.chain(
        optax.add_decayed_weights(recipe.weight_decay, mask=_decay_mask),
        optax.sgd(schedule(recipe, steps), momentum=recipe.momentum, nesterov=True),
    )


def compute_dtype(name: str = "auto"):
    """'auto' -> bfloat16 on GPU/TPU, float32 on CPU; or 'float32' / 'bfloat16' explicitly."""
    if name == "auto":
        return jnp.float32 if jax.default_backend() == "cpu" else jnp.bfloat16
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; choose auto or one of {', '.join(DTYPES)}")
    return DTYPES[name]


def make_task(model_name: str, recipe: Recipe, *, steps: int, train, eval_size: int, num_classes: int,
              eval_every: int | None, dtype=jnp.float32, batch_sharding=None):
    """(model, engine Task) for `model_name` trained by `recipe` for `steps` steps.

    train: (images uint8 [N, H, W, C], labels [N]) on the host (only N and the channel statistics are
    read here; the arrays go to the device as the engine's data, see `device_data`).
    """
    images, _ = train
    if recipe.standardize not in STANDARDIZE:
        raise ValueError(f"unknown standardize {recipe.standardize!r}; choose one of {', '.join(STANDARDIZE)}")
    model = get_model(model_name, num_classes, dtype=dtype)
    if hasattr(model, "zero_init_last_bn"):  # nets with residual blocks: the recipe's choice for them
        model = model.clone(zero_init_last_bn=recipe.zero_init_residual)
    # On CPU every convolution runs as scan_conv's, whose gradients stay fast inside the engine's scan.
    model = scan_conv.wrap_for_backend(model)
    mean, std = batching.channel_stats(images) if recipe.standardize == "channel" else (None, None)
    task = classify.make_task(
        model, optimizer(recipe, steps), num_train=len(images), batch_size=recipe.batch_size,
        input_shape=tuple(images.shape[1:]), mean=mean, std=std, eval_every=eval_every,
        eval_batch_size=min(500, eval_size), crop_pad=recipe.crop_pad, batch_sharding=batch_sharding,
    )
    return model, task


def device_data(train, eval_images, eval_labels) -> dict:
    """The classify task's data layout, as jax arrays (the engine replicates them on every device)."""
    return {"train": (jnp.asarray(train[0]), jnp.asarray(train[1], jnp.int32)),
            "eval": (jnp.asarray(eval_images), jnp.asarray(eval_labels, jnp.int32))}


__all__ = ["DTYPES", "OPTIMIZERS", "REFERENCE_BATCH", "STANDARDIZE", "Recipe", "compute_dtype", "device_data", "engine",
           "make_task", "optimizer", "peak_lr", "schedule"]
