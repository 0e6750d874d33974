r"""XOR with a 2-H-1 network: without a hidden activation no run beats 75% (XOR is not linearly separable);
with one, width decides how many runs reach 100%.

Seed 000, section 3: "Without an activation function in the hidden layer the network will not be able to
learn the XOR function", since "the XOR function without this mapping is not linearly separable". We
train every hidden activation (none, sigmoid, tanh, relu; a per-model integer picked with lax.switch) x
learning rate x seed of one width H in ONE compiled program (one program per width: shapes differ), on
the four XOR points, full batch, and measure the best training accuracy each run reaches at any step
(every step, not only recorded ones) and at the end, and the share of runs that reach 100%.

Why 75% is exact without an activation: the net is affine, f = w.x + b, so f(0,0) + f(1,1) = f(0,1) +
f(1,0) and no sign pattern can be XOR's. Width 1 caps every activation at 75% as well: a monotone
activation of one affine unit still thresholds a line. A point counts as classified only if its logit is
beyond +-1e-5 (TIE_LOGIT): the linear net's CE optimum is the constant logit 0, where raw float32 signs
are rounding noise, and zero-initialised biases give (0,0) a logit of exactly 0 at step 0.

Command:
    python -m experiments.xor
One width, one seed (seed k of the grid alone):
    python -m experiments.xor --activation=tanh --widths=2 --lr=1 --seeds=1 --first_seed=6
GPU: the same command; add --seeds=4096 for tight success rates.

Runtime: ~10 s on 2 CPU cores (CPU default): 7 s with the compilation cache warm, ~40 s cold (4 programs,
one per width, ~13 s of compiling).

Expected (CPU default): activation none tops out at exactly 75% in every run, and so does width 1 with
every activation; from width 2 to width 4 the share of runs reaching 100% at the best lr grows: sigmoid
80% / 94% / 100%; tanh 61% / 92% / 100%; relu 16% / 47% / 67%.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.analysis import cells, stats
from jaxdl.experiment import config, entry
from jaxdl.models.mlp import MLP
from jaxdl.reporting import plots, verdicts
from jaxdl.reporting.summary import Claim, Figure, Summary, Table
from jaxdl.tasks import binary
from jaxdl.training import engine, grid, losses, optim

ACTIVATIONS = ("none", "sigmoid", "tanh", "relu")
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([0, 1, 1, 0], np.int32)
# |logit| at or below this is a tie, not a decision: ~100x the float32 rounding of an O(1) forward pass.
TIE_LOGIT = 1e-5
LINEAR_CEILING = 0.75


@dataclasses.dataclass(frozen=True)
class Config(config.Common):
    out: str = config.field("results/xor", "Output directory.")
    activation: tuple[str, ...] = config.field(ACTIVATIONS, "Hidden activations (comma list).", choices=ACTIVATIONS)
    widths: tuple[int, ...] = config.field((1, 2, 3, 4), "Hidden widths H (comma list): the network is 2-H-1.",
                                           lower=1)
    lr: tuple[float, ...] = config.field((0.1, 0.3, 1.0, 3.0), "Learning rates to sweep.", lower=0, strict=True)
    seeds: int = config.field(64, "Seeds per (activation, width, learning rate).", lower=1)
    steps: int = config.field(5000, "Maximum iterations; a model not at 100% by then has failed.", lower=1)
    loss: str = config.field("ce", "Loss on the sigmoid output.", choices=tuple(losses.BINARY_LOSSES))
    optimizer: str = config.field("sgd", "Optimizer (full batch of 4 points).", choices=optim.OPTIMIZERS)
    record_every: int = config.field(10, "Record loss/accuracy every this many steps.", lower=1)

    def validate(self):
        cells.validate_grid(self, ("activation", "widths", "lr"))



def decided_accuracy(z: jax.Array, y: jax.Array) -> jax.Array:
    """Share of points whose logit is on the right side of 0 by more than TIE_LOGIT. z, y: [N]."""
    return jnp.mean(jnp.where(y > 0.5, z > TIE_LOGIT, z < -TIE_LOGIT))


def make_xor_task(model, loss: str, optimizer: str) -> engine.Task:
    """binary.make_task, with accuracy judged on decided points. The state adds: hit_step (first step at a
    decided 100%, -1 while never) and the best raw and decided accuracy over every step; binary's own
    hit_step (raw signs) stays in state["base"]."""
    base = binary.make_task(model, loss, optimizer, input_dim=2)

    def init(key, hp):
        base_state = base.init(key, hp)
        # binary's categorical choices move up to this state's top level, where the engine looks for them.
        choice = {engine.CHOICE: base_state.pop(engine.CHOICE)} if engine.CHOICE in base_state else {}
        return {"base": base_state, "hit_step": jnp.int32(-1), "best_acc": jnp.float32(0),
                "best_decided_acc": jnp.float32(0), **choice}

    def step(state, data, t):
        x, y = data
        # The 4-point forward pass again (binary's step keeps its logits to itself): free at run time.
        z = binary.logits(model, state["base"]["params"], x, choice_of(state))
        decided = decided_accuracy(z, y)
        choice = {engine.CHOICE: state[engine.CHOICE]} if engine.CHOICE in state else {}
        new_base, metrics = base.step({**state["base"], **choice}, data, t)
        new_base = {k: v for k, v in new_base.items() if k != engine.CHOICE}
        hit = jnp.where((state["hit_step"] < 0) & (decided >= 1), t, state["hit_step"])
        return {**choice, "base": new_base, "hit_step": hit,
                "best_acc": jnp.maximum(state["best_acc"], metrics["acc"]),
                "best_decided_acc": jnp.maximum(state["best_decided_acc"], decided)}, metrics

    return engine.Task(init=init, step=step, describe=base.describe, categorical=base.categorical)


def choice_of(state):
    return state.get(engine.CHOICE, {}).get("activation", 0)


def run_width(cfg, width: int) -> engine.Result:
    """Every activation x lr x seed of one width, one program (models activation-major, then lr, seed)."""
    g = grid.Grid(cfg.seed_ids, activation=range(len(cfg.activation)), lr=cfg.lr)
    task = make_xor_task(MLP(features=(width, 1), activation=cfg.activation), cfg.loss, cfg.optimizer)
    trainer = engine.make_train(task, steps=cfg.steps, chunk_steps=cfg.chunk_steps, record_every=cfg.record_every,
                                group=cfg.engine_group(engine.default_group()))
    data = (jnp.asarray(XOR_X), jnp.asarray(XOR_Y, jnp.float32))
    return trainer(g.keys, g.hparams, data, done=lambda s: s["hit_step"] >= 0, label=f"H={width}")


def run(cfg) -> dict:
    return {f"H={w}": run_width(cfg, w) for w in cfg.widths}


def outcomes(cfg, width: int, result: engine.Result) -> dict:
    """Per-model arrays [activations, lrs, seeds]: hit_step (decided), raw_hit_step, diverged, iterations,
    best_decided_acc (every step and the final weights), end_decided_acc, end_max_abs_logit."""
    g = grid.Grid(cfg.seed_ids, activation=range(len(cfg.activation)), lr=cfg.lr)
    model = MLP(features=(width, 1), activation=cfg.activation)
    params = result.state["base"]["params"]
    choice = np.repeat(np.arange(len(cfg.activation)), len(cfg.lr) * cfg.seeds)
    z_end = np.asarray(binary.predict_logits(model, params, jnp.asarray(XOR_X), choice))  # after the last update
    end = np.asarray(jax.vmap(decided_accuracy, (0, None))(z_end, jnp.asarray(XOR_Y, jnp.float32)))
    hit = g.reshape(result.state["hit_step"])
    return {"hit_step": hit, "raw_hit_step": g.reshape(result.state["base"]["hit_step"]),
            "diverged": g.reshape(result.diverged), "iterations": stats.censored_iterations(hit, cfg.steps),
            "best_decided_acc": np.maximum(g.reshape(result.state["best_decided_acc"]), g.reshape(end)),
            "end_decided_acc": g.reshape(end), "end_max_abs_logit": g.reshape(np.abs(z_end).max(1)),
            "model": model, "params": params, "grid": g}


def pct(v) -> str:
    return f"{100 * v:.0f}%"


def success_text(cell: dict) -> str:
    """'80% · 142 steps · lr 3' (share reaching 100%, median steps of those, at the best lr), or the best
    accuracy when no run reaches 100%."""
    if not cell["reached"]:
        return f"0% (best acc {pct(cell['best_acc'])})"
    return f"{pct(cell['reached'])} · {cell['median_steps']:.0f} steps · lr {cell['lr']:g}"


def analyse(cfg, results: dict) -> Summary:
    acts, lrs = cfg.activation, list(cfg.lr)
    runs = {w: outcomes(cfg, w, results[f"H={w}"]) for w in cfg.widths}
    rows, matrix, panels, by_cell = [], {a: [a] for a in acts}, {}, {}
    points = plots.boundary_grid(XOR_X)[2]
    for w, o in runs.items():
        for i, a in enumerate(acts):
            hit, best_acc = o["hit_step"][i], o["best_decided_acc"][i]
            reached = (hit >= 0).mean(1)  # per lr
            steps = [float(np.median(h[h >= 0])) if (h >= 0).any() else cfg.steps for h in hit]  # of those reaching
            b = max(range(len(lrs)), key=lambda j: (reached[j], -steps[j]))  # the most reach; then the fastest
            steps_b = steps[b] if reached[b] else None
            by_cell[(a, w)] = {"best_lr": lrs[b], "reached_at_best": float(reached[b]), "median_steps": steps_b,
                             "best_decided_acc_max": float(best_acc.max()),
                             "fraction_at_linear_ceiling": float(np.mean(best_acc == LINEAR_CEILING)),
                             "end_decided_acc_max": float(o["end_decided_acc"][i].max()),
                             "end_max_abs_logit_max": float(o["end_max_abs_logit"][i].max()),
                             "raw_tie_hits": int(((o["raw_hit_step"][i] >= 0) & (best_acc < 1)).sum()),
                             "diverged": int(o["diverged"][i].sum()), "reached_by_lr": reached.tolist()}
            c = by_cell[(a, w)]
            matrix[a].append({"reached": float(reached[b]), "median_steps": steps_b, "lr": lrs[b],
                              "best_acc": c["best_decided_acc_max"]})
            rows.append([a, w, *map(float, reached), float(np.mean(hit >= 0)), c["best_decided_acc_max"],
                         c["fraction_at_linear_ceiling"], c["raw_tie_hits"], c["diverged"]])
            k = int(np.flatnonzero(hit[b] >= 0)[0]) if reached[b] else int(np.argmax(best_acc[b]))
            m = o["grid"].index(activation=i, lr=lrs[b]).start + k
            params = jax.tree.map(lambda v, m=m: v[m], o["params"])
            outcome = f"100% at step {int(hit[b, k])}" if hit[b, k] >= 0 else f"best {pct(best_acc[b, k])}"
            panels[f"{a}, H={w}: {pct(reached[b])} reach 100%"] = (
                np.asarray(binary.probability(o["model"], params, i)(points)),
                f"seed {cfg.seed_ids[k]}, lr {lrs[b]:g}: {outcome}")
    tables = [
        Table("Success rate at each cell's best lr, median steps to 100% of the runs that reach it",
              ["activation", *(f"H={w}" for w in cfg.widths)], list(matrix.values()),
              formats=[None, *[success_text] * len(cfg.widths)]),
        Table("Every learning rate", ["activation", "H", *(f"lr {lr:g}" for lr in lrs), "pooled",
                                      "best acc (any run)", "runs with best = 75%", "raw tie 100%", "diverged"], rows,
              formats=[None, None, *[".0%"] * (len(lrs) + 3)],
              note="Best acc: the best decided accuracy any run reached at any step or at the end. Raw tie 100%: "
                   "runs whose raw float32 signs read 100% while never beyond the tie band."),
    ]
    return Summary("xor", "XOR with a 2-H-1 network: which runs reach 100% training accuracy",
                   f"Data: the 4 XOR points, full batch, {cfg.loss} loss, {cfg.optimizer}, {cfg.seeds} seeds x lr in "
                   f"{{{', '.join(f'{v:g}' for v in lrs)}}} per (activation, width), max {cfg.steps} steps; every "
                   f"activation x lr x seed of a width in one compiled program. A point counts as classified when "
                   f"its logit is beyond +-{TIE_LOGIT:g}.", tables, xor_claims(cfg, by_cell), [],
                   [Figure("boundaries.png", plots.decision_boundaries, (panels, XOR_X, XOR_Y),
                           {"title": "XOR after training, one run per cell at its best lr (black line: P = 0.5)"},
                           "boundaries")],
                   {"cells": [{"activation": a, "width": w, **c} for (a, w), c in by_cell.items()]})


def xor_claims(cfg, by_cell: dict) -> list[Claim]:
    """Exact facts (maxima over every run, and a closed form): each verdict a stats.Exact part."""
    claims, e = [], verdicts.exact
    linear = [c for (a, _), c in by_cell.items() if a == "none"]
    if linear:
        best = max(c["best_decided_acc_max"] for c in linear)
        runs = len(linear) * len(cfg.lr) * cfg.seeds
        share = np.mean([c["fraction_at_linear_ceiling"] for c in linear])
        claims.append(verdicts.claim("xor_needs_activation", [e(
            "no activation, no XOR", best <= LINEAR_CEILING, f"without an activation the best accuracy of any of "
            f"{runs} runs at any step is {pct(best)} (a maximum over every run); {pct(share)} reach exactly 75%")],
            context={"best_decided_acc_max": best, "runs": runs}))
        end = max(c["end_decided_acc_max"] for c in linear)
        claims.append(verdicts.claim("xor_not_linearly_separable", [
            e("not linearly separable", True, "closed form: an affine f has f(0,0) + f(1,1) = f(0,1) + f(1,0), so at "
              "most 3 of 4 points"),
            e("measured", best <= LINEAR_CEILING, f"no affine run beyond {pct(best)}; at the end of training the best "
              f"is {pct(end)} (the CE optimum is the constant logit 0, largest |logit| "
              f"{max(c['end_max_abs_logit_max'] for c in linear):.1g})")],
            context={"end_decided_acc_max": end}))
    nonlinear = {k: c for k, c in by_cell.items() if k[0] != "none"}
    wide = {k: c for k, c in nonlinear.items() if k[1] >= 2}
    if wide:
        one = [c["best_decided_acc_max"] for (_, w), c in nonlinear.items() if w == 1]
        parts = [e("with an activation, width >= 2", all(c["best_decided_acc_max"] == 1 for c in wide.values()),
                   "every activation reaches 100% in some runs (at the best lr: " + ", ".join(
                       f"{a} H={w} {pct(c['reached_at_best'])}" for (a, w), c in wide.items()) + "; maxima over every "
                   "run)")]
        # Width 1 is context, not a part: the seed's network had a hidden layer wider than one unit.
        note = (f"context: at width 1 the best of any run is {pct(max(one))}, so the nonlinearity alone is not "
                "enough" if one else "")
        claims.append(verdicts.claim("xor_activation_separates", parts, note=note,
                                     context={f"{a}-H{w}": c["reached_at_best"] for (a, w), c in nonlinear.items()}))
    return claims


main = entry.main(Config, run, analyse, name="xor")
