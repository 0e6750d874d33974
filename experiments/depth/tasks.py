"""Gradient flow with depth as engine tasks: deep MLPs (activation and initialisation per model) and the
CIFAR ResNets of He et al. (the shortcut per model), trained by minibatch SGD, each step recording the
gradient norm of every layer (MLP) or block (ResNet) and, for the MLP, the flat units of every layer.

    task = mlp_task(depth=8, width=64, activations=("sigmoid", "tanh", "relu"), inits=("glorot_uniform",
                    "he_normal"), ...)               # hparams: lr, activation (index), init (index)
    task = resnet_task(blocks_per_stage=3, ...)      # hparams: lr, skip (0: plain, 1: residual)
    result = engine.make_train(task, steps=...)(keys, hparams, {"train": (images uint8, labels)})
    result.metrics["grad_norm"]                      # [models, records, layers or blocks]

Metrics at a record step describe the model before that step's update, on that step's batch: `loss`,
`acc`, `grad_norm` (L2 norm of the gradient w.r.t. each layer's kernel and bias, or each block's
parameters), and for the MLP `flat` (share of a hidden layer's (unit, example) pairs with act'(z) < FLAT:
saturated sigmoid or tanh, inactive ReLU) and `dead` (share of its units flat on every example of the
batch: a dead ReLU passes no gradient at all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl.data import batching
from jaxdl.models import scan_conv
from jaxdl.models.cifar_resnet import HE_NORMAL, CifarResNet, block_sq_norms
from jaxdl.models.mlp import MLP, select_activation
from jaxdl.tasks.binary import FLAT
from jaxdl.training import engine, optim
from jaxdl.training.losses import softmax_ce

# Initialisations by name: Glorot & Bengio 2010 (uniform, the Keras default), He et al. 2015 (N(0, 2/fan_in)),
# LeCun (N(0, 1/fan_in) truncated: flax's default).
INITS: dict[str, Callable] = {
    "glorot_uniform": nn.initializers.glorot_uniform(),
    "he_normal": HE_NORMAL,
    "lecun_normal": nn.initializers.lecun_normal(),
}


def mlp_model(depth: int, width: int, activations: Sequence[str], num_classes: int) -> MLP:
    """`depth` hidden layers of `width` units, then the logits; the activation picked per model."""
    return MLP(features=(width,) * depth + (num_classes,), activation=tuple(activations))


def init_mlp_params(model: MLP, key: jax.Array, input_dim: int, inits: Sequence[str], index) -> dict:
    """The MLP's params with every kernel drawn by `inits[index]` (index may be traced) and zero biases.
    Layer i draws from fold_in(key, i) whatever the scheme, so seed k gives the same weights to every
    model that shares its scheme."""
    params = model.init(key, jnp.zeros((1, input_dim), jnp.float32))["params"]
    out = {}
    for i, name in enumerate(sorted(params, key=lambda n: int(n.split("_")[1]))):
        shape = params[name]["kernel"].shape
        drawn = jnp.stack([INITS[s](jax.random.fold_in(key, i), shape) for s in inits])
        out[name] = {"kernel": drawn[index], "bias": jnp.zeros_like(params[name]["bias"])}
    return out


def one_at_a_time_under_vmap(fn: Callable) -> Callable:
    """`fn(*arrays) -> pytree` that the engine's vmapped init runs as a lax.map over the models: vmapped, the
    ResNets' random draws (threefry) took 15 s to compile against 4.5 s one model at a time (ResNet-14, 12
    models, XLA:CPU). Values are the same either way (tested)."""
    batched_fn = jax.custom_batching.custom_vmap(fn)

    @batched_fn.def_vmap
    def rule(axis_size, in_batched, *args):
        args = [a if b else jnp.broadcast_to(a, (axis_size, *jnp.shape(a))) for a, b in zip(args, in_batched,
                                                                                              strict=True)]
        out = jax.lax.map(lambda a: fn(*a), args)
        return out, jax.tree.map(lambda _: True, out)

    return batched_fn


def dense_sq_norms(grads: dict) -> jax.Array:
    """Squared gradient norm of each Dense layer (kernel and bias), input layer first: [layers]."""
    names = sorted(grads, key=lambda n: int(n.split("_")[1]))
    return jnp.stack([sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads[n])) for n in names])


def flat_units(pre: Sequence[jax.Array], act: Callable) -> dict:
    """`flat` and `dead` [hidden layers] from each hidden layer's pre-activations z [B, width]."""
    flat = [jax.jvp(act, (z,), (jnp.ones_like(z),))[1] < FLAT for z in pre]
    return {"flat": jnp.stack([jnp.mean(f) for f in flat]), "dead": jnp.stack([jnp.mean(jnp.all(f, 0)) for f in flat])}


def _minibatch_task(init_model: Callable, forward: Callable, sq_norms: Callable, tx, *, num_train: int,
                    batch_size: int, mean, std, categorical: dict) -> engine.Task:
    """The shared task: minibatches from a per-model permutation drawn each epoch (jaxdl.data.batching),
    softmax CE, `tx` at the model's hparams["lr"].

    init_model(key, hp) -> (params, extra); forward(params, extra, x, choice) -> (logits, extra, metrics);
    sq_norms(grads) -> [parts] squared gradient norms."""
    steps_per_epoch = batching.steps_per_epoch(num_train, batch_size)

    def init(key, hp):
        params, extra = init_model(key, hp)
        return {"params": params, "extra": extra, "opt_state": optim.with_lr(tx.init(params), hp["lr"]),
                "key": key, "perm": jnp.arange(num_train, dtype=jnp.int32),
                engine.CHOICE: {n: jnp.asarray(hp[n], jnp.int32) for n in categorical}}

    def step(state, data, t):
        epoch, i = t // steps_per_epoch, t % steps_per_epoch
        perm = jax.lax.cond(i == 0, lambda: batching.epoch_permutation(jax.random.fold_in(state["key"], 1), epoch,
                                                                      num_train), lambda: state["perm"])
        images, labels = batching.get_batch(*data["train"], perm, i, batch_size)
        x = batching.normalize(images, mean, std)

        def loss_fn(params):
            logits, extra, metrics = forward(params, state["extra"], x, state[engine.CHOICE])
            return softmax_ce(logits, labels), (logits, extra, metrics)

        (loss, (logits, extra, metrics)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
        metrics = {"loss": loss, "acc": jnp.mean(jnp.argmax(logits, -1) == labels),
                   "grad_norm": jnp.sqrt(sq_norms(grads)), **metrics}
        return {**state, "params": optax.apply_updates(state["params"], updates), "extra": extra,
                "opt_state": opt_state, "perm": perm}, metrics

    def describe(metrics):
        return f"[median batch loss {np.nanmedian(metrics['loss']):.3f}]"

    return engine.Task(init=init, step=step, describe=describe, categorical=categorical)


def mlp_task(*, depth: int, width: int, activations: Sequence[str], inits: Sequence[str], input_shape,
             num_classes: int, num_train: int, batch_size: int, mean, std, optimizer: str = "sgd") -> engine.Task:
    """Deep MLP task. hparams: lr, activation (index into `activations`), init (index into `inits`)."""
    model = mlp_model(depth, width, activations, num_classes)
    input_dim = int(np.prod(input_shape))

    @one_at_a_time_under_vmap
    def draw(key, index):
        return init_mlp_params(model, key, input_dim, inits, index)

    def init_model(key, hp):
        return draw(key, jnp.asarray(hp["init"], jnp.int32)), {}

    def forward(params, extra, x, choice):
        logits, state = model.apply({"params": params}, x, choice=choice["activation"],
                                    capture_intermediates=lambda m, method: isinstance(m, nn.Dense))
        inter = state["intermediates"]
        pre = [inter[f"Dense_{i}"]["__call__"][0] for i in range(depth)]
        return logits, extra, flat_units(pre, select_activation(model.activation, choice["activation"]))

    return _minibatch_task(init_model, forward, dense_sq_norms, optim.make_optimizer(optimizer),
                           num_train=num_train, batch_size=batch_size, mean=mean, std=std,
                           categorical={"activation": len(activations)})


def resnet_task(*, blocks_per_stage: int, widths: Sequence[int], norm: bool, kernel_init: str, input_shape,
                num_classes: int, num_train: int, batch_size: int, mean, std, momentum: float = 0.9) -> engine.Task:
    """CIFAR ResNet task (SGD with momentum, He et al.). hparams: lr, skip (0: plain, 1: residual)."""
    model = CifarResNet(blocks_per_stage, tuple(widths), num_classes, norm=norm, kernel_init=INITS[kernel_init])
    # On XLA:CPU the gradient convolutions inside the engine's scan fall back to a naive loop otherwise.
    fast = scan_conv.wrap_for_backend(model)

    @one_at_a_time_under_vmap
    def draw(key):
        return dict(model.lazy_init(key, jax.ShapeDtypeStruct((1, *input_shape), jnp.float32), train=False))

    def init_model(key, hp):
        variables = draw(key)
        return variables.pop("params"), variables

    def forward(params, extra, x, choice):
        variables = {"params": params, **extra}
        skip = choice["skip"].astype(jnp.float32)
        if extra:
            logits, extra = fast.apply(variables, x, train=True, skip=skip, mutable=list(extra))
        else:
            logits = fast.apply(variables, x, train=True, skip=skip)
        return logits, extra, {}

    return _minibatch_task(init_model, forward, lambda g: block_sq_norms(g, blocks_per_stage, len(widths)),
                           optim.make_optimizer("momentum", momentum=momentum), num_train=num_train,
                           batch_size=batch_size, mean=mean, std=std, categorical={"skip": 2})
