"""Data-layer timings: svhn_synth generation at SVHN's full sizes, and cached loads of the offline sets.

    python -m benchmarks.data_bench        # prints a markdown section
"""

from __future__ import annotations

import os
import platform
import tempfile
import time

from jaxdl.data import load, svhn_synth
from jaxdl.experiment import runtime


def _time(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run() -> str:
    cores = len(os.sched_getaffinity(0))
    svhn_synth.glyph_templates()  # one-off font rasterisation (~0.2 s), not part of the per-image cost
    rows = []
    for split, n in svhn_synth.SIZES.items():
        cpu = time.process_time()
        seconds, _ = _time(lambda split=split, n=n: svhn_synth.generate(n, seed=0, split=split))
        rows.append((split, n, seconds, time.process_time() - cpu))
    total_n = sum(r[1] for r in rows)
    total_s = sum(r[2] for r in rows)
    total_cpu = sum(r[3] for r in rows)
    lines = [
        "## Data: svhn_synth generation (SYNTHETIC SVHN stand-in)",
        "",
        f"{cores} CPU cores ({platform.processor() or platform.machine()}), numpy, {cores} threads; "
        f"no cache involved; 1-minute load average {os.getloadavg()[0]:.1f} at the end (CPU seconds "
        "are the less load-sensitive number).",
        "",
        "| split | images | wall s | CPU s | images/s (wall) |",
        "|---|---:|---:|---:|---:|",
        *(f"| {s} | {n:,} | {t:.1f} | {c:.1f} | {n / t:,.0f} |" for s, n, t, c in rows),
        f"| **total** | {total_n:,} | {total_s:.1f} | {total_cpu:.1f} | {total_n / total_s:,.0f} |",
        "",
        "### Loading the offline sets (first build, then from the .npz cache)",
        "",
        "| dataset | split | images | build s | cached s |",
        "|---|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as cache_dir:
        for name in ("digits", "mnist5k", "fashion_mnist"):
            try:
                build, ds = _time(lambda name=name: load(name, "train", cache_dir=cache_dir))
            except (FileNotFoundError, ValueError) as err:
                lines.append(f"| {name} | train | - | unavailable: {str(err).splitlines()[0][:60]} | - |")
                continue
            cached, _ = _time(lambda name=name: load(name, "train", cache_dir=cache_dir))
            lines.append(f"| {name} | train | {len(ds):,} | {build:.2f} | {cached:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    runtime.configure()
    print(run())
