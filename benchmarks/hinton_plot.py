"""The Hinton & Salakhutdinov network's record drawn for the book: what each idea bought (a table in
Markdown) and error against seconds of training (one plot), from benchmarks/results/hinton2006.json.

Pure functions of the record (``records.load("hinton2006")``): nothing is read from elsewhere.
The ideas were compared on the validation split (the last 10,000 training images) at a number of
images fixed in advance; their seconds are those images at the recipe's seconds per epoch measured
in short bursts (``record["speed"]``), so a busy machine during a comparison does not move them.
The final runs are timed for real and measured on the test set.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

PAPER = 3.00  # Hinton & Salakhutdinov (2006), 784-1000-500-250-30 after pretraining and fine-tuning


def _speed(record: dict, run: dict) -> float | None:
    s = record.get("speed", {}).get(f"{run['recipe']}@{run.get('device', 'cpu').split(':')[0]}")
    return s["s_per_epoch"] if s else None


def comparison(record: dict, device: str = "cpu", every: bool = False) -> list[dict]:
    """The validation runs on ``device`` that compared the recipes: those of a plan (``--plan S``:
    each recipe for the images its speed does in S seconds) where any exist; else, or with
    ``every``, every one."""
    runs = [r for r in record.get("ideas", []) if r.get("device", "cpu").split(":")[0] == device]
    planned = [r for r in runs if r.get("plan_s")]
    return runs if every else planned or runs


def ideas(record: dict, device: str = "cpu", every: bool = False) -> list[dict]:
    """One row per comparison run on ``device``: recipe, changes, epochs, s/epoch, seconds, val error, plan."""
    rows = []
    for run in comparison(record, device, every):
        per_epoch = _speed(record, run)
        epochs = run["images"] / 60_000 if "images" in run else run["epochs"]
        rows.append({"recipe": run["recipe"], "changes": run["changes"], "epochs": epochs,
                     "s_per_epoch": per_epoch, "seconds": epochs * per_epoch if per_epoch else None,
                     "val_error": run["val_error"], "budget_s": run.get("budget_s"), "seed": run.get("seed", 0),
                     "plan_s": run.get("plan_s"), "train_error": run.get("train_error")})
    return rows


def ideas_table(record: dict, device: str = "cpu", baseline: str | None = "bn", every: bool = False) -> str:
    """Markdown: what each idea bought on the validation split, against ``baseline`` run for the same
    planned seconds (or, for runs without a plan, the same epochs), best first within each length.
    Seconds = epochs x the recorded seconds per epoch ("–" where the recipe's speed is not recorded).
    Where the runs recorded it, a column gives the error on 10,000 of the training images: the gap to
    the validation error is what the network overfits."""
    rows = ideas(record, device, every)
    if not rows:
        return "No comparison of ideas is recorded yet.\n"
    train = any(r["train_error"] is not None for r in rows)

    def length(r):
        return ("plan", r["plan_s"]) if r["plan_s"] else ("epochs", round(r["epochs"], 1))
    base = {length(r): r["val_error"] for r in rows if r["recipe"] == baseline}
    lines = ["| recipe | what it changes | s per epoch | epochs | ≈ seconds | validation error | vs " + f"{baseline} |"
             + " training error |" * train, "|---|---|---|---|---|---|---|" + "---|" * train]
    for r in sorted(rows, key=lambda r: (length(r), r["val_error"])):
        ref = base.get(length(r))
        delta = "" if ref is None or r["recipe"] == baseline else f"{r['val_error'] - ref:+.2f}"
        per = f"{r['s_per_epoch']:.2f}" if r["s_per_epoch"] else "–"
        secs = f"{r['seconds']:.0f}" if r["seconds"] else "–"
        seen = "–" if r["train_error"] is None else f"{r['train_error']:.2f}"
        lines.append(f"| {r['recipe']} | {r['changes']} | {per} | {r['epochs']:.1f} | {secs} | "
                     f"{r['val_error']:.2f} | {delta} |" + f" {seen} |" * train)
    return "\n".join(lines) + "\n"


CPU_GOALS = {"fast": (180, 3.00), "long": (600, 2.50)}  # the final recipe of each, its seconds and goal


def goals(record: dict, *others: dict | None) -> str:
    """Markdown: each CPU goal met, missed or not yet run on the test set; for one not run, what the
    validation split said of training that long (the chosen recipe's error there, against the
    180-s choice's in 180 s). ``others``: more records of the same network (the float32 one of a CPU
    without bfloat16; None where not recorded): a goal is met if the timed runs of any record meet it."""
    import records  # benchmarks/records.py: the timed runs grouped by budget

    groups: dict[float, list[dict]] = {}
    for rec in (record, *others):
        for g in records.hinton_goals(rec):
            if g["device"] == "cpu":
                groups.setdefault(g["budget_s"], []).append(g)
    # per budget: a group that met the goal, else the lowest mean error
    timed = {b: min(gs, key=lambda g: (not g["met"], sum(g["errors"]) / len(g["errors"]))) for b, gs in groups.items()}
    chosen, lines = record.get("chosen", {}), []
    for name, (budget, goal) in CPU_GOALS.items():
        head = f"- **{goal:.2f} or less within {budget} s**: "
        if (g := timed.get(budget)) is not None:
            verdict = "met" if g["met"] else "not met"
            isa = f" {g['machine']['cpu_isa']}" if g["machine"].get("cpu_isa") else ""
            how = f"{'bfloat16' if g['bf16'] else 'float32'}, {g['machine'].get('cpu', 'CPU')}{isa}"
            lines.append(head + f"{verdict} by {g['recipe']} ({how}), test error per seed "
                         f"{', '.join(f'{e:.3f}' for e in g['errors'])}.")
            continue
        line = head + "no timed test-set run yet."
        here, short = chosen.get(name), chosen.get("fast")
        if here and short and name != "fast":
            best, shorter = here["validation_errors"][here["best"]], short["validation_errors"][short["best"]]
            change = "did not lower" if best >= shorter else "lowered"
            line += (f" On the validation split, the best recipe trained for {budget} s ({here['best']}, "
                     f"{best:.2f}) {change} the error of the 180-s choice in 180 s ({shorter:.2f}).")
        if within := [g for b, g in timed.items() if b < budget]:  # a shorter run is within the budget too
            mean = min(sum(g["errors"]) / len(g["errors"]) for g in within)
            where = f"{mean - goal:.2f} above the goal" if mean > goal else "under it, in fewer seconds"
            line += f" The best test error within {budget} s so far is {mean:.3f} (mean over seeds), {where}."
        lines.append(line)
    return "\n".join(lines) + "\n"


def runs_table(record: dict) -> str:
    """Markdown: the timed runs on the test set, one row per seed, with the machine's load."""
    lines = ["| recipe | device | budget (s) | seed | training (s) | epochs | test error | load (1 min) start → end |",
             "|---|---|---|---|---|---|---|---|"]
    for run in record.get("runs", []):
        if run.get("budget_s") is None:
            continue
        load = f"{run['load_start'][0]:.2f} → {run['load_end'][0]:.2f}" if "load_start" in run else "–"
        lines.append(f"| {run['recipe']} | {run.get('device', 'cpu')} | {run['budget_s']:.0f} | {run['seed']} | "
                     f"{run['train_seconds']:.1f} | {run['epochs']:.1f} | {run['test_error']:.3f} | {load} |")
    return "\n".join(lines) + "\n"


def plot_error_vs_seconds(record: dict, ax: Axes | None = None, device: str = "cpu",
                          recipes: list[str] | None = None, x: str = "seconds") -> Axes:
    """Validation error of each idea (lines) and the test error of the timed runs (stars) against
    seconds of training; the paper's 3.00 dotted. An idea's seconds are its epochs times its
    recorded seconds per epoch (the measured seconds where none is recorded). ``x="epochs"``
    draws against epochs (60,000 images) instead, timed runs at the epochs they did."""
    if x not in ("seconds", "epochs"):
        raise ValueError(f"x must be 'seconds' or 'epochs', got {x!r}")
    ax = plt.subplots(figsize=(6.5, 4))[1] if ax is None else ax
    runs = [r for r in comparison(record, device) if recipes is None or r["recipe"] in recipes]
    colour = {name: f"C{i % 10}" for i, name in enumerate(dict.fromkeys(r["recipe"] for r in runs))}
    plans = sorted({r.get("plan_s") or 0 for r in runs})
    for run in runs:
        per_epoch = _speed(record, run)
        curve = run["curve"]
        if x == "epochs" and len(curve[0]) < 3:  # a curve without epochs: its end only
            curve = [[curve[-1][0], curve[-1][1], run["images"] / 60_000]]
        if x == "epochs":
            xs = [c[2] for c in curve]
        elif len(curve[0]) < 3 or per_epoch is None:
            xs = [c[0] for c in curve]
        else:
            xs = [c[2] * per_epoch for c in curve]
        longer = len(plans) > 1 and (run.get("plan_s") or 0) != plans[0]  # the longer plan: dashed
        ax.plot(xs, [c[1] for c in curve], "o" if len(curve) == 1 else ("--" if longer else "-"),
                color=colour[run["recipe"]], lw=1,
                label=f"{run['recipe']} (val" + (f", {run['plan_s']:.0f} s)" if run.get("plan_s") else ")"))
    timed = [r for r in record.get("runs", []) if r.get("device", "cpu").split(":")[0] == device and "split" in r]
    for budget in sorted({r["budget_s"] or 0 for r in timed}):
        runs = [r for r in timed if (r["budget_s"] or 0) == budget]
        pts = [(r["train_seconds"] if x == "seconds" else r["images"] / 60_000, r["test_error"]) for r in runs]
        what = f"{budget:.0f}-s budget" if budget else f"{runs[0]['planned_epochs']:g} epochs"
        ax.plot(*zip(*pts), "k*" if budget else "kP", ms=9, label=f"{runs[0]['recipe']}, test, {what}, {len(pts)} seed(s)")
    ax.axhline(PAPER, color="k", ls=":", lw=1)
    ax.text(ax.get_xlim()[1], PAPER, " paper 3.00", va="center", fontsize="small")
    ax.set_xlabel("seconds of training" if x == "seconds" else "epochs (60,000 images)")
    ax.set_ylabel("squared error per image")
    ax.set_ylim(top=min(ax.get_ylim()[1], 8))
    ax.legend(frameon=False, fontsize="x-small", ncol=2)
    return ax
