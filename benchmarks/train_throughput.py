"""Training throughput: aebook.fit against the common tutorial loop, on the same model and data.

    .venv/bin/python benchmarks/train_throughput.py [--quick] [--devices cpu cuda] [--out FILE.json]

The model is the MLP autoencoder 784-512-128-32-128-512-784 with sigmoid outputs and the summed
squared error; the data are N random MNIST-shaped rows (throughput does not depend on the pixels).
Each loop trains a fresh copy of the model from the same initial weights:

- ``dataloader``: the common loop of tutorials: ``DataLoader(TensorDataset(x), batch_size=128,
  shuffle=True)`` on the host, a host-to-device copy per batch, Adam, and ``loss.item()`` per batch
  for the running loss;
- ``fit``: ``aebook.fit`` at its defaults (batch 128; data moved to the device once, batches sliced
  from a random permutation on the device, fused Adam, the loss summed on the device);
- ``bare_128`` and ``bare_1024``: the shortest device-resident loop (permutation slices, the same
  fused Adam, no bookkeeping) at batch 128 and at batch 1024: what ``fit`` would cost with no
  overhead, and what a larger batch buys.

Each loop runs one warm-up epoch, then ``--epochs`` timed epochs (CUDA synchronised before the clock
stops); the figure is the median seconds per epoch. Writes JSON with the machine, the figures and the
ratios the book's goals are stated in; prints a table.

``--batches 128 256 512 1024`` also times ``fit`` and the bare loop at each of those batch sizes,
with the mean training loss after the timed epochs (the same epochs, so a larger batch takes fewer
steps): the measurement that ``fit``'s default batch size on CUDA is to be chosen from
(``record["batch_sweep"]``). ``--append`` keeps the other devices' results already in ``--out``.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import aebook  # noqa: E402  (the repository's package, also when it is not installed)
from records import machine  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _adam(model: torch.nn.Module, device: torch.device, fused: bool) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused and device.type in ("cpu", "cuda"))


def dataloader_epoch(model, x_host, device, state):
    opt = state.setdefault("opt", _adam(model, device, fused=False))
    running = 0.0
    for (xb,) in DataLoader(TensorDataset(x_host), batch_size=128, shuffle=True):
        xb = xb.to(device)
        loss = aebook.squared_error(model, xb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        running += loss.item()
    return running


def bare_epoch(batch_size: int) -> Callable:
    def epoch(model, x_host, device, state):
        x = state.setdefault("x", x_host.to(device))
        opt = state.setdefault("opt", _adam(model, device, fused=True))
        for idx in torch.randperm(len(x), device=device).split(batch_size):
            loss = aebook.squared_error(model, x[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return epoch


def timed(epoch: Callable) -> Callable:
    """Seconds of each of ``n_epochs`` epochs of a hand-written loop, the device synchronised."""
    def run(model, x_host, device, n_epochs):
        state, times = {}, []
        for _ in range(n_epochs):
            _sync(device)
            t0 = time.perf_counter()
            epoch(model, x_host, device, state)
            _sync(device)
            times.append(time.perf_counter() - t0)
        return times
    return run


def fit_run(model, x_host, device, n_epochs, batch_size: int = 128):
    """One call of fit; its History holds each epoch's seconds (ending in a sync of the loss)."""
    return aebook.fit(model, x_host, epochs=n_epochs, batch_size=batch_size, device=device, progress=False).seconds


def batch_sweep(device: torch.device, n: int, epochs: int, batches: list[int]) -> dict[str, dict[str, float]]:
    """fit and the bare loop at each batch size on MNIST's first n training images: median seconds
    per epoch, and fit's mean training loss (squared error summed over pixels, mean over images)
    in its last epoch, after 1 + ``epochs`` epochs."""
    torch.manual_seed(0)
    x_host = aebook.load_mnist().x_train[:n]
    model0 = aebook.mlp_autoencoder(784, [512, 128], 32)
    out = {}
    for b in batches:
        model = copy.deepcopy(model0).to(device)
        hist = aebook.fit(model, x_host, epochs=1 + epochs, batch_size=b, device=device, progress=False)
        bare = timed(bare_epoch(b))(copy.deepcopy(model0).to(device), x_host, device, 1 + epochs)[1:]
        s_fit, s_bare = statistics.median(hist.seconds[1:]), statistics.median(bare)
        out[str(b)] = {"fit_s_per_epoch": round(s_fit, 4), "bare_s_per_epoch": round(s_bare, 4),
                       "fit_over_bare": round(s_fit / s_bare, 3), "fit_train_loss": round(hist.train[-1], 3)}
        print(f"{device.type:5s} batch {b:5d}: fit {s_fit:.3f} s/epoch, bare {s_bare:.3f}, "
              f"train loss {hist.train[-1]:.2f}", flush=True)
    return out


LOOPS = {"dataloader": timed(dataloader_epoch), "fit": fit_run, "bare_128": timed(bare_epoch(128)),
         "bare_1024": timed(bare_epoch(1024))}


def measure(device: torch.device, n: int, epochs: int) -> dict[str, dict[str, float]]:
    torch.manual_seed(0)
    x_host = torch.rand(n, 784)
    model0 = aebook.mlp_autoencoder(784, [512, 128], 32)
    results = {}
    for name, run in LOOPS.items():
        model = copy.deepcopy(model0).to(device)
        times = run(model, x_host, device, 1 + epochs)[1:]  # the first epoch warms up
        s = statistics.median(times)
        results[name] = {"s_per_epoch": round(s, 4), "samples_per_s": round(n / s)}
        print(f"{device.type:5s} {name:12s} {s:8.3f} s/epoch {n / s:10.0f} samples/s", flush=True)
    return results


def goals(device: str, ratios: dict[str, float]) -> dict[str, bool]:
    """The book's goals: on a GPU, fit at least 5x faster per epoch than the DataLoader loop and
    within 1.2x of the bare loop; on a CPU, no slower than the DataLoader loop."""
    if device.startswith("cuda"):
        return {"fit >= 5x faster than the DataLoader loop": ratios["dataloader_over_fit"] >= 5,
                "fit within 1.2x of the bare loop": ratios["fit_over_bare_128"] <= 1.2}
    return {"fit no slower than the DataLoader loop": ratios["dataloader_over_fit"] >= 1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 samples, 6 timed epochs (CI; a median of 2 ranged 0.93x-1.38x)")
    parser.add_argument("--n", type=int, default=60_000, help="samples per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per loop")
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu, and cuda if present")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "throughput.json")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal (GOALS) is missed")
    parser.add_argument("--batches", nargs="*", type=int, default=[], help="batch sizes for the sweep")
    parser.add_argument("--append", action="store_true", help="keep other devices' results in --out")
    args = parser.parse_args()
    n, epochs = (10_000, 6) if args.quick else (args.n, args.epochs)
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    record = {"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {**machine(), "torch_threads": torch.get_num_threads()},
              "setting": {"samples": n, "timed_epochs": epochs, "model": "784-512-128-32-128-512-784"},
              "results": {}, "ratios": {}}
    for name in devices:
        r = record["results"][name] = measure(torch.device(name), n, epochs)
        record["ratios"][name] = {
            "dataloader_over_fit": round(r["dataloader"]["s_per_epoch"] / r["fit"]["s_per_epoch"], 3),
            "fit_over_bare_128": round(r["fit"]["s_per_epoch"] / r["bare_128"]["s_per_epoch"], 3),
            "dataloader_over_bare_1024": round(r["dataloader"]["s_per_epoch"] / r["bare_1024"]["s_per_epoch"], 3)}
        print(f"{name}: fit is {record['ratios'][name]['dataloader_over_fit']:.2f}x faster than the DataLoader "
              f"loop and takes {record['ratios'][name]['fit_over_bare_128']:.2f}x the bare loop's time")
        if args.batches:
            sweep = record.setdefault("batch_sweep", {})[name] = batch_sweep(torch.device(name), n, epochs, args.batches)
            for b, v in sweep.items():
                v["dataloader_over_fit"] = round(r["dataloader"]["s_per_epoch"] / v["fit_s_per_epoch"], 3)
    record["goals"] = {name: goals(name, record["ratios"][name]) for name in devices}
    record["machines"] = {name: record["machine"] for name in devices}
    if args.append and args.out.exists():  # the other devices' figures stay, with their machine
        old = json.loads(args.out.read_text())
        for key in ("results", "ratios", "goals", "batch_sweep", "machines"):
            kept = {d: v for d, v in old.get(key, {}).items() if d not in devices}
            if key == "machines":
                kept = {d: old.get("machines", {}).get(d, old["machine"]) for d in old["results"] if d not in devices}
            if kept or key in record:
                record[key] = {**kept, **record.get(key, {})}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    missed = [f"{d}: {g}" for d, gs in record["goals"].items() for g, ok in gs.items() if not ok]
    for m in missed:
        print(f"goal missed: {m}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
