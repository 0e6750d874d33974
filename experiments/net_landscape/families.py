"""The three families whose landscapes experiments.net_landscape probes, each trained by the engine through
the builders of the experiment it comes from (the same data, widths, optimiser and seed keys), and the
loss each probe evaluates.

    fc      experiments.fc_grid's 2-16-1 MLP on its xor data: arms sigmoid/ReLU x L2/CE (binary.make_task)
    cnn     experiments.cnn_aux's SmallCNN on mnist5k: arms λ = 0 (no branch) and λ > 0 (aux_head.make_task)
    resnet  experiments.depth's CIFAR ResNet with BN on digits: arms plain and residual (depth.resnet_task)

A family's nets are stacked arm-major, seeds fastest (the order of `jaxdl.training.grid.Grid`), and the
probe loss is loss_fn(params, aux, batch): aux holds a net's own choices (activation, loss, λ, skip), batch
the fixed evaluation set of training examples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from experiments import depth as depth_exp
from experiments import fc_grid
from experiments.depth import tasks as depth_tasks
from jaxdl.analysis import surfaces
from jaxdl.data import batching, split_validation
from jaxdl.models.cifar_resnet import HE_NORMAL, CifarResNet, blocks_for
from jaxdl.models.cnn import SmallCNN
from jaxdl.tasks import aux_head, binary
from jaxdl.training import engine, grid, losses


@dataclasses.dataclass
class Family:
    """Trained nets of one family and what the probes need."""

    name: str
    arms: tuple[str, ...]  # labels, in net order (arm-major)
    seeds: np.ndarray  # seed ids (the fastest axis of the nets)
    theta: object  # trained params, stacked [nets, ...]
    init: object  # initial params [nets, ...]
    aux: dict  # per-net choices and state the loss reads [nets, ...]
    batch: tuple  # the evaluation set
    loss_fn: Callable  # (params, aux, batch) -> scalar
    chance: np.ndarray  # [nets]: the loss of a constant prediction (a plateau is flat and above it)
    stacked_axes: Callable[[str], int] = lambda path: 0
    train: engine.Result | None = None
    description: str = ""
    # The loss for Hessian-vector products, where loss_fn's convolutions have no fast second derivative on
    # XLA:CPU (the same function with its convolutions as matmuls); None: loss_fn. Surfaces (values and
    # gradients) use loss_fn: with flax's convolutions the engine runs a conv net's points one at a time, 4.5x
    # the points/s of the matmul form in one side-by-side run (64 eval images).
    curvature_loss_fn: Callable | None = None

    @property
    def hvp_loss(self) -> Callable:
        return self.curvature_loss_fn or self.loss_fn

    @property
    def nets(self) -> int:
        return len(self.arms) * len(self.seeds)


def _train(task, g, hparams, data, steps, record_every, chunk_steps, label):
    trainer = engine.make_train(task, steps=steps, chunk_steps=chunk_steps, record_every=record_every)
    result = trainer(g.keys, hparams, data, label=label)
    init = jax.jit(jax.vmap(task.init))(jnp.asarray(g.keys), {k: jnp.asarray(v) for k, v in hparams.items()})
    return result, init["params"]


def fc(cfg) -> Family:
    """The FC grid's cells at one learning rate, fc_steps full-batch SGD steps; evaluated on all its points."""
    fcfg = fc_grid.Config()
    activations, loss_names = ("sigmoid", "relu"), ("l2", "ce")
    model = fc_grid.model_of(fcfg, activations)
    x, y = fc_grid.data_of(fcfg)
    g = grid.Grid(cfg.seed_ids, activation=range(2), loss=range(2))
    hp = {**g.hparams, "lr": np.full(g.size, cfg.fc_lr, np.float32)}
    task = binary.make_task(model, loss_names, "sgd", input_dim=2)
    result, init = _train(task, g, hp, (x, y), cfg.fc_steps, cfg.fc_steps // 10, cfg.chunk_steps, "net_landscape fc")

    def loss_fn(params, aux, batch):
        z = model.apply({"params": params}, batch[0], choice=aux["activation"])[:, 0]
        return losses.select_binary_loss(loss_names, aux["loss"])(z, batch[1])

    aux = {"activation": hp["activation"].astype(np.int32), "loss": hp["loss"].astype(np.int32)}
    # A constant prediction p = 0.5: L2 (0.5 - y)^2 = 0.25, CE ln 2.
    chance = np.where(aux["loss"] == 0, 0.25, np.log(2.0))
    arms = tuple(f"{a}-{lo}" for a in activations for lo in loss_names)
    return Family("fc", arms, g.seed_ids, result.state["params"], init, aux, (x, y), loss_fn, chance, train=result,
                  description=f"fc_grid's 2-{'-'.join(map(str, fcfg.hidden))}-1 MLP on `{fcfg.dataset}` "
                  f"({fcfg.num_points} points, all evaluated), full-batch SGD lr {cfg.fc_lr:g}, {cfg.fc_steps} steps")


def cnn(cfg) -> Family:
    """cnn_aux's CNN at λ = 0 and λ = cnn_aux_weight (its data, split, optimiser and steps; no evaluation
    during training, which leaves the trajectory unchanged); evaluated on the first eval_size training images."""
    train, _ = split_validation(cfg.load("mnist5k", "train"), 0.2, seed=0)
    _, task = aux_head.make_task("digit_value", num_classes=train.num_classes, input_shape=train.shape,
                                 train_images=train.images, train_labels=train.labels, optimizer="adam",
                                 batch_size=64, eval_every=None)
    g = grid.Grid(cfg.net_seed_ids, aux_weight=(0.0, cfg.cnn_aux_weight))
    hp = {**g.hparams, "lr": np.full(g.size, 1e-3, np.float32)}
    data = {"train": (jnp.asarray(train.images), jnp.asarray(train.labels))}
    result, init = _train(task, g, hp, data, cfg.cnn_steps, 10, cfg.chunk_steps, "net_landscape cnn")
    batch = cnn_batch(train, cfg.eval_size)
    loss_fn, hvp_loss = cnn_loss(train.num_classes), cnn_loss(train.num_classes, matmul_convs=True)
    arms = ("no branch (λ = 0)", f"branch (λ = {cfg.cnn_aux_weight:g})")
    return Family("cnn", arms, g.seed_ids, result.state["params"], init,
                  {"aux_weight": hp["aux_weight"]}, batch, loss_fn, np.full(g.size, np.log(train.num_classes)),
                  train=result, curvature_loss_fn=hvp_loss,
                  description=f"cnn_aux's SmallCNN + regression head on mnist5k ({len(train)} "
                  f"training images, Adam lr 0.001, batch 64, {cfg.cnn_steps} steps), loss CE + λ·L2 (digit "
                  f"value target)")


def cnn_loss(num_classes: int, matmul_convs: bool = False) -> Callable:
    """CE + λ·L2 of cnn_aux's CNN (λ = aux["aux_weight"]) on batch (normalised images, labels, standardised
    targets); with `matmul_convs`, its convolutions as matmuls (surfaces.MatmulConvs: for HVPs)."""
    model = SmallCNN(num_classes=num_classes, regression_outputs=1)
    model = surfaces.MatmulConvs(model) if matmul_convs else model

    def loss_fn(params, aux, batch):
        x, y, z = batch
        logits, regression = model.apply({"params": params}, x, train=False)
        return losses.softmax_ce(logits, y) + aux["aux_weight"] * jnp.mean(jnp.square(regression - z))

    return loss_fn


def cnn_batch(train, size: int) -> tuple:
    """The first `size` training images as the CNN's evaluation batch (normalised as the task does)."""
    mean, std = batching.channel_stats(train.images)
    t_mean, t_std = aux_head.target_stats("digit_value", train.images, train.labels)
    images, labels = train.images[:size], train.labels[:size]
    target = (aux_head.digit_value(images, labels) - t_mean) / t_std
    return batching.normalize(jnp.asarray(images), mean, std), jnp.asarray(labels), jnp.asarray(target)


def resnet(cfg) -> Family:
    """depth's CIFAR ResNet (BN, He init, SGD momentum at its bn_lr) at resnet_depth, plain and residual:
    the nets of the depth experiment's CPU default at that depth; evaluated on the first eval_size training
    images with batch statistics (a function of the weights alone)."""
    dcfg = depth_exp.Config()
    ds, mean, std, data = depth_exp.load_train(cfg, dcfg.resnet_dataset, dcfg.train_size)
    blocks = blocks_for(cfg.resnet_depth)
    task = depth_tasks.resnet_task(blocks_per_stage=blocks, widths=dcfg.resnet_widths, norm=True,
                                   kernel_init="he_normal", input_shape=ds.shape, num_classes=ds.num_classes,
                                   num_train=len(ds), batch_size=dcfg.resnet_batch_size, mean=mean, std=std)
    g = grid.Grid(cfg.net_seed_ids, skip=(0, 1))
    hp = {**g.hparams, "lr": np.full(g.size, dcfg.bn_lr, np.float32)}
    result, init = _train(task, g, hp, data, cfg.resnet_steps, dcfg.resnet_record_every, cfg.chunk_steps,
                          f"net_landscape resnet-{cfg.resnet_depth}")
    net = CifarResNet(blocks, tuple(dcfg.resnet_widths), ds.num_classes, norm=True, kernel_init=HE_NORMAL)
    batch = (batching.normalize(jnp.asarray(ds.images[:cfg.eval_size]), mean, std),
             jnp.asarray(ds.labels[:cfg.eval_size]))

    def loss_of(model):
        def loss_fn(params, aux, batch):
            variables = {"params": params, "batch_stats": aux["batch_stats"]}
            logits, _ = model.apply(variables, batch[0], train=True, skip=aux["skip"], mutable=["batch_stats"])
            return losses.softmax_ce(logits, batch[1])

        return loss_fn

    aux = {"skip": hp["skip"], "batch_stats": result.state["extra"]["batch_stats"]}
    return Family("resnet", (f"plain-{cfg.resnet_depth}", f"residual-{cfg.resnet_depth}"), g.seed_ids,
                  result.state["params"], init, aux, batch, loss_of(net), np.full(g.size, np.log(ds.num_classes)),
                  stacked_axes=lambda path: 1 if "_blocks" in path else 0, train=result,
                  curvature_loss_fn=loss_of(surfaces.MatmulConvs(net)),
                  description=f"depth's ResNet-{cfg.resnet_depth} (widths {list(dcfg.resnet_widths)}, BN) on "
                  f"`{dcfg.resnet_dataset}` ({len(ds)} images), SGD momentum lr {dcfg.bn_lr:g}, batch "
                  f"{dcfg.resnet_batch_size}, {cfg.resnet_steps} steps")


BUILDERS = {"fc": fc, "cnn": cnn, "resnet": resnet}
