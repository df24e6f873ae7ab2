"""What the chapter runs record, where they keep it, and the tables the book's back matter shows.

`FIGURES` names, per chapter, the expressions that `run_chapters.py` evaluates in the chapter's
namespace after its last cell: the chapter's own variables, the numbers its claim checks assert.
"?name" stands for a variable that only some scales define (None where it is not).
`REPRODUCTIONS` puts each paper's figure next to a template of ours over those figures. The
records themselves are JSON files in benchmarks/results/, written by the scripts, never by hand.
"""
from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

FIGURES: dict[str, dict[str, str]] = {
    "02_undercomplete": {"max_angle_deg": "angles.max()", "linear_over_pca": "err_linear / err_pca"},
    "04_denoising": {"score_cosine": "cos_small", "probe_dae": "accuracy['masking, p = 0.25']",
                     "probe_ae": "accuracy['plain AE']"},
    "06_depth": {"pca30": "err_pca", "logistic_pca": "err_logistic", "deep_ae_best": "err_deep",
                 "paper_network": "?err_paper"},  # ?: only defined at the full scale
    "09_psd": {"speedup_converged": "speedup", "speedup_matched": "speedup_matched"},
    "10_applications": {"hash_precision_bits": "b1", "hash_precision_float": "f1", "ball_speedup": "speedup"},
}

# (paper, its figure, what we measure, our template over "chapter.key" figures, chapter)
REPRODUCTIONS: list[tuple[str, str, str, str, str]] = [
    ("{cite:t}`hinton2006reducing`", "PCA, 30 numbers: **13.87**",
     "PCA-30, the same metric: squared error per test image", "{06_depth.pca30:.2f}", "06_depth"),
    ("{cite:t}`hinton2006reducing`", "logistic PCA: **8.01**",
     "a logistic-PCA stand-in (linear encoder, Bernoulli decoder)", "{06_depth.logistic_pca:.2f}", "06_depth"),
    ("{cite:t}`hinton2006reducing`", "deep autoencoder 784-1000-500-250-30: **3.00**",
     "the best deep autoencoder of the chapter's budget; at full scale also the paper's network",
     "{06_depth.deep_ae_best:.2f}; paper's network {06_depth.paper_network:.2f}", "06_depth"),
    ("{cite:t}`baldi1989neural`",
     "a linear autoencoder's optimum spans the principal subspace: angle **0°**, error **= PCA's**",
     "largest principal angle to PCA-12; test error linear AE / PCA",
     "{02_undercomplete.max_angle_deg:.2f}°; {02_undercomplete.linear_over_pca:.4f}", "02_undercomplete"),
    ("{cite:t}`alain2014regularized`",
     "r(x) − x → σ² ∇log p(x) as σ → 0: cosine **→ 1**",
     "density-weighted mean cosine of r(x) − x with ∇log p, σ = 0.2", "{04_denoising.score_cosine:.3f}",
     "04_denoising"),
    ("{cite:t}`vincent2010stacked`",
     "denoising ranks above plain autoencoders: MNIST test error **1.28%** (SDAE-3) vs **1.40%** (SAE-3), Table 3",
     "linear-probe accuracy on one-layer codes: masking DAE vs plain AE",
     "{04_denoising.probe_dae:.3f} vs {04_denoising.probe_ae:.3f}", "04_denoising"),
    ("{cite:t}`kavukcuoglu2008fast`",
     "the PSD encoder infers codes **over 100x** faster than iterative inference",
     "encoder vs FISTA run to convergence; vs FISTA stopped at the encoder's accuracy",
     "{09_psd.speedup_converged:.0f}x; {09_psd.speedup_matched:.0f}x", "09_psd"),
    ("{cite:t}`salakhutdinov2009semantic`",
     "binary codes retrieve nearly as well as real-valued ones, and a Hamming-ball lookup is **much faster** "
     "than a scan (documents; no single figure comparable to MNIST)",
     "precision@10 of 32-bit codes vs float codes; radius-2 lookup vs float scan",
     "{10_applications.hash_precision_bits:.3f} vs {10_applications.hash_precision_float:.3f}; "
     "{10_applications.ball_speedup:.1f}x faster", "10_applications"),
]


def machine() -> dict[str, str | int | None]:
    """The hardware and software a record was measured on."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpu_cores": os.cpu_count(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__, "python": platform.python_version()}


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def describe(record: dict) -> str:
    """'2026-11-26, Intel Xeon ..., 2 cores, 2 torch threads' or with the GPU."""
    m = record["machine"]
    where = m["gpu"] or f"{m['cpu']}, {m['cpu_cores']} cores"
    threads = f", {m['torch_threads']} torch threads" if m.get("torch_threads") and not m["gpu"] else ""
    return f"{record['measured'][:10]}, {where}{threads}, torch {m['torch']}"


def fill(template: str, record: dict | None) -> str:
    """The template with each {chapter.key:format} replaced by the record's figure; a figure the
    record lacks reads 'not run' (no record) or '–' (not measured at this scale)."""
    if record is None:
        return "not run"

    def one(match: re.Match) -> str:
        chapter, key, fmt = match.group(1), match.group(2), match.group(3) or ""
        value = record["chapters"].get(chapter, {}).get("figures", {}).get(key)
        return "–" if value is None else format(value, fmt)

    return re.sub(r"\{(\w+)\.(\w+)(?::([^}]*))?\}", one, template)


def reproductions_table(scales: tuple[str, ...] = ("default", "full")) -> str:
    records = {s: load(s) for s in scales}
    lines = ["| paper | the paper's figure | what the book measures | " + " | ".join(f"book, {s} scale" for s in scales) + " |",
             "|---" * (3 + len(scales)) + "|"]
    for paper, theirs, what, template, chapter in REPRODUCTIONS:
        cells = [fill(template, records[s]) for s in scales]
        lines.append(f"| {paper} | {theirs} | {what} ([chapter {chapter[:2]}](chapters/{chapter}.ipynb)) | " + " | ".join(cells) + " |")
    notes = [f"- **{s} scale**: " + (describe(r) if r else f"not run yet: `benchmarks/run_chapters.py --scale {s}`")
             for s, r in records.items()]
    return "\n".join(lines) + "\n\nMeasured:\n\n" + "\n".join(notes) + "\n"


def times_table(scales: tuple[str, ...] = ("quick", "default", "full")) -> str:
    records = {s: load(s) for s in scales}
    present = [s for s in scales if records[s]]
    chapters = sorted({c for s in present for c in records[s]["chapters"]})
    lines = ["| chapter | " + " | ".join(f"{s} (s)" for s in present) + " |", "|---" * (1 + len(present)) + "|"]
    for c in chapters:
        cells = []
        for s in present:
            r = records[s]["chapters"].get(c)
            cells.append("–" if r is None else "failed" if not r["ok"] else f"{r['seconds']:.0f}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    totals = [sum(r["seconds"] or 0 for r in records[s]["chapters"].values()) for s in present]
    lines.append("| **total** | " + " | ".join(f"**{t:.0f}**" for t in totals) + " |")
    notes = [f"- **{s}**: " + (describe(records[s]) if records[s] else "not run yet") for s in scales]
    return "\n".join(lines) + "\n\nMeasured:\n\n" + "\n".join(notes) + "\n"


def hinton_table() -> str:
    """The recipes of benchmarks/hinton2006.py with their test error and time, from its record."""
    record = load("hinton2006")
    if record is None or record.get("quick"):
        return ("No full run is recorded yet: it needs a GPU. On a GPU machine, run "
                "`benchmarks/hinton2006.py` (about one minute per recipe on an H100 is the goal); "
                "it writes `benchmarks/results/hinton2006.json`, which this page reads.\n")
    lines = ["| recipe | what it changes | epochs | training (s) | test error (paper: 3.00) |", "|---|---|---|---|---|"]
    for run in record["runs"]:
        lines.append(f"| {run['recipe']} | {run['changes']} | {run['epochs']} | {run['train_seconds']:.0f} | "
                     f"{run['test_error']:.2f} |")
    note = ("" if record["machine"]["gpu"] else
            "\n\nThis record is a short run on a CPU, a first look at what each idea buys at a small budget, "
            "not the paper-scale test: the goal, 3.00 or less within about a minute of training on an H100, "
            "needs `benchmarks/hinton2006.py` on a GPU.")
    return ("\n".join(lines) + f"\n\nMeasured {describe(record)}, on {record['training_images']:,} training "
            "images; test error in the paper's metric on the 10,000 test images." + note + "\n")


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
