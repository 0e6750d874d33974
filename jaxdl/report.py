r"""`make results`: run every experiment, then write results/README.md with a claims audit.

    python -m jaxdl.report                      # CPU default scale, offline (what `make results` runs)
    python -m jaxdl.report --scale=full         # the accelerator schedule (see BUILD.md)
    python -m jaxdl.report --skip_run           # only rebuild results/README.md from existing results
    python -m jaxdl.report --only=fc_grid,xor   # run some experiments, report on all

Each experiment writes `results/<name>/summary.json` with a `claims` list: entries
{"id", "ours", "verdict"} answering the seed claims registered below in CLAIMS. The report joins the
two; a claim whose experiment has no result (or no answer) is listed as missing, never dropped.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags, logging

from jaxdl import io, provenance

VERDICTS = ("supported", "contradicted", "partly supported", "not resolved", "not testable offline")


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    full_args: tuple[str, ...] = ()  # added to the command at --scale=full


EXPERIMENTS = (
    Experiment("landscape", "Loss and gradient landscapes of a sigmoid neuron (seed 000 §1)"),
    Experiment("fc_grid", "Fully connected grid: activation x loss (seed 000 §2)", ("--seeds=1024",)),
    Experiment("xor", "XOR with a 2-H-1 perceptron (seed 000 §3)", ("--seeds=1024",)),
    Experiment("cnn_aux", "CNN with an auxiliary L2 regression branch (seed 000 §4)", ("--scale=full",)),
    Experiment("convexity", "Which loss makes binary classification convex (seed 004 Q1-2)"),
    Experiment("mnist_dense", "MNIST dense net 784-128-64-32-10 sweep (seed 004 Q3)", ("--scale=full",)),
    Experiment("svhn_zoo", "SVHN model zoo (seed 004 Q4)", ("--scale=full",)),
)


@dataclasses.dataclass(frozen=True)
class Claim:
    id: str
    seed: str  # report and section
    text: str  # the seed's claim, quoted or closely paraphrased
    experiment: str


CLAIMS = (
    Claim("l2_gradient_vanishes", "000 §1", "The L2 gradient approaches zero far from equilibrium", "landscape"),
    Claim("ce_gradient_constant", "000 §1", "CE approaches a constant gradient away from equilibrium", "landscape"),
    Claim("fc_ordering", "000 §2",
          "Iterations to 100%: sigmoid-L2 (10000) > sigmoid-CE (~5000) > ReLU-L2 (~2500) > ReLU-CE (~800)",
          "fc_grid"),
    Claim("xor_needs_activation", "000 §3", "Without a hidden activation the network cannot learn XOR", "xor"),
    Claim("aux_converges_faster", "000 §4", "The L2 regression branch makes the CNN converge faster", "cnn_aux"),
    Claim("aux_improves_accuracy", "000 §4", "With the branch, accuracy improves and stabilizes", "cnn_aux"),
    Claim("aux_fewer_blips", "000 §4", "Without the branch the loss jumps up three times, with it twice", "cnn_aux"),
    Claim("ce_convex_logistic", "004 Q1", "CE guarantees a convex problem for logistic regression", "convexity"),
    Claim("mse_not_convex_logistic", "004 Q1", "MSE does not guarantee convexity", "convexity"),
    Claim("none_convex_linear_hidden", "004 Q2",
          "With a linear hidden layer, neither CE nor MSE guarantees convexity", "convexity"),
    Claim("tuning_matters", "004 Q3", "Learning rate, batch size and epochs must be tuned", "mnist_dense"),
    Claim("svhn_ranking", "004 Q4",
          "On SVHN, LeNet-5 (97%) > VGG (96%) > AlexNet (95%) > ResNet-18/50/101 (88-91%)", "svhn_zoo"),
)

FLAGS = flags.FLAGS
flags.DEFINE_enum("scale", "cpu", ["cpu", "full"], "cpu: the offline CPU defaults; full: the GPU schedule.")
flags.DEFINE_string("results", "results", "Results directory (one sub-directory per experiment).")
flags.DEFINE_bool("skip_run", False, "Do not run experiments; rebuild the report from existing results.")
flags.DEFINE_list("only", [], f"Run only these experiments (report on all). Choices: "
                  f"{', '.join(e.name for e in EXPERIMENTS)}.")
flags.DEFINE_string("front_page", "README.md", "Markdown file whose claims table (between the markers "
                    f"{'<!-- claims:begin -->'} and {'<!-- claims:end -->'}) is rewritten from the audit; "
                    "empty = leave it alone.")

CLAIMS_BEGIN, CLAIMS_END = "<!-- claims:begin -->", "<!-- claims:end -->"


def command(exp: Experiment, scale: str, results: Path) -> list[str]:
    args = [sys.executable, "-m", f"experiments.{exp.name}", f"--out={results / exp.name}"]
    return args + list(exp.full_args if scale == "full" else ())


def run_experiments(names, scale: str, results: Path) -> dict[str, float]:
    """Runs each experiment in its own process, streaming its progress; returns wall seconds per name."""
    walls = {}
    chosen = [e for e in EXPERIMENTS if e.name in names]
    for i, exp in enumerate(chosen, 1):
        if not (Path(__file__).resolve().parent.parent / "experiments" / f"{exp.name}.py").exists():
            print(f"[{i}/{len(chosen)}] {exp.name}: not implemented yet; reported as missing", flush=True)
            continue
        cmd = command(exp, scale, results)
        print(f"[{i}/{len(chosen)}] {exp.name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, check=False)
        walls[exp.name] = time.perf_counter() - t0
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"[{i}/{len(chosen)}] {exp.name}: {status} in {walls[exp.name]:.0f} s", flush=True)
        if proc.returncode != 0:
            raise SystemExit(f"experiment {exp.name} failed; its output is above. Fix it and rerun "
                             f"`python -m jaxdl.report --only={exp.name}`.")
    return walls


def load_summaries(results: Path) -> dict[str, dict | None]:
    out = {}
    for exp in EXPERIMENTS:
        path = results / exp.name / "summary.json"
        try:
            out[exp.name] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            out[exp.name] = None
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _listed(summary: dict, phrase: str) -> list[tuple[str, str]]:
    """Entries of summary["claims"] whose claim text contains `phrase` -> (ours, verdict)."""
    out = []
    for c in summary.get("claims", []):
        if phrase.lower() not in c.get("claim", "").lower():
            continue
        if "measurement" in c:
            out.append((c["measurement"], c["verdict"]))
        elif "median_difference" in c:  # a paired per-seed comparison (cnn_aux)
            out.append((f"aux weight {c.get('aux_weight', '?')}: median paired difference "
                        f"{c['median_difference']:.3g} {c.get('unit', '')} (95% CI {c['ci95'][0]:.3g} to "
                        f"{c['ci95'][1]:.3g}), {_pct(c['fraction_of_seeds_agreeing'])} of seeds agree",
                        c["verdict"]))
    return out


def _xor(summary: dict) -> list[tuple[str, str]]:
    v = summary.get("verdict", {})
    if "best_decided_acc_max" not in v:
        return []
    return [(f"best training accuracy with no hidden activation over {v['runs']} runs (widths "
             f"{v['widths']}): {_pct(v['best_decided_acc_max'])}", v["verdict"])]


def _mnist_dense(summary: dict) -> list[tuple[str, str]]:
    gain = summary.get("seed_claims", {}).get("tuning_gain_on_test")
    if not gain:
        return []
    lo, hi = gain["ci95"]
    verdict = "supported" if lo > 0 else "contradicted" if hi < 0 else "not resolved"
    return [(f"tuned config vs Keras defaults on test: {gain['mean'] * 100:+.2f} pp (95% CI {lo * 100:+.2f} to "
             f"{hi * 100:+.2f}), {_pct(gain['fraction_positive'])} of seeds better", verdict)]


def _svhn_zoo(summary: dict) -> list[tuple[str, str]]:
    return [(c["ours"], c["verdict"]) for c in summary.get("claims", []) if c.get("id") == "svhn_ranking"]


# How each registered claim is read from its experiment's summary.json: a phrase of the claim text the
# experiment lists under "claims", or a function of the whole summary. An entry with an "id" equal to the
# claim's id always answers it.
ANSWERS = {
    "l2_gradient_vanishes": "L2 gradient approaches zero",
    "ce_gradient_constant": "CE approaches a constant gradient",
    "xor_needs_activation": _xor,
    "aux_converges_faster": "converges faster",
    "aux_improves_accuracy": "accuracy improves",
    "aux_fewer_blips": "fewer loss blips",
    "ce_convex_logistic": "Q1: CE guarantees",
    "mse_not_convex_logistic": "Q1: MSE does not",
    "none_convex_linear_hidden": "Q2: with linear hidden layers",
    "tuning_matters": _mnist_dense,
    "svhn_ranking": _svhn_zoo,
}


def _combine(verdicts: list[str]) -> str:
    heads = {v.split(" (")[0] for v in verdicts}
    if len(heads) == 1:
        return verdicts[0]
    if "supported" in heads and "contradicted" not in heads:
        return "partly supported"
    return "mixed: " + "; ".join(sorted(heads))


def audit(summaries: dict[str, dict | None]) -> list[dict]:
    """One row per registered claim: our number and verdict, or 'missing' with the reason."""
    rows = []
    for claim in CLAIMS:
        summary = summaries.get(claim.experiment)
        if summary is None:
            rows.append({**dataclasses.asdict(claim), "verdict": "missing",
                         "ours": f"missing: no results/{claim.experiment}/summary.json"})
            continue
        answers = [(c["ours"], c["verdict"]) for c in summary.get("claims", []) if c.get("id") == claim.id]
        reader = ANSWERS.get(claim.id)
        if not answers and reader is not None:
            answers = _listed(summary, reader) if isinstance(reader, str) else reader(summary)
        if not answers:
            ours, verdict = f"missing: {claim.experiment} does not answer this claim", "missing"
        else:
            ours = "; ".join(a[0] for a in answers)
            verdict = _combine([a[1] for a in answers])
        rows.append({**dataclasses.asdict(claim), "ours": ours, "verdict": verdict})
    return rows


def _embed_summary(name: str, results: Path) -> str:
    """The experiment's summary.md, with its headings demoted and figure links made relative to results/."""
    md = (results / name / "summary.md").read_text() if (results / name / "summary.md").exists() else ""
    lines = []
    for line in md.splitlines():
        if line.startswith("#"):
            line = "##" + line
        lines.append(line.replace("](", f"]({name}/") if "![" in line else line)
    return "\n".join(lines)


def write_report(results: Path, walls: dict[str, float], scale: str, total_wall_s: float) -> str:
    summaries = load_summaries(results)
    rows = audit(summaries)
    prov = provenance.collect({"scale": scale}, total_wall_s=total_wall_s)
    lines = [
        "# jaxdl results",
        "",
        f"Generated by `make results{' SCALE=full' if scale == 'full' else ''}` "
        f"(`python -m jaxdl.report --scale={scale}`). Commit `{prov['git_commit']}`, {prov['date_utc']}, "
        f"{prov['device']['device_count']} x {prov['device']['device_kind']} ({prov['device']['backend']}), "
        f"jax {prov['versions']['jax']}, flax {prov['versions']['flax']}, optax {prov['versions']['optax']}.",
        "",
        "## Claims audit",
        "",
        "Every claim of the two seed reports that an experiment tests. Verdicts come from the experiments' "
        "own statistics (see each section).",
        "",
        "| seed | claim | ours | verdict | evidence |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        ours = r["ours"].replace("|", "/").replace("\n", " ")
        lines.append(f"| {r['seed']} | {r['text']} | {ours} | **{r['verdict']}** | "
                     f"[{r['experiment']}](#{r['experiment']}) |")
    lines += ["", "## Experiments", ""]
    for exp in EXPERIMENTS:
        summary = summaries[exp.name]
        lines += [f"<a id=\"{exp.name}\"></a>", "", f"### {exp.title}", ""]
        if summary is None:
            lines += [f"**Missing**: no `results/{exp.name}/summary.json`. Run "
                      f"`python -m jaxdl.report --only={exp.name}`.", ""]
            continue
        p = summary.get("provenance", {})
        wall = walls.get(exp.name, p.get("wall_s"))
        wall_text = f"{wall:.0f} s" if isinstance(wall, (int, float)) else "unknown"
        # Experiments can be rerun one at a time (--only): each section names the run it comes from.
        commit = str(p.get("git_commit", ""))
        commit = commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")  # short, but never hide "dirty"
        run_of = ", ".join(x for x in (f"commit `{commit}`" if commit else "",
                                       str(p.get("date_utc", ""))[:10]) if x)
        lines += [
            f"Command: `{p.get('command', 'python -m experiments.' + exp.name)}`, wall time {wall_text}"
            + (f" ({run_of})." if run_of else "."),
            "",
            _embed_summary(exp.name, results),
            "",
        ]
    lines += [
        "## Provenance",
        "",
        f"- git commit: `{prov['git_commit']}`",
        f"- date (UTC): {prov['date_utc']}",
        f"- device: {json.dumps(prov['device'])}",
        f"- versions: {json.dumps(prov['versions'])}",
        f"- total wall time: {total_wall_s:.0f} s" + _run_scope(walls),
        "",
    ]
    text = "\n".join(lines)
    io.write_text(results / "README.md", text)
    io.write_json(results / "claims.json", {"claims": rows, "provenance": prov})
    return text


def _run_scope(walls: dict[str, float]) -> str:
    """What the total wall time covers: every experiment, some (the rest are earlier runs) or none."""
    if not walls:
        return " (report only; the experiments' results are from earlier runs)"
    missing = [e.name for e in EXPERIMENTS if e.name not in walls]
    if missing:
        return (f" (this run: {', '.join(walls)}; {', '.join(missing)} from earlier runs, see their "
                "sections)")
    return " (every experiment)"


def claims_table(rows: list[dict]) -> str:
    """The short claims table of the front page: seed, claim, verdict."""
    lines = ["| seed | claim | verdict |", "|---|---|---|"]
    lines += [f"| {r['seed']} | {r['text']} | **{r['verdict']}** |" for r in rows]
    return "\n".join(lines)


def update_front_page(path: Path, rows: list[dict]) -> bool:
    """Rewrites the claims table between the markers in `path`; False if the file or a marker is absent."""
    try:
        text = path.read_text()
    except OSError:
        return False
    if CLAIMS_BEGIN not in text or CLAIMS_END not in text:
        return False
    head, rest = text.split(CLAIMS_BEGIN, 1)
    _, tail = rest.split(CLAIMS_END, 1)
    io.write_text(path, f"{head}{CLAIMS_BEGIN}\n{claims_table(rows)}\n{CLAIMS_END}{tail}")
    return True


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    known = {e.name for e in EXPERIMENTS}
    unknown = set(FLAGS.only) - known
    if unknown:
        raise app.UsageError(f"--only: unknown experiment(s) {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(sorted(known))}")
    results = io.prepare_out_dir(FLAGS.results)
    t0 = time.perf_counter()
    walls = {} if FLAGS.skip_run else run_experiments(FLAGS.only or known, FLAGS.scale, results)
    write_report(results, walls, FLAGS.scale, time.perf_counter() - t0)
    logging.info("wrote %s", results / "README.md")
    if FLAGS.front_page:
        rows = json.loads((results / "claims.json").read_text())["claims"]
        if update_front_page(Path(FLAGS.front_page), rows):
            logging.info("updated the claims table in %s", FLAGS.front_page)
        else:
            logging.warning("%s has no %s ... %s markers: its claims table was not updated", FLAGS.front_page,
                            CLAIMS_BEGIN, CLAIMS_END)
    print(f"wrote {results / 'README.md'} (total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    app.run(main)
