"""The Hinton & Salakhutdinov (2006) MNIST autoencoder, 784-1000-500-250-30, trained with several
recipes; records each one's test error in the paper's metric and its training time.

    .venv/bin/python benchmarks/hinton2006.py                   # every recipe, on a GPU if present
    .venv/bin/python benchmarks/hinton2006.py --recipes plain masking-0.1 --epochs 60
    .venv/bin/python benchmarks/hinton2006.py --quick           # a smoke run on a CPU: tiny data, 1 epoch

The metric (the paper's, checked in chapter 06: PCA-30 gives its 13.87): pixels scaled to [0, 1],
squared error summed over the 784 pixels, averaged over the 10,000 test images. The paper reports
3.00 for this network (after RBM pretraining and fine-tuning). All recipes here train from He
initialisation with ReLU units (sigmoid in `sigmoid-units`), a Bernoulli decoder (logits, binary
cross-entropy) and Adam with a cosine schedule on full MNIST; they differ in the one idea each names.
Writes benchmarks/results/hinton2006.json (or --out) with the machine, and per recipe: settings,
seconds of training, the final test error, and the test error every ``--eval-every`` epochs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))
import aebook  # noqa: E402
from aebook import corruption, depth  # noqa: E402
from records import RESULTS, machine  # noqa: E402

HIDDEN, CODE = [1000, 500, 250], 30

# name -> (what it changes, settings); every recipe starts from BASE
BASE = {"batch_size": 256, "lr": 1e-3, "weight_decay": 0.0, "masking": 0.0, "activation": "relu"}
RECIPES = {
    "plain": ("nothing: the modern baseline", {}),
    "masking-0.1": ("denoising: 10% of input pixels masked to 0 in training (DLB §14.2.2)", {"masking": 0.1}),
    "masking-0.2": ("denoising: 20% of input pixels masked", {"masking": 0.2}),
    "weight-decay": ("AdamW, decoupled weight decay 0.05 (times the learning rate per step)", {"weight_decay": 0.05}),
    "masking-0.1+wd": ("masking 10% and AdamW weight decay", {"masking": 0.1, "weight_decay": 0.05}),
    "sigmoid-units": ("sigmoid hidden units, as in the paper, lr 3e-3", {"activation": "sigmoid", "lr": 3e-3}),
    "batch-1024": ("batch 1024, learning rate scaled to 4e-3", {"batch_size": 1024, "lr": 4e-3}),
}


def build(activation: str) -> nn.Module:
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}[activation]
    return depth.he_init_(aebook.mlp_autoencoder(784, HIDDEN, CODE, activation=act, out_activation=None))


@torch.no_grad()
def test_error(model: nn.Module, x_test: torch.Tensor) -> float:
    """The paper's metric: squared error of sigmoid(logits), summed over pixels, mean over images."""
    return aebook.per_example_squared_error(depth.sigmoid_output(model), x_test).mean().item()


def train(name: str, settings: dict, x_train, x_test, epochs: int, eval_every: int, device) -> dict:
    s = {**BASE, **settings}
    aebook.set_seed(0)
    model = build(s["activation"]).to(device)
    loss = (aebook.bernoulli_nll if s["masking"] == 0
            else corruption.denoising_loss(partial(corruption.masking, p=s["masking"]), recon=aebook.bce_logits))
    optimizer = (torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"],
                                   fused=device.type in ("cpu", "cuda")) if s["weight_decay"] else None)
    curve = []

    def record(epoch: int, m: nn.Module) -> None:
        if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
            curve.append((epoch + 1, round(test_error(m, x_test), 4)))

    history = aebook.fit(model, x_train, loss=loss, epochs=epochs, batch_size=s["batch_size"], lr=s["lr"],
                         optimizer=optimizer, schedule="cosine", progress=False, callback=record, desc=name)
    seconds = sum(history.seconds)  # training epochs only (fit's clock stops before the callback)
    final = curve[-1][1]
    print(f"{name:16s} {epochs:4d} epochs {seconds:7.1f} s   test error {final:.3f}", flush=True)
    return {"recipe": name, "changes": RECIPES[name][0], "settings": s, "epochs": epochs,
            "train_seconds": round(seconds, 1), "test_error": final, "curve": curve}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2,000 training images, 1 epoch: checks the script runs")
    parser.add_argument("--out", type=Path, default=RESULTS / "hinton2006.json")
    parser.add_argument("--append", action="store_true",
                        help="add the runs to the record in --out (same kind of machine), replacing runs of the "
                             "same recipe and epochs")
    args = parser.parse_args()
    device = aebook.pick_device()
    data = aebook.load_mnist(n_train=2_000 if args.quick else None)
    x_train, x_test = data.x_train.to(device), data.x_test.to(device)
    epochs = 1 if args.quick else args.epochs
    start = time.perf_counter()
    runs = [train(name, RECIPES[name][1], x_train, x_test, epochs, args.eval_every, device) for name in args.recipes]
    record = {"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {**machine(), "torch_threads": torch.get_num_threads()},
              "device": str(device), "quick": args.quick, "training_images": len(x_train), "paper": 3.00,
              "runs": runs, "wall_seconds": round(time.perf_counter() - start, 1)}
    if args.append and args.out.exists():
        old = json.loads(args.out.read_text())
        if (old["machine"]["gpu"], old["quick"]) != (record["machine"]["gpu"], record["quick"]):
            raise SystemExit(f"{args.out} was measured on {old['machine']['gpu'] or 'a CPU'} "
                             f"(quick={old['quick']}): not appending runs from another setting")
        new = {(r["recipe"], r["epochs"]) for r in runs}
        record["runs"] = [r for r in old["runs"] if (r["recipe"], r["epochs"]) not in new] + runs
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
