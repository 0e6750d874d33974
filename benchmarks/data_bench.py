"""Data-layer timings: svhn_synth generation at SVHN's full sizes, and cached loads of the offline sets.

    python -m benchmarks.data_bench        # prints a markdown section
"""

from __future__ import annotations

import os
import tempfile
import time

from benchmarks import timing
from jaxdl.data import load, svhn_synth
from jaxdl.experiment import runtime
from jaxdl.reporting.summary import Table


def run() -> str:
    cores = len(os.sched_getaffinity(0))
    svhn_synth.glyph_templates()  # one-off font rasterisation (~0.2 s), not part of the per-image cost
    rows = []
    for split, n in svhn_synth.SIZES.items():
        cpu = time.process_time()
        seconds, _ = timing.timed(lambda split=split, n=n: svhn_synth.generate(n, seed=0, split=split))
        rows.append((split, n, seconds, time.process_time() - cpu, n / seconds))
    total_n, total_s, total_cpu = (sum(r[i] for r in rows) for i in (1, 2, 3))
    rows.append(("**total**", total_n, total_s, total_cpu, total_n / total_s))
    loads = []
    with tempfile.TemporaryDirectory() as cache_dir:
        for name in ("digits", "mnist5k", "fashion_mnist"):
            try:
                build, ds = timing.timed(lambda name=name: load(name, "train", cache_dir=cache_dir))
            except (FileNotFoundError, ValueError) as err:
                loads.append((name, "train", "-", f"unavailable: {str(err).splitlines()[0][:60]}", "-"))
                continue
            cached, _ = timing.timed(lambda name=name: load(name, "train", cache_dir=cache_dir))
            loads.append((name, "train", len(ds), build, cached))
    lines = [
        "## Data: svhn_synth generation (SYNTHETIC SVHN stand-in)",
        "",
        f"{timing.cpu_text()}, numpy, {cores} threads; no cache involved; 1-minute load average "
        f"{os.getloadavg()[0]:.1f} at the end (CPU seconds are the less load-sensitive number).",
        "",
        *Table("", ("split", "images", "wall s", "CPU s", "images/s (wall)"), rows,
               (None, ",", ".1f", ".1f", ",.0f")).markdown(),
        *Table("Loading the offline sets (first build, then from the .npz cache)",
               ("dataset", "split", "images", "build s", "cached s"), loads,
               (None, None, ",", ".2f", ".2f")).markdown(),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    runtime.configure()
    print(run())
