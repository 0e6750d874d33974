"""`make bench`: every benchmark section, measured in this run, collected into results/bench.md.

    python -m benchmarks.run                     # all sections
    python -m benchmarks.run --only=fc,cnn       # some sections (the others are left out of the file)
    python -m benchmarks.run --only=cnn --merge  # re-measure some; keep the file's other sections, each
                                                 # marked with the commit and date it was measured at

Each section runs in its own process (a fresh JAX runtime, no cross-talk between contenders of different
sections) and measures its contenders side by side. Speed goals live here, never in timed tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

from absl import app, flags

from benchmarks import timing
from benchmarks.bench_md import merge
from jaxdl.experiment import runtime
from jaxdl.reporting import io, provenance

SECTIONS = {
    "fc": "benchmarks.fc_bench",
    "fc_program": "benchmarks.fc_program_bench",
    "cnn": "benchmarks.cnn_bench",
    "mnist": "benchmarks.mnist_bench",
    "zoo": "benchmarks.zoo_bench",
    "zoo_run": "benchmarks.zoo_run_bench",
    "data": "benchmarks.data_bench",
    "startup": "benchmarks.startup_bench",
    "landscape": "benchmarks.landscape_bench",
}

FLAGS = flags.FLAGS
flags.DEFINE_list("only", list(SECTIONS), f"Sections to run: {', '.join(SECTIONS)}.")
flags.DEFINE_string("out", "results/bench.md", "Output markdown file.")
flags.DEFINE_bool("merge", False, "Keep the sections of an existing --out that this run does not measure "
                  "(marked with the commit and date they were measured at).")


def main(argv):
    del argv
    unknown = set(FLAGS.only) - set(SECTIONS)
    if unknown:
        raise app.UsageError(f"--only: unknown section(s) {', '.join(sorted(unknown))}; choose from "
                             f"{', '.join(SECTIONS)}")
    out = Path(FLAGS.out)
    io.prepare_out_dir(out.parent)
    prov = provenance.collect()
    parts = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {prov['device']['device_count']} x {prov['device']['device_kind']} "
        f"({prov['device']['backend']}, host `{prov['device']['host']}`), commit `{prov['git_commit']}`, "
        f"{prov['date_utc']}, jax {prov['versions']['jax']}. Shared, noisy machines: every ratio below "
        "compares contenders measured side by side in one run (in one process, but for PyTorch, which runs in a "
        "process of its own); numbers are medians of repeats.",
        "",
        "GPU: `make gpu-check` (benchmarks/gpu_check/) measures the accelerator path in one bounded run, "
        "into results/bench_gpu.md.",
        "",
    ]
    for name in FLAGS.only:
        module = SECTIONS[name]
        if not Path(module.replace(".", "/") + ".py").exists():
            parts += [f"## {name}", "", f"Not measured: `{module}` does not exist in this checkout.", ""]
            continue
        print(f"[bench] {name} ...", flush=True)
        proc = timing.run_process([sys.executable, "-c", f"import {module} as m; print(m.run())"])
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            parts += [f"## {name}", "", f"FAILED (exit {proc.returncode}); see `python -m {module}`.", ""]
            continue
        parts += [proc.stdout.strip(), "", f"_(section measured in {proc.seconds:.0f} s)_", ""]
        print(f"[bench] {name} done in {proc.seconds:.0f} s", flush=True)
    text = "\n".join(parts)
    if FLAGS.merge and out.exists():
        text = merge(out.read_text(), text)
    io.write_text(out, text)
    print(f"wrote {out}")


if __name__ == "__main__":
    runtime.configure()
    app.run(main)
