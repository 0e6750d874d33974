r"""Fully connected grid: sigmoid/ReLU x L2/CE, ranked by iterations to 100% training accuracy.

Seed 000, section 2 ranked four settings by iterations to reach 100% training accuracy, one run each:
sigmoid-L2 10000 > sigmoid-CE ~5000 > ReLU-L2 ~2500 > ReLU-CE ~800. We train every
activation x loss x learning rate x seed at once (engine: one compiled program per cell) and rank the
cells by the median over seeds, with bootstrap confidence intervals.

Command (CPU default, ~1-2 min on 2 cores; see results/fc_grid/summary.md for the measured time):
    python -m experiments.fc_grid
One cell, one seed (seed k of the grid, bit-for-bit the same iterations):
    python -m experiments.fc_grid --activation=relu --loss=ce --seeds=1 --first_seed=7
GPU: the same command; add --seeds=1024 for a tighter ranking.

Expected result: the activation x loss ordering of the medians; at the default (XOR with a margin,
2-16-1, plain SGD, full batch) every cell reaches 100% far sooner than the seed's numbers, and the
summary says which of the seed's pairwise orderings the data supports.
"""

from __future__ import annotations

import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

import jaxdl  # noqa: F401  (sets the host device count before jax starts)
from jaxdl import binary, cli, engine, io, losses, optim, plots, provenance, stats
from jaxdl.data.toy import TOY_DATASETS, make_toy
from jaxdl.models.mlp import MLP

ACTIVATIONS = ("sigmoid", "relu")
LOSSES = tuple(losses.BINARY_LOSSES)
# The seed's iterations per cell (slowest first), as printed in report 000, section 2.5.
SEED_ITERATIONS = {("sigmoid", "l2"): 10000, ("sigmoid", "ce"): 5000, ("relu", "l2"): 2500, ("relu", "ce"): 800}

FLAGS = flags.FLAGS
flags.DEFINE_enum("activation", "all", [*ACTIVATIONS, "all"], "Hidden activation; 'all' runs both.")
flags.DEFINE_enum("loss", "all", [*LOSSES, "all"], "Loss on the sigmoid output; 'all' runs both.")
flags.DEFINE_enum("dataset", "xor", list(TOY_DATASETS), "2-D binary dataset (each has a margin).")
flags.DEFINE_integer("num_points", 200, "Training points.")
flags.DEFINE_float("margin", 0.1, "Gap around the true boundary, so 100% accuracy is reachable.")
flags.DEFINE_integer("data_seed", 0, "Seed of the dataset (fixed across models).")
cli.define_list("hidden", "16", "Hidden widths, e.g. 16 or 16,16.", cast=int, kind="an integer",
                strictly_positive=True)
flags.DEFINE_enum("optimizer", "sgd", list(optim.OPTIMIZERS), "Optimizer (full batch).")
cli.define_list("lr", "0.1,0.3,1,3,10,30", "Learning rate, or a comma list to sweep.", strictly_positive=True)
flags.DEFINE_integer("seeds", 64, "Seeds per (cell, learning rate).")
flags.DEFINE_integer("first_seed", 0, "First seed id; seed k alone: --first_seed=k --seeds=1.")
flags.DEFINE_integer("steps", 10000, "Maximum iterations; a model not at 100% by then is censored.")
flags.DEFINE_integer("record_every", 10, "Record loss/accuracy curves every this many steps.")
flags.DEFINE_integer("chunk_steps", 1000, "Steps per compiled chunk (progress/early stop between).")
flags.DEFINE_string("out", "results/fc_grid", "Output directory.")
for _name in ("num_points", "seeds", "steps", "record_every", "chunk_steps"):
    cli.positive(_name)
flags.register_validator("first_seed", lambda v: v >= 0, message="--first_seed must be >= 0")
flags.register_validator("margin", lambda v: 0 <= v < 1, message="--margin must be in [0, 1)")


def run_cell(activation, loss, data, hidden, lrs, seed_ids, trainer_kwargs):
    """Trains seeds x lrs models of one cell. Returns the engine Result (models ordered lr-major)."""
    model = MLP(features=(*hidden, 1), activation=activation)
    task = binary.make_task(model, loss, FLAGS.optimizer, input_dim=2)
    trainer = engine.make_train(task, **trainer_kwargs)
    keys = engine.seed_keys(np.tile(seed_ids, len(lrs)))
    hparams = {"lr": np.repeat(np.asarray(lrs, np.float32), len(seed_ids))}
    # Every model either reached 100% or diverged: later chunks would change nothing we report.
    done = lambda state: bool(np.all(np.asarray(state["task"]["hit_step"]) >= 0))
    return model, trainer(keys, hparams, data, stop_early=done, label=f"{activation}-{loss}")


def summarize_cell(activation, loss, model, result, lrs, seed_ids):
    """Per-lr statistics of one cell; its curves and a decision-boundary panel at its best lr."""
    hit = result.state["hit_step"].reshape(len(lrs), -1)
    diverged = result.diverged.reshape(len(lrs), -1)
    iters = stats.censored_iterations(hit, FLAGS.steps)
    by_lr = [{"lr": lr, **stats.censored_stats(iters[i], hit[i], diverged[i], FLAGS.steps),
              "iterations": iters[i].astype(int).tolist()} for i, lr in enumerate(lrs)]
    best = min(range(len(lrs)), key=lambda i: (by_lr[i]["median"], -by_lr[i]["fraction_reached"]))
    cell = {"activation": activation, "loss": loss, "best_lr": lrs[best], "by_lr": by_lr,
            "best_lr_at_grid_edge": len(lrs) > 1 and best in (0, len(lrs) - 1),
            "best": {k: v for k, v in by_lr[best].items() if k != "iterations"},
            "best_iterations": by_lr[best]["iterations"]}
    first = best * len(seed_ids)  # models are lr-major: this is the first seed at the best lr
    rows = slice(first, first + len(seed_ids))
    curve = (result.record_steps, result.metrics["acc"][rows], result.metrics["loss"][rows])
    params = jax.tree.map(lambda a: a[first], result.state["params"])

    def predict(points):
        return jax.nn.sigmoid(model.apply({"params": params}, points)[:, 0])

    panel = (predict, f"seed {seed_ids[0]}, lr {lrs[best]:g}: {iters[best][0]:.0f} iterations")
    logging.info("%s-%s: best lr %g, median %.0f iterations, %d/%d reached", activation, loss, lrs[best],
                 by_lr[best]["median"], int((hit[best] >= 0).sum()), len(seed_ids))
    return cell, curve, panel


def ordering_verdict(cells: list[dict]) -> dict:
    """Our ranking (median iterations at each cell's best lr) vs the seed's, and each pairwise claim
    tested on paired seeds: seed k starts every cell from the same initial weights, so the per-seed
    difference in iterations isolates the activation/loss effect."""
    by_cell = {(c["activation"], c["loss"]): c for c in cells}
    seed_order = [c for c in sorted(SEED_ITERATIONS, key=SEED_ITERATIONS.get, reverse=True) if c in by_cell]
    ours = sorted(seed_order, key=lambda c: by_cell[c]["best"]["median"], reverse=True)
    pairs = []
    for slow, fast in itertools.combinations(seed_order, 2):  # the seed says `slow` needs more iterations
        diff = np.asarray(by_cell[slow]["best_iterations"], float) - np.asarray(by_cell[fast]["best_iterations"])
        lo, hi = stats.bootstrap_ci(diff)
        verdict = "supported" if lo > 0 else "contradicted" if hi < 0 else "not resolved (CI contains 0)"
        pairs.append({
            "seed_claim": f"{'-'.join(slow)} needs more iterations than {'-'.join(fast)}",
            "median_paired_difference": float(np.median(diff)),
            "ci95": [lo, hi],
            "fraction_of_seeds_agreeing": float(np.mean(diff > 0)),
            "verdict": verdict,
        })
    # The seed presumably used one learning rate for every cell: the ranking at each common lr.
    at_lr = []
    for i, row in enumerate(by_cell[seed_order[0]]["by_lr"]):
        order = sorted(seed_order, key=lambda c: by_cell[c]["by_lr"][i]["median"], reverse=True)
        at_lr.append({"lr": row["lr"], "order_slowest_first": ["-".join(c) for c in order],
                      "order_reproduced": order == seed_order})
    return {
        "order_at_each_lr": at_lr,
        "seed_order_slowest_first": ["-".join(c) for c in seed_order],
        "our_order_slowest_first": ["-".join(c) for c in ours],
        "order_reproduced": ours == seed_order,
        "pairs": pairs,
    }


def ordering_claim(v: dict) -> dict:
    """The seed's ordering claim, for the claims audit of `make results`."""
    verdicts = [p["verdict"] for p in v["pairs"]]
    supported, contradicted = verdicts.count("supported"), verdicts.count("contradicted")
    if contradicted == 0 and supported == len(verdicts):
        verdict = "supported"
    elif supported == 0 and contradicted > 0:
        verdict = "contradicted"
    elif contradicted > 0:
        verdict = "partly supported"
    else:
        verdict = "not resolved"
    common = sum(r["order_reproduced"] for r in v["order_at_each_lr"])
    ours = (f"order at each cell's best lr: {' > '.join(v['our_order_slowest_first'])}; "
            f"{supported}/{len(verdicts)} pairwise claims supported, {contradicted} contradicted (paired seeds); "
            f"seed's order holds at {common}/{len(v['order_at_each_lr'])} common learning rates")
    return {"id": "fc_ordering", "ours": ours, "verdict": verdict}


def summary_markdown(summary: dict) -> str:
    f = summary["flags"]
    lines = [
        "# Fully connected grid: iterations to 100% training accuracy",
        "",
        f"Data: `{f['dataset']}` ({f['num_points']} points, margin {f['margin']}), network 2-"
        f"{f['hidden'].replace(',', '-')}-1, {f['optimizer']} full batch, {f['seeds']} seeds per "
        f"(cell, lr), max {f['steps']} steps. Censored = never reached 100% (counted at the max).",
        "",
        "| cell | lr | median iters | IQR | 95% CI of median | reached | diverged |",
        "|---|---|---|---|---|---|---|",
    ]
    for cell in summary["cells"]:
        for row in cell["by_lr"]:
            mark = " **(best)**" if row["lr"] == cell["best_lr"] else ""
            med = f">= {row['median']:.0f}" if row["median_censored"] else f"{row['median']:.0f}"
            lines.append(
                f"| {cell['activation']}-{cell['loss']} | {row['lr']:g}{mark} | {med} | "
                f"{row['q25']:.0f}-{row['q75']:.0f} | {row['ci95'][0]:.0f}-{row['ci95'][1]:.0f} | "
                f"{100 * row['fraction_reached']:.0f}% | {row['diverged']} |"
            )
    v = summary["verdict"]
    lines += [
        "",
        "## Seed claim vs our measurement",
        "",
        "| cell | seed's iterations | ours (median at best lr, 95% CI) |",
        "|---|---|---|",
    ]
    for cell in summary["cells"]:
        b = cell["best"]
        seed = SEED_ITERATIONS[(cell["activation"], cell["loss"])]
        lines.append(f"| {cell['activation']}-{cell['loss']} | ~{seed} | {b['median']:.0f} "
                     f"({b['ci95'][0]:.0f}-{b['ci95'][1]:.0f}) |")
    lines += [
        *[f"\nNote: {c['activation']}-{c['loss']}'s best lr is at the edge of the --lr grid; widen it." for c in
          summary["cells"] if c["best_lr_at_grid_edge"]],
        "",
        f"Seed order (slowest first): {' > '.join(v['seed_order_slowest_first'])}  ",
        f"Our order (slowest first): {' > '.join(v['our_order_slowest_first'])}  ",
        f"**Ordering reproduced at each cell's best lr: {'yes' if v['order_reproduced'] else 'no'}.**",
        "",
        "At one common learning rate for all cells (ties broken arbitrarily; censored medians tie at the max):",
        "",
        "| lr | order (slowest first) | seed's order? |",
        "|---|---|---|",
        *[f"| {r['lr']:g} | {' > '.join(r['order_slowest_first'])} | {'yes' if r['order_reproduced'] else 'no'} |"
          for r in v["order_at_each_lr"]],
        "",
        "Pairwise claims, tested per seed (same initial weights in every cell): median of the paired "
        "difference in iterations, its bootstrap 95% CI, and the share of seeds that agree.",
        "",
        "| seed's pairwise claim | median difference (95% CI) | seeds agreeing | verdict |",
        "|---|---|---|---|",
        *[f"| {p['seed_claim']} | {p['median_paired_difference']:.0f} ({p['ci95'][0]:.0f} to {p['ci95'][1]:.0f}) "
          f"| {100 * p['fraction_of_seeds_agreeing']:.0f}% | {p['verdict']} |" for p in v["pairs"]],
        "",
        f"Wall time {summary['provenance']['wall_s']:.1f} s (compile {summary['provenance']['compile_s']:.1f}"
        f" s) on {summary['provenance']['device']['device_count']} x "
        f"{summary['provenance']['device']['device_kind']}; {summary['model_steps']:,} model-steps.",
        "",
        "![curves](curves.png) ![iterations](iterations.png) ![boundaries](boundaries.png)",
        "",
    ]
    return "\n".join(lines)


def main(argv):
    out = cli.start(argv, FLAGS.out)
    hidden, lrs = cli.parse("hidden", int), cli.parse("lr", float)
    seed_ids = np.arange(FLAGS.first_seed, FLAGS.first_seed + FLAGS.seeds)
    x, y = make_toy(FLAGS.dataset, FLAGS.num_points, FLAGS.data_seed, FLAGS.margin)
    data = (jnp.asarray(x), jnp.asarray(y, jnp.float32))
    trainer_kwargs = dict(steps=FLAGS.steps, chunk_steps=FLAGS.chunk_steps, record_every=FLAGS.record_every,
                          group=engine.default_group())

    t0 = time.perf_counter()
    cells, curves, panels, compile_s, model_steps = [], {}, {}, 0.0, 0
    for activation, loss in itertools.product(cli.expand_choice(FLAGS.activation, ACTIVATIONS),
                                              cli.expand_choice(FLAGS.loss, LOSSES)):
        model, result = run_cell(activation, loss, data, hidden, lrs, seed_ids, trainer_kwargs)
        compile_s += result.compile_s
        model_steps += result.steps_run * len(seed_ids) * len(lrs)
        cell, curves[(activation, loss)], panels[(activation, loss)] = summarize_cell(
            activation, loss, model, result, lrs, seed_ids)
        cells.append(cell)
    wall_s = time.perf_counter() - t0

    summary = {
        "experiment": "fc_grid",
        "metric": "iterations to reach 100% training accuracy (censored at --steps)",
        "cells": cells,
        "verdict": ordering_verdict(cells),
        "model_steps": model_steps,
        "flags": cli.flag_dict(FLAGS, names=_FLAG_NAMES),
        "provenance": provenance.collect(wall_s=wall_s, compile_s=compile_s),
    }
    summary["provenance"]["flags"] = summary["flags"]
    summary["claims"] = [ordering_claim(summary["verdict"])]
    io.write_json(out / "summary.json", summary)
    io.write_text(out / "summary.md", summary_markdown(summary))
    plots.curves(curves, FLAGS.steps, out / "curves.png")
    plots.iteration_distributions({(c["activation"], c["loss"]): c["best_iterations"] for c in cells},
                                  FLAGS.steps, out / "iterations.png",
                                  title="Iterations to 100% training accuracy at each cell's best lr")
    plots.decision_boundaries(panels, x, y, out / "boundaries.png")
    logging.info("wrote %s (%.1f s)", out, wall_s)
    print(summary_markdown(summary))


_FLAG_NAMES = ("activation", "loss", "dataset", "num_points", "margin", "data_seed", "hidden", "optimizer",
               "lr", "seeds", "first_seed", "steps", "record_every", "chunk_steps", "out")

if __name__ == "__main__":
    app.run(main)
