"""Loss surfaces: one 2-D surface of the cnn_aux CNN as one program vs the same points one at a time.

experiments.net_landscape evaluates every point of a surface as a member of one engine call
(jaxdl.analysis.surfaces.evaluate_plane: sharded over the devices, vmapped within each). Li et al.'s
reference code evaluates one point at a time: it sets the weights theta + a d1 + b d2 in Python, then runs
the loss over the evaluation set in minibatches of 128, reading each batch's loss back to the host. Here
that loop runs in the same JAX, with the same jitted loss function (the experiment's: CE + λ·L2 of the
SmallCNN with its regression head, flax's convolutions: the engine runs a conv net's points one at a time on
CPU), on the same points and images. Both contenders interleaved (benchmarks/timing.side_by_side), medians
of repeats, compile excluded; at several eval-set sizes. Why the ratio is small on CPU: each point is a
forward pass over the eval set, compute the loop pays too; one program saves only the loop's per-point
host work (setting the weights, a dispatch and a read-back per batch): the loop's time per point minus the
program's, 1.7-3.9 ms in results/bench.md.

    python -m benchmarks.landscape_bench        # prints a markdown section
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import timing
from experiments.net_landscape import families
from jaxdl import data
from jaxdl.analysis import surfaces
from jaxdl.experiment import runtime
from jaxdl.models.cnn import SmallCNN
from jaxdl.reporting.summary import Table

POINTS = 11  # per axis: a 121-point surface
EVAL_SIZES = (16, 64, 256)
REFERENCE_BATCH = 128  # Li et al.'s default evaluation batch size
REPEATS = 3
TARGET = 20.0


def _workload(eval_size: int):
    ds = data.load("mnist5k", "train")
    params = SmallCNN(num_classes=ds.num_classes, regression_outputs=1).init(
        jax.random.key(0), jnp.zeros((1, *ds.shape)), train=False)["params"]
    d1, d2 = (surfaces.filter_normalized(jax.random.PRNGKey(i), params) for i in (1, 2))
    aux = {"aux_weight": jnp.float32(1.0)}
    return families.cnn_loss(ds.num_classes), params, d1, d2, aux, families.cnn_batch(ds, eval_size)


def contenders(eval_size: int, points: int = POINTS) -> dict:
    loss_fn, params, d1, d2, aux, batch = _workload(eval_size)
    _, coords = surfaces.grid_coords(1.0, points)
    stack = lambda tree: jax.tree.map(lambda x: jnp.asarray(x)[None], tree)  # noqa: E731
    planes = {"theta": stack(params), "d1": stack(d1), "d2": stack(d2), "aux": stack(aux)}
    loss_jit = jax.jit(loss_fn)

    def one_program():
        return surfaces.evaluate_plane(loss_fn, planes, coords, batch)["loss"]

    def one_at_a_time():
        out = []
        for a, b in coords:
            w = surfaces.plane(params, d1, d2, float(a), float(b))  # set the weights, leaf by leaf
            total = 0.0
            for i in range(0, eval_size, REFERENCE_BATCH):
                part = jax.tree.map(lambda x, i=i: x[i:i + REFERENCE_BATCH], batch)
                total += float(loss_jit(w, aux, part)) * part[1].shape[0]
            out.append(total / eval_size)
        return np.asarray(out)

    return {"one program (engine)": one_program, "one point at a time (reference loop)": one_at_a_time}


def ceiling(image_rate: float, eval_size: int, loop_points_per_s: float) -> float:
    """What a program whose points cost only their images' evaluation at `image_rate` would gain over a loop
    evaluating `loop_points_per_s` points of `eval_size` images: the loop's time per point over the
    evaluation's own (eval_size / image_rate)."""
    return image_rate / eval_size / loop_points_per_s


def run() -> str:
    t0 = time.perf_counter()
    rows, ratios, loop_rates, image_rates = [], {}, {}, []
    for size in EVAL_SIZES:
        t = timing.side_by_side(contenders(size), REPEATS)
        (prog_name, prog), (loop_name, loop) = t.items()
        # Same values: the surface is the loop's (float rounding aside).
        np.testing.assert_allclose(np.ravel(prog.first), loop.first, rtol=2e-3, atol=1e-4)
        n = POINTS * POINTS
        ratios[size], loop_rates[size] = prog.rate(n) / loop.rate(n), loop.rate(n)
        image_rates += [prog.rate(n) * size, loop.rate(n) * size]
        for name, tm in ((prog_name, prog), (loop_name, loop)):
            rows.append([size, name, tm.rate(n), tm.rate(n) * size, ", ".join(f"{r:.1f}" for r in tm.rates(n)),
                         tm.rate(n) / loop.rate(n), tm.compile_s])
    where = f"{jax.default_backend()} `{jax.devices()[0].device_kind}` x {len(jax.devices())}"
    if jax.default_backend() == "cpu":
        where += f", {timing.cpu_text()}; 1-minute load average {os.getloadavg()[0]:.1f} at the end"
    table = Table("", ["eval images", "contender", "points/s (median)", "image-evaluations/s", "repeats (points/s)",
                       "vs loop", "first call s"], rows, [None, None, ".1f", ".0f", None, ".2f", ".1f"])
    met = [s for s, r in ratios.items() if r >= TARGET]
    ceilings = {s: ceiling(max(image_rates), s, rate) for s, rate in loop_rates.items()}
    lines = [
        "## Landscape: a 2-D loss surface of the cnn_aux CNN as one program vs one point at a time",
        "",
        f"One {POINTS}x{POINTS} surface ({POINTS * POINTS} points, filter-normalised directions) of the cnn_aux "
        "SmallCNN with its regression head (CE + λ·L2, flax's convolutions: the experiment's surface loss), "
        "on the first E mnist5k training images. One program = `surfaces.evaluate_plane`: every point a "
        "member of one engine call (sharded over the devices, vmapped within each). Reference loop = Li et "
        f"al.'s approach: per point, the weights set leaf by leaf, then the loss over batches of {REFERENCE_BATCH} "
        "images, each read back to the host; the same jitted loss. Interleaved, median of "
        f"{REPEATS} repeats, compile excluded (first call listed). Device: {where}.",
        "",
        *table.markdown(),
        "One program / reference loop: " + ", ".join(f"**{r:.1f}x** at {s} images" for s, r in ratios.items())
        + f" (target >= {TARGET:g}x: " + (f"met at {', '.join(map(str, met))} images" if met else "not met")
        + ").",
        "",
        "What removing all of the loop's per-point work would give: if a point cost only its E images at the "
        f"best image-evaluation rate measured here ({max(image_rates):,.0f}/s; the evaluation itself, which the "
        "loop does too), the loop's time per point over that would be "
        + ", ".join(f"**{c:.1f}x** at {s} images" for s, c in ceilings.items())
        + f" (an estimate, not a bound: a faster evaluation would raise it). {TARGET:g}x needs a loop that "
        f"spends {1 - 1 / TARGET:.0%} of its time outside the evaluation. Benchmark wall time "
        f"{time.perf_counter() - t0:.0f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
