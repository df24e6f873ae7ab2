"""The Hinton & Salakhutdinov (2006) network, 784-1000-500-250-30, trained from scratch within a
budget of seconds: the model, the recipes' settings and the time-budgeted training loop.

DLB §14.3 cites Hinton & Salakhutdinov (2006, key ``hinton2006reducing``): RBM pretraining and long
fine-tuning reached 3.00 squared error per MNIST test image. Here every recipe trains the same
architecture from a random initialisation, and differs in one or more of the settings of
``DEFAULTS`` (normalisation, activation, optimiser, schedule, batch size, precision, ...).

What the clock counts: ``train_budget`` runs training steps, on data already on the device, until
``budget_s`` seconds of them have passed; it counts the optimizer steps, the batch slicing, the
noise, the weight averaging and any ``torch.compile`` warm-up (the first steps compile), and stops
the clock during the evaluations it makes along the way (reported apart as ``eval_seconds``). The
learning rate (and the batch size, with ``batch_growth``) follows the fraction of the budget spent,
so a run ends on its schedule's last step whatever the speed of the machine.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import aebook
from aebook import corruption, depth

HIDDEN, CODE = [1000, 500, 250], 30

DEFAULTS: dict = {
    "batch_size": 256,      # the batch at the start
    "batch_growth": 1,      # the batch is multiplied by this, in two doublings-or-so, by the end
    "lr": 1e-3,             # peak learning rate
    "weight_decay": 0.0,    # AdamW's decoupled decay (times lr per step)
    "betas": (0.9, 0.999),
    "schedule": "cosine",   # cosine: lr * (1 + cos(pi p)) / 2; warmup-cosine: linear warm-up over `warmup`
    "warmup": 0.0,          # fraction of the budget
    "norm": "none",         # none | batch | layer: after every hidden linear layer (not the code, not the output)
    "activation": "relu",   # relu | silu | gelu | sigmoid
    "loss": "bce",          # bce: Bernoulli (logits); mse: squared error of sigmoid(logits), the metric itself
    "masking": 0.0,         # input masking noise (DLB §14.2.2), the target stays clean
    "ema": 0.0,             # decay of an exponential moving average of the weights; 0: none
    "bf16": False,          # autocast matmuls to bfloat16
    "compile": False,       # torch.compile the model (compile time counted)
}
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU, "sigmoid": nn.Sigmoid}


def settings(**changes) -> dict:
    unknown = set(changes) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    return {**DEFAULTS, **changes}


def _mlp(sizes: list[int], act: type[nn.Module], norm: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:  # a hidden layer: the last linear (code or output) stays linear
            if norm == "batch":
                layers.append(nn.BatchNorm1d(b))
            elif norm == "layer":
                layers.append(nn.LayerNorm(b))
            layers.append(act())
    return nn.Sequential(*layers)


def build(s: dict) -> aebook.Autoencoder:
    """784-1000-500-250-30-250-500-1000-784, a linear code and logit outputs, He initialisation."""
    if s["norm"] not in ("none", "batch", "layer"):
        raise ValueError(f"norm must be none, batch or layer, got {s['norm']!r}")
    act = ACTIVATIONS[s["activation"]]
    model = aebook.Autoencoder(_mlp([784, *HIDDEN, CODE], act, s["norm"]),
                               _mlp([CODE, *reversed(HIDDEN), 784], act, s["norm"]))
    return depth.he_init_(model)


@torch.no_grad()
def squared_error(model: nn.Module, x: Tensor, batch_size: int = 5000) -> float:
    """The paper's metric: ||sigmoid(logits) - x||^2 summed over pixels, mean over images (fp32, eval mode)."""
    return aebook.per_example_squared_error(depth.sigmoid_output(model), x, batch_size).mean().item()


def _loss(s: dict) -> Callable[[Tensor, Tensor], Tensor]:
    """Summed over pixels, mean over the batch, in fp32 whatever the matmuls' precision."""
    if s["loss"] == "bce":
        return lambda logits, x: F.binary_cross_entropy_with_logits(logits.float(), x, reduction="none").sum(1).mean()
    if s["loss"] == "mse":
        return lambda logits, x: ((torch.sigmoid(logits.float()) - x) ** 2).sum(1).mean()
    raise ValueError(f"loss must be bce or mse, got {s['loss']!r}")


def lr_factor(s: dict, p: float) -> float:
    """The learning rate's multiplier when a fraction p in [0, 1] of the budget is spent."""
    w = s["warmup"] if s["schedule"] == "warmup-cosine" else 0.0
    if s["schedule"] not in ("cosine", "warmup-cosine", "constant"):
        raise ValueError(f"unknown schedule {s['schedule']!r}")
    if s["schedule"] == "constant":
        return 1.0
    if p < w:
        return p / w
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (p - w) / (1 - w))))


def batch_at(s: dict, p: float) -> int:
    """The batch size at fraction p: the start batch, times 2 at each of the growth's doublings,
    spread evenly over the second half of the run (batch_growth 4: x2 at p = 0.5, x4 at p = 0.75)."""
    doublings = int(round(math.log2(s["batch_growth"])))
    if doublings <= 0 or p < 0.5:
        return s["batch_size"]
    return s["batch_size"] * 2 ** min(doublings, 1 + int((p - 0.5) * 2 * doublings))


def train_budget(s: dict, x_train: Tensor, budget_s: float, *, seed: int = 0,
                 evaluate: Callable[[nn.Module], float] | None = None, evals: int = 1,
                 max_images: int | None = None) -> tuple[nn.Module, dict]:
    """Train a fresh ``build(s)`` on ``x_train`` (N, 784), already on its device, for ``budget_s``
    seconds of training, or for ``max_images`` images (then the schedule follows the images seen,
    not the clock). ``evaluate(model) -> error`` runs ``evals`` times, evenly over the run (the last
    at its end), the clock stopped. Returns the model (the weight average if ``ema``) and a dict:
    seconds, eval_seconds, epochs, steps, images, curve [[seconds, error, images / 60,000], ...]."""
    device = x_train.device
    aebook.set_seed(seed)
    model = build(s).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"],
                            betas=tuple(s["betas"]), fused=device.type in ("cpu", "cuda"))
    loss_fn, n = _loss(s), len(x_train)
    params = [p for p in model.parameters()]
    ema = [p.detach().clone() for p in params] if s["ema"] else None
    step_model = torch.compile(model) if s["compile"] else model
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if s["bf16"] else nullcontext())
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    check_every = 8 if device.type == "cuda" else 1  # a clock check syncs a GPU: not every step
    total_images = max_images  # if given, p counts images seen
    warm = None  # (seconds, images) after the first 3 steps: compilation and one-time set-up
    curve, spent, eval_s, steps, images = [], 0.0, 0.0, 0, 0
    next_eval = 1 / evals if evaluate is not None and evals > 1 else math.inf  # a fraction of the run

    def progress() -> float:
        return images / total_images if total_images else spent / budget_s

    def measure(final: nn.Module | None = None) -> None:
        """Evaluate ``final``, or the model (its weight average) as it stands, the clock stopped."""
        nonlocal eval_s
        t0 = time.perf_counter()
        m = _averaged(model, params, ema, x_train) if final is None else final
        curve.append([round(spent, 2), round(evaluate(m), 4), round(images / 60_000, 3)])
        eval_s += time.perf_counter() - t0

    model.train()
    done = False
    start = time.perf_counter()
    while not done:
        perm = torch.randperm(n, device=device)
        bs = batch_at(s, progress())
        for i in range(0, n - bs + 1, bs):  # full batches only: one shape for torch.compile
            idx = perm[i:i + bs]
            xb = x_train[idx]
            x_in = corruption.masking(xb, s["masking"]) if s["masking"] else xb
            with autocast:
                logits = step_model(x_in)
            loss = loss_fn(logits, xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for group in opt.param_groups:
                group["lr"] = s["lr"] * lr_factor(s, progress())
            opt.step()
            if ema is not None:
                torch._foreach_lerp_(ema, [p.detach() for p in params], 1 - s["ema"])
            steps, images = steps + 1, images + bs
            if steps == 3:
                sync()
                warm = (time.perf_counter() - start, images)
            if steps % check_every == 0 or total_images:
                sync()
                spent = time.perf_counter() - start
                if progress() >= 1:
                    done = True
                    break
                if progress() >= next_eval:
                    measure()
                    model.train()
                    next_eval += 1 / evals
                    start = time.perf_counter() - spent  # the clock stood still while evaluating
            if batch_at(s, progress()) != bs:
                break  # a new epoch at the grown batch size
    final = _averaged(model, params, ema, x_train)  # with EMA, its batch-norm statistics: counted
    sync()
    spent = time.perf_counter() - start
    if evaluate is not None:
        measure(final)
    final.eval()
    steady = (spent - warm[0]) / (images - warm[1]) if warm and images > warm[1] else spent / max(images, 1)
    return final, {"seconds": round(spent, 2), "warmup_seconds": round(warm[0], 2) if warm else None,
                   "steady_s_per_epoch": round(steady * 60_000, 3), "eval_seconds": round(eval_s, 2), "epochs": round(images / n, 2),
                   "steps": steps, "images": images, "curve": curve}


def _averaged(model: nn.Module, params: list[Tensor], ema: list[Tensor] | None, x: Tensor,
              bn_images: int = 10_000, batch_size: int = 500) -> nn.Module:
    """The model itself, or (with EMA) a copy holding the averaged weights. Batch norm's running
    statistics belong to the weights that computed them, not to their average: the copy's are
    recomputed on ``bn_images`` training images (as for stochastic weight averaging). Without that,
    the average of weights whose scale drifts under batch norm met statistics of other activations:
    a validation error of 16.2 where the same run's last weights had under 3."""
    if ema is None:
        return model
    import copy
    avg = copy.deepcopy(model)
    with torch.no_grad():
        for p, e in zip(avg.parameters(), ema):
            p.copy_(e)
        norms = [m for m in avg.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if norms:
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # a cumulative average over the batches below
            avg.train()
            for i in range(0, min(bn_images, len(x)), batch_size):
                avg(x[i:i + batch_size])
    avg.eval()
    return avg
