"""FC grid as one program vs one program per cell, whole process, and the batched PyTorch baseline.

Contenders, run one after another as subprocesses (a fresh JAX runtime each, whole-process wall time):
  one program   `python -m experiments.fc_grid` (every activation x loss x lr x seed, one compile);
  per cell      `python -m experiments.fc_grid --activation=A --loss=L` for each of the four cells, summed
                (four programs, four compiles, four process start-ups).
Both pass --time_models=0 (benchmarks.workloads.fc_grid_process). Compile seconds come from each run's
summary.json. The PyTorch row: `benchmarks.fc_bench.torch_rates`' best batched formulation (one bmm over
all models of a cell, ReLU-CE, its cheapest cell), its model-steps per second applied to the same
model-steps as the grid (a steady-state rate). Then the user's comparison (`versus_torch`): the default grid at
2000 steps as a whole process, cache warm, against benchmarks/torch_fc.py, the same models in batched PyTorch
as a process of its own, alternating pairs.

    python -m benchmarks.fc_program_bench                        # the CPU default grid
    python -m benchmarks.fc_program_bench --seeds=16 --steps=2000  # a quicker pass (flags go to fc_grid)
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import timing, torch_fc, workloads
from benchmarks.workloads import fc_grid_process
from experiments import fc_grid
from jaxdl.experiment import runtime
from jaxdl.reporting.summary import Table

CELLS = (("sigmoid", "l2"), ("sigmoid", "ce"), ("relu", "l2"), ("relu", "ce"))


def versus_torch(steps: int = 2000, pairs: int = 3) -> list[str]:
    """The default grid at `steps` as a user runs it (`python -m experiments.fc_grid --steps=S`: whole process,
    compilation cache warm, its per-activation step timing included) against benchmarks.torch_fc (the same
    models, steps and data, batched PyTorch in its own process), alternating after one warm-up run of each."""
    with tempfile.TemporaryDirectory() as tmp:
        env = workloads.with_compile_cache(str(Path(tmp) / "xla"))
        cfg = dataclasses.replace(fc_grid.Config(), steps=steps)
        cmds = {"fc_grid": [sys.executable, "-m", "experiments.fc_grid", f"--steps={steps}", f"--out={tmp}/out"],
                "torch_fc": [sys.executable, "-m", "benchmarks.torch_fc", *torch_fc.args_of(cfg)]}
        seconds = {name: [] for name in cmds}
        for i in range(pairs + 1):
            for name, cmd in cmds.items():
                t = timing.run_process(cmd, cwd=workloads.REPO, env=env).check(name).seconds
                if i:  # the first pair warms the compilation cache and the page cache
                    seconds[name].append(t)
    ours, theirs = (statistics.median(seconds[n]) for n in cmds)
    models = fc_grid.make_grid(cfg).size
    ratios = [b / a for a, b in zip(seconds["fc_grid"], seconds["torch_fc"], strict=True)]
    return [
        f"The default grid at {steps} steps as a user runs it (`python -m experiments.fc_grid --steps={steps}`: "
        f"{models:,} models, whole process, compilation cache warm) vs `python -m benchmarks.torch_fc` "
        f"(the same models, steps and data as batched PyTorch, bmm + autograd, its own process); {pairs} "
        "alternating pairs after a warm-up pair, medians:",
        "",
        f"- whole process: fc_grid **{ours:.1f} s** vs PyTorch **{theirs:.1f} s**: **{theirs / ours:.2f}x** "
        f"(pairs {', '.join(f'{r:.2f}' for r in ratios)}) {timing.target(theirs / ours, 3, unit='x')}; the "
        "engine's steady state against the "
        "best batched PyTorch: the FC grid section above",
        "",
    ]


def run(args: tuple[str, ...] = (), repeats: int = 1) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        one = fc_grid_process(Path(tmp) / "one", *args)
        cells = [fc_grid_process(Path(tmp) / f"{a}-{lo}", f"--activation={a}", f"--loss={lo}", *args)
                 for a, lo in CELLS]
    per = {k: sum(c[k] for c in cells) for k in ("wall_s", "compile_s", "model_steps")}
    ours, theirs = (np.concatenate([np.ravel(i) for i in its]) for its in (
        one["iterations"], [it for c in cells for it in c["iterations"]]))
    differ = int(np.sum(ours != theirs))
    rows = [("one program", 1, one["wall_s"], one["compile_s"], one["model_steps"], one["model_steps"] / one["wall_s"]),
            ("per cell (4 runs summed)", 4, per["wall_s"], per["compile_s"], per["model_steps"],
             per["model_steps"] / per["wall_s"])]
    try:
        from benchmarks import fc_bench

        t = fc_bench.torch_rates(repeats)
        rate = max(t["torch_batched_autograd"], t["torch_batched_manual"])
        torch_s = one["model_steps"] / rate
        rows.append(("PyTorch batched bmm (ReLU-CE rate x the grid's model-steps)", 4, torch_s, "-",
                     one["model_steps"], rate))
        speedup = f"**{torch_s / one['wall_s']:.2f}x** {timing.target(torch_s / one['wall_s'], 2, unit='x')}"
    except ImportError:
        speedup = "not measured (PyTorch not installed)"
    lines = [
        "## FC grid: one program vs one program per cell (whole process)",
        "",
        f"`python -m experiments.fc_grid {' '.join(args)}` (--time_models=0), one run each, one after another.",
        "",
        *Table("", ("contender", "programs", "wall s (whole process)", "compile s", "model-steps", "model-steps/s"),
               rows, (None, None, ".1f", ".1f", ",", ",.0f")).markdown(),
        f"- one program / per cell, whole process: **{per['wall_s'] / one['wall_s']:.2f}x** faster "
        f"{timing.target(per['wall_s'] / one['wall_s'], 1, unit='x')}; "
        f"compiles: 1 ({one['compile_s']:.1f} s) vs 4 ({per['compile_s']:.1f} s)",
        f"- one program vs best batched PyTorch, same model-steps: {speedup}",
        f"- models whose iterations differ between the two: {differ} of {ours.size} (the one program's "
        "uniform groups run the per-cell computation, but XLA fuses a larger program differently: float32 "
        "results can differ in the last bit, which moves hit steps where training is chaotic: large lrs)",
        "- how one program keeps up: seeds run fastest in the grid, so every lax.map group (auto: 32 models) "
        "holds one (activation, loss) cell, and the engine runs each such group with its choices as constants "
        "(`Task.categorical`: one branch, not every branch of a per-member `lax.switch`); the engine deals "
        "each cell's models over the devices (`Trainer.layout`), so no device trains only sigmoid cells",
        "",
        *versus_torch(),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run(tuple(sys.argv[1:])))
