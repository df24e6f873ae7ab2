"""What the chapter runs record, where they keep it, and the tables the book's back matter shows.

The records are JSON files in benchmarks/results/, written by the scripts, never by hand:
`<scale>.json` by `run_chapters.py` (per chapter, one run per seed, each with the claims and
measures the chapter's `aebook.claim` / `aebook.measure` calls wrote), `throughput.json` by
`train_throughput.py`, `hinton2006.json` by `hinton2006.py`. This module renders them: the Claims
page (`claims_table`), the Reproductions page (`reproductions_tables`), the Execution times page
(`times_table`, `throughput_table`) and the Hinton network's table (`hinton_table`).
A figure `{chapter.key}` in a template is the chapter's measure or claim of that key, averaged
over the recorded seeds.
"""
from __future__ import annotations

import json
import math
import os
import platform
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SCALES = ("quick", "default", "full")


@dataclass(frozen=True)
class Reproduction:
    """A paper's figure next to the book's: kind is 'reproduced' (the same measurement),
    'analogous' (a related one; ``differs`` says how) or 'open' (not reproduced yet)."""
    kind: str
    paper: str
    theirs: str
    what: str
    ours: str  # template over {chapter.key:format} figures
    chapter: str
    differs: str = ""


REPRODUCTIONS: list[Reproduction] = [
    Reproduction("reproduced", "{cite:t}`hinton2006reducing`", "PCA, 30 numbers: **13.87**",
                 "PCA-30, the same metric: squared error per test image", "{06_depth.pca30:.2f}", "06_depth"),
    Reproduction("reproduced", "{cite:t}`baldi1989neural`",
                 "a linear autoencoder's optimum spans the principal subspace: angle **0°**, error **= PCA's**",
                 "largest principal angle to PCA-12; test error linear AE / PCA",
                 "{02_undercomplete.linear-ae-angle:.2f}°; {02_undercomplete.linear-over-pca:.4f}",
                 "02_undercomplete"),
    Reproduction("analogous", "{cite:t}`hinton2006reducing`", "logistic PCA: **8.01**",
                 "a logistic-PCA stand-in", "{06_depth.logistic-pca:.2f}", "06_depth",
                 "a linear encoder with a Bernoulli decoder trained by gradient descent, not the paper's "
                 "logistic PCA fitted by its own algorithm"),
    Reproduction("analogous", "{cite:t}`hinton2006reducing`",
                 "deep autoencoder 784-1000-500-250-30, RBM-pretrained: **3.00**",
                 "the same network from scratch, untimed: squared error per test image",
                 "{06_depth.paper-network:.2f}", "06_depth",
                 "no pretraining; batch norm and AdamW, 50 epochs (chapter 14.3's full scale, which "
                 "alone trains it); the timed runs are in the section on the 2006 record, below"),
    Reproduction("analogous", "{cite:t}`alain2014regularized`",
                 "as σ → 0 the optimal DAE's r(x) − x approaches σ² ∇log p(x) (an asymptotic statement, "
                 "no single figure)",
                 "density-weighted mean cosine of a trained DAE's r(x) − x with the exact ∇log p, σ = 0.2",
                 "{04_denoising.score-cosine:.3f}", "04_denoising",
                 "one finite σ and a trained, not optimal, DAE; the theorem says where the cosine goes, "
                 "not what it is at σ = 0.2"),
    Reproduction("analogous", "{cite:t}`vincent2010stacked`",
                 "denoising ranks above plain autoencoders: MNIST test error **1.28%** (SDAE-3) vs "
                 "**1.40%** (SAE-3), Table 3",
                 "linear-probe accuracy on one-layer codes: masking DAE vs plain AE",
                 "{04_denoising.probe-dae:.3f} vs {04_denoising.probe-ae:.3f}", "04_denoising",
                 "a linear probe on frozen one-layer codes, not a fine-tuned three-layer network"),
    Reproduction("analogous", "{cite:t}`kavukcuoglu2008fast`",
                 "the PSD encoder infers codes **over 100x** faster than iterative inference",
                 "encoder vs FISTA stopped at the encoder's accuracy; vs FISTA run to convergence",
                 "{09_psd.speedup-matched:.0f}x at matched accuracy; {09_psd.speedup-converged:.0f}x vs "
                 "converged FISTA", "09_psd",
                 "FISTA on 10x10 MNIST patches, timed on one thread (the fastest of repeated runs); the "
                 "paper compares with optimisation run to convergence, the second figure; at matched "
                 "accuracy the factor is smaller, below the paper's 100x, and moves with the machine's load"),
    Reproduction("analogous", "{cite:t}`salakhutdinov2009semantic`",
                 "binary codes retrieve nearly as well as real-valued ones, and a Hamming-ball lookup is "
                 "**much faster** than a scan (documents; no single figure comparable to MNIST)",
                 "precision@10 of 32-bit codes vs float codes; radius-2 lookup vs float scan",
                 "{10_applications.hash-precision-bits:.3f} vs {10_applications.hash-precision-float:.3f}; "
                 "{10_applications.ball-speedup:.1f}x faster", "10_applications",
                 "MNIST digits instead of documents, and a one-layer noisy-sigmoid code"),
]
KINDS = {"reproduced": "Reproduced: the same measurement as the paper's",
         "analogous": "Analogous: a related measurement, and what differs",
         "open": "Not reproduced yet: the paper's figure, our best, and what it would take"}


def machine() -> dict[str, str | int | None]:
    """The hardware and software a record was measured on."""
    import torch

    cpu, flags = platform.processor() or platform.machine(), None
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text().splitlines()[:40] if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        cpu = info.get("model name", cpu)
        flags = set(info["flags"].split()) if "flags" in info else None  # x86; ARM lists "Features"
    except OSError:
        pass
    # One model name covers several CPU generations ("AMD EPYC" here was once a Zen 4 with AVX-512
    # BF16, once a Zen 3 without, where bfloat16 matmuls ran 15-20x slower than float32): the
    # instruction set torch's kernels use, and whether the CPU multiplies bfloat16 natively.
    return {"cpu": cpu, "cpu_cores": os.cpu_count(), "cpu_isa": torch.backends.cpu.get_cpu_capability(),
            "cpu_bf16": None if flags is None else bool(flags & {"avx512_bf16", "amx_bf16"}),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__, "python": platform.python_version()}


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def describe(record: dict) -> str:
    """'2026-11-26, Intel Xeon ..., 2 cores, 2 torch threads' or with the GPU."""
    m = record["machine"]
    isa = f" ({m['cpu_isa']}{', bfloat16' * bool(m.get('cpu_bf16'))})" if m.get("cpu_isa") else ""
    where = m["gpu"] or f"{m['cpu']}{isa}, {m['cpu_cores']} cores"
    threads = f", {m['torch_threads']} torch threads" if m.get("torch_threads") and not m["gpu"] else ""
    return f"{record['measured'][:10]}, {where}{threads}, torch {m['torch']}"


def runs(record: dict | None, chapter: str) -> list[dict]:
    """The chapter's runs in a record (one per seed), or [] if it has none."""
    return [] if record is None else record["chapters"].get(chapter, {}).get("runs", [])  # [] in old records


def values(record: dict | None, chapter: str, key: str) -> list[float]:
    """The figure ``key`` of ``chapter`` in every run that recorded it: a measure, else a claim's figure."""
    out = []
    for run in runs(record, chapter):
        if key in run["measures"]:
            out.append(run["measures"][key])
        else:
            out += [c["figure"] for c in run["claims"] if c["key"] == key]
    return out


def spread(xs: list[float], fmt: str = ".3g") -> str:
    """'0.452' for one value, '0.452 ± 0.012' (mean ± standard deviation) for several."""
    if len(xs) == 1:
        return format(xs[0], fmt)
    return f"{format(statistics.mean(xs), fmt)} ± {format(statistics.stdev(xs), fmt)}"


def fill(template: str, record: dict | None) -> str:
    """The template with each {chapter.key:format} replaced by the record's figure (mean ± sd over
    seeds); a figure the record lacks reads 'not run' (no record) or '–' (not measured)."""
    if record is None:
        return "not run"

    def one(match: re.Match) -> str:
        xs = values(record, match.group(1), match.group(2))
        return "–" if not xs else spread(xs, match.group(3) or ".3g")

    return re.sub(r"\{(\w+)\.([\w-]+)(?::([^}]*))?\}", one, template)


def _notes(records: dict[str, dict | None]) -> str:
    lines = []
    for s, r in records.items():
        if r is None:
            lines.append(f"- **{s} scale**: not run yet: `benchmarks/run_chapters.py --scale {s}`")
        else:
            seeds = sorted({run["seed"] for c in r["chapters"].values() for run in c.get("runs", [])})  # none in old records
            lines.append(f"- **{s} scale**: {describe(r)}; seeds {', '.join(map(str, seeds))}")
    return "\n".join(lines)


def reproductions_tables(scales: tuple[str, ...] = ("default", "full")) -> str:
    """Markdown: one table per kind of row (reproduced, analogous, not reproduced yet)."""
    records = {s: load(s) for s in scales}
    parts = []
    for kind, heading in KINDS.items():
        rows = [r for r in REPRODUCTIONS + hinton_reproduction() if r.kind == kind]
        if not rows:
            continue
        extra = " | what differs" if kind == "analogous" else " | what it would take" if kind == "open" else ""
        lines = [f"### {heading}", "",
                 "| paper | the paper's figure | what the book measures | "
                 + " | ".join(f"book, {s} scale" for s in scales) + extra + " |",
                 "|---" * (3 + len(scales) + bool(extra)) + "|"]
        for r in rows:
            cells = [fill(r.ours, records[s]) for s in scales]
            link = f"([chapter {r.chapter[:2]}](chapters/{r.chapter}.ipynb))" if r.chapter else ""
            lines.append(f"| {r.paper} | {r.theirs} | {r.what} {link} | " + " | ".join(cells)
                         + (f" | {r.differs}" if extra else "") + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n\nThe book's figures are the mean ± standard deviation over the recorded " \
        "seeds. Measured:\n\n" + _notes(records) + "\n"


def hinton_goals(record: dict | None) -> list[dict]:
    """The timed test-set runs of the Hinton record, grouped by device and budget: per group the
    recipe, the runs' test errors and seconds, the largest load at their start, and whether every
    seed met the goal (3.00 at 180 s on a CPU; 2.50 at 600 s; 3.00 at any GPU budget)."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for run in (record or {}).get("runs", []):
        if run.get("split") == "test" and run.get("budget_s"):
            groups.setdefault((run.get("device", "cpu").split(":")[0], run["budget_s"]), []).append(run)
    out = []
    for (device, budget), rs in sorted(groups.items()):
        goal = 2.50 if budget >= 600 else 3.00
        errors = [r["test_error"] for r in rs]
        out.append({"device": device, "budget_s": budget, "recipe": rs[0]["recipe"], "goal": goal,
                    "machine": rs[0].get("machine") or (record or {}).get("machine", {}),
                    "bf16": bool(rs[0].get("settings", {}).get("bf16")),
                    "errors": errors, "seconds": [r["train_seconds"] for r in rs],
                    "load": max((r.get("load_start") or [0])[0] for r in rs),
                    "threads": rs[0].get("torch_threads", "–"),
                    "met": len(rs) >= 3 and all(e <= goal for e in errors)})
    return out


def hinton_reproduction() -> list[Reproduction]:
    """The paper network's 3.00: 'reproduced' if and only if every seed of a timed test-set run of
    the Hinton record beats it within its budget."""
    record = load("hinton2006")
    paper = "{cite:t}`hinton2006reducing`"
    theirs = "deep autoencoder 784-1000-500-250-30, RBM-pretrained: **3.00**"
    what = ("the same network from scratch, timed (`benchmarks/hinton2006.py`), test error in the "
            "paper's metric, mean ± sd over seeds")
    goals = hinton_goals(record)
    if not goals:
        return [Reproduction("open", paper, theirs, what, "not run", "",
                             "the timed runs of `benchmarks/hinton_cpu_records.sh`")]
    ours = "; ".join(f"{spread(g['errors'], '.3f')} in {g['budget_s']:.0f} s on the {g['device'].upper()} "
                     f"({len(g['errors'])} seed{'s' * (len(g['errors']) > 1)}, {g['threads']} torch threads)"
                     for g in goals) + f"; {record['machine']['gpu'] or record['machine']['cpu']}"
    if any(g["met"] and g["goal"] == 3.00 for g in goals):
        return [Reproduction("reproduced", paper, theirs, what, ours, "06_depth")]
    return [Reproduction("open", paper, theirs, what, ours, "",
                         "3 seeds at or under 3.00 within the budget; see the table below")]


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def margin(xs: list[float], op: str, threshold: float) -> float | None:
    """How far the mean figure is from the threshold on the passing side, in standard deviations
    over seeds (inf if the seeds agree exactly and pass, also exactly on an inclusive threshold;
    None with fewer than two seeds)."""
    if len(xs) < 2:
        return None
    distance = (statistics.mean(xs) - threshold) * (1 if op.startswith(">") else -1)
    sd = statistics.stdev(xs)
    if sd == 0:  # every seed gave the same figure: on the passing side (or on an inclusive
        # threshold, e.g. a count <= 0) nothing in the seeds moves it
        holds = distance > 0 or (distance == 0 and op in ("<=", ">="))
        return math.inf if holds else -math.inf
    return distance / sd


def claims_rows(records: dict[str, dict | None]) -> list[dict]:
    """One row per (chapter, claim key), in chapter order, with its runs at every scale."""
    rows: dict[tuple[str, str], dict] = {}
    for scale, record in records.items():
        if record is None:
            continue
        for chapter, entry in record["chapters"].items():
            for run in entry.get("runs", []):
                for c in run["claims"]:
                    row = rows.setdefault((chapter, c["key"]), {"chapter": chapter, "title": entry["title"],
                                                               "claim": c, "runs": {}})
                    row["runs"].setdefault(scale, []).append(c)
    return [rows[k] for k in sorted(rows, key=lambda k: k[0])]


def verdict(row: dict) -> str:
    """'fails' if any recorded run fails or its control passes; else 'robust' when the figure clears
    its threshold by at least 3 seed standard deviations at every scale with several seeds, 'close'
    from 1 to 3, 'fragile' under 1; 'unmeasured' with no scale of several seeds."""
    cs = [c for scale_runs in row["runs"].values() for c in scale_runs]
    if any(not c["passed"] or c["control_passed"] for c in cs):
        return "fails"
    ms = [m for scale_runs in row["runs"].values()
          if (m := margin([c["figure"] for c in scale_runs], row["claim"]["op"], row["claim"]["threshold"])) is not None]
    if not ms:
        return "unmeasured"
    return "robust" if min(ms) >= 3 else "close" if min(ms) >= 1 else "fragile"


def claims_table(scales: tuple[str, ...] = SCALES) -> str:
    """Markdown: every claim of every chapter, its figure per scale, threshold, control and margin."""
    records = {s: load(s) for s in scales}
    rows = claims_rows(records)
    if not rows:
        return "No claims recorded yet: `benchmarks/run_chapters.py --scale default --seeds 0 1 2`.\n"
    lines = ["| chapter | claim | check | " + " | ".join(scales) + " | control (default) | margin | verdict |",
             "|---" * (6 + len(scales)) + "|"]
    for row in rows:
        c = row["claim"]
        figures = [spread([x["figure"] for x in row["runs"][s]]) + ("" if all(x["passed"] for x in row["runs"][s])
                                                                    else " **fails**")
                   if s in row["runs"] else "–" for s in scales]
        ref = row["runs"].get("default") or next(iter(row["runs"].values()))
        if c["control"] is None:
            control = f"none: {c['no_control']}"
        else:
            control = spread([x["control"] for x in ref]) + f", {c['control_label']}" + (
                " **passes**" if any(x["control_passed"] for x in ref) else "")
        ms = {s: margin([x["figure"] for x in row["runs"][s]], c["op"], c["threshold"]) for s in row["runs"]}
        shown = ", ".join(f"{s} {'∞' if m == math.inf else f'{m:.1f}'}" for s, m in ms.items() if m is not None)
        section = row["title"].split(" ", 1)[0]
        lines.append(f"| [{section}](chapters/{row['chapter']}.ipynb) | {c['statement']} | "
                     f"{c['op']} {_fmt(c['threshold'])} | " + " | ".join(figures)
                     + f" | {control} | {shown or '–'} | {verdict(row)} |")
    counts = {v: sum(verdict(r) == v for r in rows) for v in ("robust", "close", "fragile", "fails", "unmeasured")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return (f"{len(rows)} claims: {summary}.\n\n" + "\n".join(lines) + "\n\nMeasured:\n\n" + _notes(records) + "\n")


def times_table(scales: tuple[str, ...] = SCALES) -> str:
    """Markdown: each chapter's seconds per scale (the median over the recorded seeds)."""
    records = {s: load(s) for s in scales}
    present = [s for s in scales if records[s]]
    chapters = sorted({c for s in present for c in records[s]["chapters"]})
    lines = ["| chapter | " + " | ".join(f"{s} (s)" for s in present) + " |", "|---" * (1 + len(present)) + "|"]
    totals = dict.fromkeys(present, 0.0)
    for c in chapters:
        cells = []
        for s in present:
            rs = runs(records[s], c)
            if not rs:
                cells.append("–")
            elif not all(r["ok"] for r in rs):
                cells.append("failed")
            else:
                seconds = statistics.median(r["seconds"] for r in rs)
                totals[s] += seconds
                cells.append(f"{seconds:.0f}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{totals[s]:.0f}**" for s in present) + " |")
    notes = [f"- **{s}**: " + (describe(records[s]) if records[s] else "not run yet") for s in scales]
    return "\n".join(lines) + "\n\nMeasured (median over the recorded seeds):\n\n" + "\n".join(notes) + "\n"


def hinton_table() -> str:
    """The untimed runs of benchmarks/hinton2006.py (a fixed number of epochs) on the test set."""
    record = load("hinton2006")
    if record is None or record.get("quick"):
        return ("No full run is recorded yet: run `benchmarks/hinton2006.py`; it writes "
                "`benchmarks/results/hinton2006.json`, which this page reads.\n")
    lines = ["| recipe | what it changes | epochs | training (s) | torch threads | test error (paper: 3.00) |",
             "|---|---|---|---|---|---|"]
    for run in record["runs"]:
        if run.get("budget_s") or run.get("split", "test") != "test":
            continue
        threads = run.get("torch_threads") or run.get("machine", {}).get("torch_threads", "–")
        lines.append(f"| {run['recipe']} | {run['changes']} | {run['epochs']:g} | {run['train_seconds']:.0f} | "
                     f"{threads} | {run['test_error']:.2f} |")
    return ("\n".join(lines) + f"\n\nOn {record['machine']['cpu']}, {record['training_images']:,} training "
            "images; test error in the paper's metric on the 10,000 test images.\n")


def throughput_table() -> str:
    """Seconds per epoch and samples/s of each training loop, from benchmarks/train_throughput.py."""
    record = load("throughput")
    if record is None:
        return "Not measured yet: `benchmarks/train_throughput.py`.\n"
    names = {"dataloader": "DataLoader, batch 128, a copy per batch", "fit": "`aebook.fit` at its defaults (batch 128)",
             "bare_128": "bare device-resident loop, batch 128", "bare_1024": "bare device-resident loop, batch 1024"}
    lines = ["| device | loop | s per epoch | samples/s |", "|---|---|---|---|"]
    for device, loops in record["results"].items():
        lines += [f"| {device} | {names[k]} | {v['s_per_epoch']:.2f} | {v['samples_per_s']:,} |" for k, v in loops.items()]
    goals = [f"- {device}: {goal}: **{'met' if ok else 'missed'}**" for device, gs in record["goals"].items()
             for goal, ok in gs.items()]
    return ("\n".join(lines) + f"\n\n{record['setting']['samples']:,} samples per epoch, model "
            f"{record['setting']['model']}; measured {describe(record)}. Goals:\n\n" + "\n".join(goals) + "\n")
