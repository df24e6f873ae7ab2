"""The Hinton & Salakhutdinov (2006) MNIST autoencoder, 784-1000-500-250-30, trained from scratch
with several recipes; records each run's error in the paper's metric and its training time.

    .venv/bin/python benchmarks/hinton2006.py --speed --recipes bn-bf16-512 plain     # s/epoch, short bursts
    .venv/bin/python benchmarks/hinton2006.py --split val --plan 180 --recipes ...    # compare ideas
    .venv/bin/python benchmarks/hinton2006.py --split test --budget 180 --recipes fast-180 --seeds 0 1 2
    .venv/bin/python benchmarks/hinton2006.py --quick                                 # a smoke run

The metric (the paper's, checked in chapter 06: PCA-30 gives its 13.87): pixels scaled to [0, 1],
squared error summed over the 784 pixels, averaged over the images. The paper reports 3.00 on the
10,000 test images (after RBM pretraining and fine-tuning).

Two splits. ``--split val`` trains on the first 50,000 training images and measures the error on
the last 10,000: every comparison of recipes is made there (``record["ideas"]``). ``--split test``
trains on all 60,000 and measures the test set once, at the end (``record["runs"]``); the test set
chooses nothing. Two ways to give a run its length: ``--budget S`` trains for S seconds of training
steps, the schedule following the clock (what the goals measure); ``--plan S`` or ``--epochs E``
fixes the number of images instead (E x 60,000; ``--plan`` takes E = S / the recipe's recorded
seconds per epoch), so a comparison of recipes does not depend on how busy the machine is.
What the seconds count: see ``hinton_recipe`` (training steps with the data on the device,
``torch.compile`` warm-up included, evaluations excluded and reported apart).
Each run records its settings, seed, split, seconds, epochs, the load average at its start and end,
the torch threads and the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))
import aebook  # noqa: E402
import hinton_recipe as hr  # noqa: E402
from records import RESULTS, machine  # noqa: E402

FIRST = {"norm": "batch", "lr": 3e-3, "weight_decay": 0.05}  # issue 15's first recipe: 2.89 after 577 s
FAST = {**FIRST, "bf16": True, "batch_size": 512, "lr": 2e-2, "schedule": "warmup-cosine", "warmup": 0.05}
FAST32 = {**FAST, "bf16": False}
# name -> (what it changes, settings over hinton_recipe.DEFAULTS); data, so a recipe is a line
RECIPES: dict[str, tuple[str, dict]] = {
    "plain": ("nothing: ReLU, He init, Adam 1e-3, batch 256, cosine, Bernoulli loss", {}),
    "masking-0.1": ("denoising: 10% of input pixels masked to 0 in training (DLB §14.2.2)", {"masking": 0.1}),
    "masking-0.2": ("denoising: 20% of input pixels masked", {"masking": 0.2}),
    "weight-decay": ("AdamW, decoupled weight decay 0.05", {"weight_decay": 0.05}),
    "masking-0.1+wd": ("masking 10% and AdamW weight decay", {"masking": 0.1, "weight_decay": 0.05}),
    "sigmoid-units": ("sigmoid hidden units, as in the paper, lr 3e-3", {"activation": "sigmoid", "lr": 3e-3}),
    "batch-1024": ("batch 1024, learning rate scaled to 4e-3", {"batch_size": 1024, "lr": 4e-3}),
    # issue 15: the first recipe, then one idea at a time on top of it
    "bn": ("batch norm after every hidden layer, AdamW 3e-3, decay 0.05", FIRST),
    "ln": ("layer norm instead of batch norm", {**FIRST, "norm": "layer"}),
    "bn-bf16": ("batch norm, bf16 autocast matmuls", {**FIRST, "bf16": True}),
    "bn-bf16-512": ("batch norm, bf16, batch 512", {**FIRST, "bf16": True, "batch_size": 512}),
    "bn-bf16-512-lr6": ("batch norm, bf16, batch 512, lr 6e-3, 5% warm-up",
                        {**FIRST, "bf16": True, "batch_size": 512, "lr": 6e-3, "schedule": "warmup-cosine",
                         "warmup": 0.05}),
    "bn-bf16-512-lr10": ("batch norm, bf16, batch 512, lr 1e-2, 5% warm-up",
                         {**FIRST, "bf16": True, "batch_size": 512, "lr": 1e-2, "schedule": "warmup-cosine",
                          "warmup": 0.05}),
    "bn-bf16-512-lr20": ("batch norm, bf16, batch 512, lr 2e-2, 5% warm-up",
                         {**FIRST, "bf16": True, "batch_size": 512, "lr": 2e-2, "schedule": "warmup-cosine",
                          "warmup": 0.05}),
    "bn-bf16-1024": ("batch norm, bf16, batch 1024, lr 6e-3, 5% warm-up",
                     {**FIRST, "bf16": True, "batch_size": 1024, "lr": 6e-3, "schedule": "warmup-cosine",
                      "warmup": 0.05}),
    "bn-bf16-grow": ("batch norm, bf16, batch 256 growing to 1024 in the second half",
                     {**FIRST, "bf16": True, "batch_growth": 4}),
    "bn-bf16-512-silu": ("batch norm, bf16, batch 512, SiLU units",
                         {**FIRST, "bf16": True, "batch_size": 512, "activation": "silu"}),
    "bn-bf16-512-ema": ("batch norm, bf16, batch 512, EMA of the weights (0.999)",
                        {**FIRST, "bf16": True, "batch_size": 512, "ema": 0.999}),
    "bn-bf16-512-mask": ("batch norm, bf16, batch 512, input masking 10%",
                         {**FIRST, "bf16": True, "batch_size": 512, "masking": 0.1}),
    "bn-bf16-512-mse": ("batch norm, bf16, batch 512, trained on the squared error itself",
                        {**FIRST, "bf16": True, "batch_size": 512, "loss": "mse"}),
    "bn-bf16-512-wd0.1": ("batch norm, bf16, batch 512, weight decay 0.1",
                          {**FIRST, "bf16": True, "batch_size": 512, "weight_decay": 0.1}),
    "bn-512": ("batch norm, batch 512 (fp32)", {**FIRST, "batch_size": 512}),
    "ln-bf16-512": ("layer norm instead of batch norm, bf16, batch 512",
                    {**FIRST, "norm": "layer", "bf16": True, "batch_size": 512}),
    "plain-bf16-512": ("no normalisation, bf16, batch 512, AdamW 3e-3, decay 0.05",
                       {**FIRST, "norm": "none", "bf16": True, "batch_size": 512}),
    # the chosen recipes (see the record's ideas, on the validation split)
    "fast": ("the 180-s choice: batch norm, bf16, batch 512, AdamW lr 2e-2 (5% warm-up, cosine), decay 0.05",
             FAST),
    "fast-1024": ("the 180-s choice at batch 1024 (for a GPU)",
                  {**FAST, "batch_size": 1024}),
    "long": ("the 600-s choice: the 180-s one, for longer",
             FAST),
    # at 600 s the 180-s choice overfits the 50,000 images (its validation error rises): regularised
    "fast-mask": ("the 180-s choice, with input masking 10% (the denoising regulariser)",
                  {**FAST, "masking": 0.1}),
    "fast-wd0.2": ("the 180-s choice, with weight decay 0.2",
                   {**FAST, "weight_decay": 0.2}),
    # one idea at a time on top of the 180-s choice, compared with it at the same seconds (--plan 180)
    "fast-silu": ("the 180-s choice, SiLU units", {**FAST, "activation": "silu"}),
    "fast-ln": ("the 180-s choice, layer norm instead of batch norm", {**FAST, "norm": "layer"}),
    "fast-ema": ("the 180-s choice, EMA of the weights (0.999)", {**FAST, "ema": 0.999}),
    "fast-grow": ("the 180-s choice, batch 512 growing to 1024 in the second half", {**FAST, "batch_growth": 2}),
    "fast-compile": ("the 180-s choice, torch.compile (compile time counted)", {**FAST, "compile": True}),
    # On a CPU without bfloat16 instructions (bf16 emulated: 15-20x slower), the same ideas in float32,
    # compared at a fixed number of images (--epochs): the 180-s choice and one idea at a time on top
    "fast-fp32": ("the 180-s choice in float32", FAST32),
    "fast-fp32-silu": ("the 180-s choice in float32, SiLU units", {**FAST32, "activation": "silu"}),
    "fast-fp32-ln": ("the 180-s choice in float32, layer norm instead of batch norm", {**FAST32, "norm": "layer"}),
    "fast-fp32-ema": ("the 180-s choice in float32, EMA of the weights (0.999)", {**FAST32, "ema": 0.999}),
    "fast-fp32-grow": ("the 180-s choice in float32, batch 512 growing to 1024 in the second half",
                       {**FAST32, "batch_growth": 2}),
    "fast-fp32-mask": ("the 180-s choice in float32, input masking 10%", {**FAST32, "masking": 0.1}),
    "fast-fp32-wd0.2": ("the 180-s choice in float32, weight decay 0.2", {**FAST32, "weight_decay": 0.2}),
    "long-fp32": ("the 600-s choice in float32 (FP32_LONGER on the validation split): the 180-s choice in "
                  "float32 with weight decay 0.2", {**FAST32, "weight_decay": 0.2}),
    "fast-fp32-silu-wd0.2": ("the 180-s choice in float32, SiLU units and weight decay 0.2",
                             {**FAST32, "activation": "silu", "weight_decay": 0.2}),
    "bn-bf16-512-compile": ("batch norm, bf16, batch 512, torch.compile (compile time counted)",
                            {**FIRST, "bf16": True, "batch_size": 512, "compile": True}),
}

# Which validation runs chose each final recipe: the candidates, each trained on the validation
# split for the images its recorded speed does in the final run's seconds on this CPU (--plan 180 or
# --plan 600), so a busy machine during the comparison does not move it; the record's "chosen" gives
# their validation errors. Runs of another plan, or none, are history: they choose nothing.
CANDIDATES = ["bn", "plain-bf16-512", "bn-bf16-512", "bn-bf16-512-lr10", "bn-bf16-512-lr20", "bn-bf16-1024",
              "fast-1024"]  # at 600 s: the best two at 180 s and LONGER (benchmarks/hinton_cpu_records.sh)
ON_TOP = ["fast-silu", "fast-ln", "fast-ema", "fast-grow"]  # then one idea at a time on the best of those
LONGER = ["fast-mask", "fast-wd0.2"]
CHOSEN_FROM = {"fast": (180, CANDIDATES + ON_TOP), "long": (600, CANDIDATES + ON_TOP + LONGER)}
# The float32 route, for a CPU without bfloat16 instructions (benchmarks/hinton_fp32_records.sh, into
# results/hinton2006-fp32.json): the 180-s choice in float32 and one idea at a time on top of it, for
# the images the 180-s choice trains in 180 s on the record's CPU (--epochs 48.8); then the best two
# of those and the two together, for the images this CPU trains in 600 s (--plan 600).
FP32_IDEAS = ["fast-fp32", "fast-fp32-silu", "fast-fp32-ln", "fast-fp32-ema", "fast-fp32-grow", "fast-fp32-mask",
              "fast-fp32-wd0.2"]
FP32_LONGER = ["fast-fp32-silu", "fast-fp32-wd0.2", "fast-fp32-silu-wd0.2"]
CHOSEN_FROM["long-fp32"] = (600, FP32_LONGER)


def chosen(record: dict) -> dict:
    """For each final recipe, the validation errors of its candidates (CPU runs of its plan) and the winner."""
    out = {}
    for name, (plan, candidates) in CHOSEN_FROM.items():
        errors = {r["recipe"]: r["val_error"] for r in record.get("ideas", [])
                  if r["recipe"] in candidates and r.get("plan_s") == plan and r.get("device", "cpu") == "cpu"}
        if errors:
            best = min(errors, key=errors.get)
            out[name] = {"split": "val", "plan_s": plan, "validation_errors": errors, "best": best,
                         "same_settings_as_best": RECIPES[name][1] == RECIPES[best][1]}
    return out


def splits(split: str, quick: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, evaluation) images: val = first 50,000 / last 10,000 training images; test = 60,000 / test set."""
    data = aebook.load_mnist()
    x, x_test = data.x_train, data.x_test
    if split == "val":
        x, x_test = x[:50_000], x[50_000:]
    if quick:
        x, x_test = x[:2_000], x_test[:1_000]
    return x, x_test


def speed(name: str, x: torch.Tensor, seconds: float) -> dict:
    """Seconds per 60,000 images of the recipe's training, from a short burst after a 2-s warm-up."""
    s = hr.settings(**RECIPES[name][1])
    load = os.getloadavg()[0]
    _, info = hr.train_budget(s, x, seconds + (90.0 if s["compile"] else 2.0))
    per_epoch = info["steady_s_per_epoch"]  # after the first 3 steps
    print(f"{name:22s} {per_epoch:6.2f} s per 60,000 images (load {load:.2f})", flush=True)
    return {"s_per_epoch": round(per_epoch, 3), "burst_seconds": info["seconds"],
            "load": [round(load, 2), round(os.getloadavg()[0], 2)], "threads": torch.get_num_threads(),
            "warmup_seconds": info["warmup_seconds"]}


def run(name: str, x: torch.Tensor, x_eval: torch.Tensor, *, split: str, seed: int, budget: float | None,
        epochs: float | None, evals: int, plan: float | None = None) -> dict:
    s = hr.settings(**RECIPES[name][1])
    load0 = os.getloadavg()
    # E epochs = E x 60,000 images on either split: the same steps, so the same time, as on all 60,000
    max_images = None if epochs is None else int(epochs * 60_000)
    if epochs is not None and len(x) < 50_000:  # --quick: an epoch is one pass over the small data
        max_images = int(epochs * len(x))
    model, info = hr.train_budget(s, x, budget if budget is not None else float("inf"), seed=seed,
                                  evaluate=lambda m: hr.squared_error(m, x_eval),
                                  evals=evals, max_images=max_images)
    error = info["curve"][-1][1]
    key = "test_error" if split == "test" else "val_error"
    # the same metric on 10,000 of the images it trained on: how much of the error is overfitting
    train_error = round(hr.squared_error(model, x[:10_000]), 4)
    print(f"{name:22s} seed {seed} {split:4s} {info['seconds']:7.1f} s {info['epochs']:6.1f} epochs  "
          f"{key} {error:.3f} (train {train_error:.3f})  load {load0[0]:.2f}->{os.getloadavg()[0]:.2f}", flush=True)
    return {"recipe": name, "changes": RECIPES[name][0], "settings": s, "split": split, "seed": seed,
            "budget_s": budget, "plan_s": plan, "planned_epochs": epochs, "epochs": info["epochs"], "images": info["images"], "steps": info["steps"],
            "train_seconds": info["seconds"], "eval_seconds": info["eval_seconds"], key: error,
            "train_error": train_error, "train_error_of": "the first 10,000 training images, at the end",
            "curve": info["curve"], "curve_of": f"[training seconds, {split} error, epochs (images / 60,000)]",
            "load_start": [round(v, 2) for v in load0], "load_end": [round(v, 2) for v in os.getloadavg()],
            "torch_threads": torch.get_num_threads(), "device": str(x.device), "training_images": len(x),
            "machine": {**machine(), "torch_threads": torch.get_num_threads()},
            "measured": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def runs_length(name: str, old: dict, device: torch.device, lengths: dict) -> dict:
    """run()'s budget, epochs and evals: --plan turns seconds into epochs by the recorded speed."""
    budget, epochs = lengths["budget"], lengths["epochs"]
    if lengths["plan"] is not None:
        epochs = round(lengths["plan"] / old["speed"][f"{name}@{device.type}"]["s_per_epoch"], 1)
    return {"budget": budget, "epochs": None if budget else epochs, "evals": lengths["evals"], "plan": lengths["plan"]}


def merge(old: dict, new: dict) -> dict:
    """The old record with the new runs, ideas and speeds added; a run replaces an old one of the same
    recipe, split, seed, budget and epochs. Old runs keep the machine they were measured on."""
    def key(r):
        length = r.get("planned_epochs", r["epochs"]) if r.get("budget_s") is None else None
        return (r["recipe"], r.get("split", "test"), r.get("seed", 0), r.get("budget_s"), length,
                r.get("device", old.get("device")), r.get("training_images", old.get("training_images")))
    out = {**old, **{k: v for k, v in new.items() if k not in ("runs", "ideas", "speed")}}
    for field in ("runs", "ideas"):
        olds = [{"machine": old["machine"], **r} for r in old.get(field, [])]
        keys = {key(r) for r in new.get(field, [])}
        out[field] = [r for r in olds if key(r) not in keys] + new.get(field, [])
    out["speed"] = {**old.get("speed", {}), **new.get("speed", {})}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["plain"], choices=list(RECIPES))
    parser.add_argument("--split", choices=["val", "test"], default="test")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--budget", type=float, help="seconds of training, the schedule on the clock")
    length.add_argument("--epochs", type=float, help="60,000-image epochs, the schedule on images seen")
    length.add_argument("--plan", type=float, help="seconds, turned into epochs by the recipe's recorded speed")
    length.add_argument("--speed", action="store_true", help="measure each recipe's seconds per epoch (bursts)")
    parser.add_argument("--choose", action="store_true",
                        help="run each recipe on the validation split, then the best on the test split")
    parser.add_argument("--burst", type=float, default=12.0, help="seconds of a --speed burst")
    parser.add_argument("--evals", type=int, default=10, help="evaluations along a run, evenly spaced")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default=None, help="default: cuda if present, else cpu")
    parser.add_argument("--quick", action="store_true", help="2,000 training images, 1 epoch: checks the script runs")
    parser.add_argument("--out", type=Path, default=RESULTS / "hinton2006.json")
    parser.add_argument("--append", action="store_true", help="add to the record in --out (see merge)")
    parser.add_argument("--merge", nargs="+", type=Path, default=[], help="records whose runs to add to --out")
    args = parser.parse_args()
    if args.merge:
        record = json.loads(args.out.read_text())
        for extra in args.merge:
            record = merge(record, {k: v for k, v in json.loads(extra.read_text()).items()
                                    if k in ("runs", "ideas", "speed")})
        record["chosen"] = chosen(record)
        args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        print(f"merged {[str(e) for e in args.merge]} into {args.out}")
        return 0
    if not (args.quick or args.speed or args.budget or args.epochs or args.plan):  # --quick: 1 epoch
        parser.error("give the run a length: --budget, --epochs or --plan (or --speed, --quick)")
    torch.set_num_threads(args.threads)
    device = aebook.pick_device(args.device)
    here = {**machine(), "torch_threads": torch.get_num_threads()}
    emulated = [n for n in args.recipes if hr.settings(**RECIPES[n][1])["bf16"]]
    if device.type == "cpu" and here["cpu_bf16"] is False and emulated:
        print(f"warning: this CPU ({here['cpu_isa']}) has no bfloat16 instructions; {', '.join(emulated)} "
              "will train many times slower than in float32 (measured on an AVX2 EPYC: 15-20x)", file=sys.stderr)
    x, x_eval = (t.to(device) for t in splits(args.split, args.quick))
    old = json.loads(args.out.read_text()) if args.append and args.out.exists() else {}
    start = time.perf_counter()
    new: dict = {"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "machine": here, "device": str(device),
                 "quick": args.quick, "training_images": 60_000 if not args.quick else len(x), "paper": 3.00}
    if args.speed:
        new["speed"] = {f"{name}@{device.type}": speed(name, x, 3.0 if args.quick else args.burst)
                        for name in args.recipes}
    else:
        lengths = dict(budget=args.budget, epochs=args.epochs if args.epochs or args.budget else 1.0,
                       plan=args.plan, evals=args.evals)
        if args.choose:  # every recipe on the validation split, then the best one on the test split
            x_val, x_v = (t.to(device) for t in splits("val", args.quick))
            new["ideas"] = [run(name, x_val, x_v, split="val", seed=args.seeds[0], **runs_length(name, old, device, lengths))
                            for name in args.recipes]
            scores = {r["recipe"]: r["val_error"] for r in new["ideas"]}
            best = min(scores, key=scores.get)
            print(f"chosen on the validation split: {best} ({scores})", flush=True)
            new["runs"] = [{**run(best, x, x_eval, split="test", seed=seed, **runs_length(best, old, device, lengths)),
                            "chosen_by": {"split": "val", "validation_errors": scores}} for seed in args.seeds]
        else:
            new["runs" if args.split == "test" else "ideas"] = [
                run(name, x, x_eval, split=args.split, seed=seed, **runs_length(name, old, device, lengths))
                for name in args.recipes for seed in args.seeds]
    new["wall_seconds"] = round(time.perf_counter() - start, 1)
    record = merge(old, new) if old else new
    record["chosen"] = chosen(record)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
