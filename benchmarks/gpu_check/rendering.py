"""results/bench_gpu.md from the GPU check's report (the JSON beside it holds every number): a header, the
headlines, the sections' status table, then each section's table. Rendering reads only the report, so a
report cut short at any point renders, and a made-up report tests it (tests/test_gpu_check.py)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.gpu_check.plan import SECTIONS, TITLES
from jaxdl.reporting import io, peaks
from jaxdl.reporting.summary import Table


def _bytes(value) -> str:
    return f"{value / 2**30:.2f} GiB"


def _ratio(unit: str = "x", spec: str = ".2f"):
    return lambda value: f"{format(value, spec)}{unit}"


def _percent(value) -> str:
    return f"{100 * value:.1f}%"


def _repeats(spec: str):
    return lambda values: ", ".join(format(v, spec) for v in values)


def _table(columns, rows, formats) -> list[str]:
    return Table("", columns, rows, formats).markdown()[:-1]


def _with_headline(lines: list[str], headline: str | None) -> list[str]:
    return lines + (["", headline] if headline else [])


def _device_kind(report: dict) -> str:
    for rec in report["sections"].values():
        if rec.get("device_kind"):
            return rec["device_kind"]
    return "unknown"


def _measured_peak(report: dict) -> float | None:
    rows = report["sections"].get("device", {}).get("rows", [])
    return next((r["flops_per_s"] for r in rows if r["dtype"] == "bfloat16"), None)


def _table_device(report, rec) -> list[str]:
    peak, source = peaks.peak_bf16(rec.get("device_kind", ""))
    lines = _table(("dtype", "op", "time", "FLOP/s measured", "XLA FLOPs / 2n^3"),
                   [(r["dtype"], r["op"], r["seconds"], r["flops_per_s"],
                     r["xla_flops"] / r["flops"] if r["xla_flops"] else None) for r in rec["rows"]],
                   (None, None, lambda s: f"{1e3 * s:.3f} ms", lambda f: f"{f / 1e12:.2f} T", ".3f"))
    measured = _measured_peak(report)
    return lines + ["", f"Data-sheet dense bf16 peak for `{rec.get('device_kind')}`: "
                    + (f"{peak / 1e12:.0f} TFLOP/s ({source})" if peak else "not in the table (no MFU vs data sheet)")
                    + (f"; the measured bf16 matmul reaches {100 * measured / peak:.0f}% of it." if peak and measured
                       else ".")]


def _table_fc(report, rec) -> list[str]:
    base = next((r for r in rec["rows"] if r["group"] == "-"), None)
    table = _table(("contender", "models", "group", "model-steps/s", "vs one at a time", "compile s"),
                   [(r["contender"], r["models"], r["group"], r["model_steps_per_s"],
                     r["model_steps_per_s"] / base["model_steps_per_s"] if base else None, r["compile_s"])
                    for r in rec["rows"]],
                   (None, ",", None, ",.0f", _ratio(spec=".1f"), ".1f"))
    return _with_headline([rec.get("workload", ""), "", *table], _fc_headline(report, rec))


def _fc_headline(report, rec) -> str | None:
    base = next((r for r in rec["rows"] if r["group"] == "-"), None)
    engine_rows = [r for r in rec["rows"] if r["group"] != "-"]
    if not (base and engine_rows):
        return None
    best = max(engine_rows, key=lambda r: r["model_steps_per_s"])
    ratio = best["model_steps_per_s"] / base["model_steps_per_s"]
    return (f"FC grid: engine ({best['models']:,} models, group {best['group']}) / one model at a time: "
            f"**{ratio:,.1f}x** model-steps/s (target >= 50x: {'met' if ratio >= 50 else 'not met'}).")


def _table_program(report, rec) -> list[str]:
    table = _table(("fc_grid args", "model-steps", "one program: wall s (compile s)",
                    "per cell: processes, wall s summed (compile s)", "per cell / one program", "same iterations"),
                   [(f"`{r['args']}`", r["model_steps"], f"{r['one_wall_s']:.1f} ({r['one_compile_s']:.1f})",
                     f"{r['cells']}, {r['per_cell_wall_s']:.1f} ({r['per_cell_compile_s']:.1f})",
                     r["per_cell_wall_s"] / r["one_wall_s"], "yes" if r["same_iterations"] else "no")
                    for r in rec["rows"]],
                   (None, ",", None, None, _ratio()))
    return _with_headline([rec.get("workload", ""), "", *table], _program_headline(report, rec))


def _program_headline(report, rec) -> str | None:
    if not rec["rows"]:
        return None
    r = rec["rows"][0]
    ratio = r["per_cell_wall_s"] / r["one_wall_s"]
    return (f"fc_grid `{r['args']}`, whole process: one program {r['one_wall_s']:.1f} s vs per cell "
            f"{r['per_cell_wall_s']:.1f} s: **{ratio:.2f}x** (target >= 1: {'met' if ratio >= 1 else 'not met'}).")


def _vmap_row(rows, batch):
    return next((r for r in rows if r["batch"] == batch and r["group"] == "all (vmap)"), None)


def _table_cnn(report, rec) -> list[str]:
    rows = []
    for r in rec["rows"]:
        vmap = _vmap_row(rec["rows"], r["batch"])
        rows.append((r["batch"], f"{r['strategy']} ({r['group']})", r["model_steps_per_s"], r["images_per_s"],
                     r["repeats"], r["model_steps_per_s"] / vmap["model_steps_per_s"] if vmap else None,
                     r["compile_s"]))
    table = _table(("batch", "strategy (engine group)", "model-steps/s", "images/s", "repeats", "vs vmap all",
                    "compile s"), rows, (None, None, ",.1f", ",.0f", _repeats(",.1f"), ".2f", ".1f"))
    return _with_headline([f"Data: {rec.get('data', 'n/a')}. {rec.get('workload', '')}", "", *table],
                          _cnn_headline(report, rec))


def _cnn_headline(report, rec) -> str | None:
    verdicts = []
    for batch in sorted({r["batch"] for r in rec["rows"]}):
        rows = [r for r in rec["rows"] if r["batch"] == batch]
        vmap = _vmap_row(rows, batch)
        best = max(rows, key=lambda r: r["model_steps_per_s"])
        if vmap is None or len(rows) < 2:
            continue
        if best is vmap:
            verdicts.append(f"batch {batch}: vmap all is the fastest")
        else:
            speedup = best["model_steps_per_s"] / vmap["model_steps_per_s"]
            verdicts.append(f"batch {batch}: **{best['strategy']} is {speedup:.2f}x vmap all**")
    if not verdicts:
        return None
    return "CNNs: is vmap all (the engine's choice on GPU) the right default? " + "; ".join(verdicts) + "."


def _table_zoo(report, rec) -> list[str]:
    peak, _ = peaks.peak_bf16(rec.get("device_kind", ""))
    measured = _measured_peak(report)
    n_dev = rec.get("device_count", 1)
    rows = []
    for r in rec["rows"]:
        flops_s = r["train_flops_per_s"] / n_dev
        rows.append((r["model"], f"{r['seeds']} ({r['group']})", r["images_per_s"], r["repeats"],
                     r["forward_flops_per_image"] / 1e9, r["train_flops_per_s"] / 1e12,
                     flops_s / peak if peak else None, flops_s / measured if measured else None, r["compile_s"],
                     r["peak_memory_bytes_so_far"]))
    table = _table(("model", "seeds (engine group)", "images/s", "repeats", "forward GFLOPs / image (XLA)",
                    "training TFLOP/s (3 x fwd)", "MFU (data-sheet peak)", "vs measured matmul", "compile s",
                    "peak memory so far"), rows,
                   (None, None, ",.0f", _repeats(",.0f"), ".3f", ".3f", _percent, _percent, ".1f", _bytes))
    lines = _with_headline([rec.get("workload", ""), "", *table], _zoo_headline(report, rec))
    return lines + ["", "MFU = 3 x XLA's forward FLOPs per image x images/s / (chip peak x devices). Peak memory is "
                    "the process's high-water mark after that model (models run in the order listed)."]


def _zoo_headline(report, rec) -> str | None:
    peak, _ = peaks.peak_bf16(rec.get("device_kind", ""))
    r18 = max((r for r in rec["rows"] if r["model"] == "resnet18"), key=lambda r: r["images_per_s"], default=None)
    if not (r18 and peak):
        return None
    mfu = r18["train_flops_per_s"] / rec.get("device_count", 1) / peak
    return (f"ResNet-18 bf16 MFU (batch {r18['batch']}, {r18['seeds']} seeds, group {r18['group']}): "
            f"**{100 * mfu:.1f}%** of the dense bf16 peak (target >= 35%: {'met' if mfu >= 0.35 else 'not met'}).")


def _table_training(report, rec) -> list[str]:
    rows = [(r["model"], f"{r['steps']:,} ({r['epochs']:.2g})", r["batch"], r["seeds"],
             f"{100 * r['test_acc_mean']:.2f}% (" + ", ".join(f"{100 * a:.1f}" for a in r["test_acc_per_seed"]) + ")",
             r["final_train_loss"], r["train_s"], r["images_per_s"], r["compile_s"], r["diverged"])
            for r in rec["rows"]]
    return [f"Data: {rec.get('data', 'n/a')}.", "",
            *_table(("model", "steps (epochs)", "batch", "seeds", "test accuracy (mean; per seed)", "final train loss",
                     "train s", "images/s", "compile s", "diverged"), rows,
                    (None, None, None, None, None, ".3f", ".1f", ",.0f", ".1f", None))]


TABLES = {"device": _table_device, "fc_grid": _table_fc, "fc_program": _table_program, "cnn_batching": _table_cnn,
          "zoo_throughput": _table_zoo, "zoo_training": _table_training}
HEADLINES = {"fc_grid": _fc_headline, "fc_program": _program_headline, "cnn_batching": _cnn_headline,
             "zoo_throughput": _zoo_headline}


def _memory(rec) -> str:
    memory = _bytes(rec["peak_memory_bytes"]) if rec.get("peak_memory_bytes") is not None else "n/a"
    return memory + (f" (of {_bytes(rec['memory_limit_bytes'])})" if rec.get("memory_limit_bytes") else "")


def render(report: dict) -> str:
    prov = report["provenance"]
    device = report["sections"].get("device", {})
    lines = [
        "# GPU check (`python -m benchmarks.gpu_check`)",
        "",
        f"Size `{report['size']}`, budget {report['budget_s']:.0f} s; "
        + (f"finished in {report['wall_s']:.0f} s." if report.get("finished") else
           f"**unfinished** ({report['wall_s']:.0f} s so far when this file was written)."),
        f"Device: {_device_kind(report)} ({device.get('backend', 'n/a')}); "
        f"nvidia-smi: {report['nvidia_smi']}; jax {prov['versions'].get('jax')}, jaxlib "
        f"{prov['versions'].get('jaxlib')}, jax-cuda12-plugin {prov['versions'].get('jax-cuda12-plugin')}; "
        f"platform {device.get('jax_platform_version', 'n/a')}; python "
        f"{prov['versions']['python']}; commit `{prov['git_commit']}`, {prov['date_utc']}, host `{report['host']}`.",
        "",
    ]
    headlines = [h for name, fn in HEADLINES.items() if report["sections"][name].get("rows")
                 for h in [fn(report, report["sections"][name])] if h]
    if headlines:
        lines += [*(f"- {h}" for h in headlines), ""]
    status = [(name, rec["status"], rec.get("reason") or "", rec.get("wall_s"), rec.get("cap_s"), _memory(rec))
              for name, rec in ((n, report["sections"][n]) for n in SECTIONS)]
    lines += _table(("section", "status", "reason", "wall s", "cap s", "peak device memory (of the limit)"), status,
                    (None, None, lambda text: text.replace("\n", " "), ".1f", ".1f"))
    for name in SECTIONS:
        rec = report["sections"][name]
        lines += ["", f"## {TITLES[name]}", "",
                  f"Status: **{rec['status']}**" + (f": {rec['reason']}" if rec.get("reason") else "") + "."]
        if rec.get("rows"):
            lines += ["", *TABLES[name](report, rec)]
        lines += [f"- {note}" for note in rec.get("notes", [])]
    lines += ["", "Each section ran in its own process (its peak memory is its own) under a time cap; the JSON "
              "beside this file holds every number.", ""]
    return "\n".join(lines)


def write_report(report: dict, out: Path) -> None:
    """The JSON beside `out`, then the markdown, each written atomically."""
    io.write_json(out.with_suffix(".json"), report)
    io.write_text(out, render(report))
