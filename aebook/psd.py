"""Sparse coding by ISTA and FISTA, and predictive sparse decomposition (PSD).

DLB §14.8 (Kavukcuoglu et al. 2008, key ``kavukcuoglu2008fast``); ISTA and FISTA after Beck &
Teboulle 2009 (key ``beck2009fast``). Scaling convention, here and in the chapter: for one
example x (n,), a dictionary D (n, k) with unit-norm columns and a code h (k,),

    F(h) = 1/2 ||x - D h||^2 + lam ||h||_1 + gamma/2 ||h - c||^2,

with c = f(x) the encoder's code in PSD, and gamma = 0 for plain sparse coding (the Lasso). The
smooth part's gradient D^T (D h - x) + gamma (h - c) is Lipschitz with L = lambda_max(D^T D) + gamma.
DLB's ||x - D h||^2 + lam' |h|_1 + gamma ||h - f(x)||^2 is 2 F(h) with lam' = 2 lam.
Reduction of every objective and loss: **sum over features, mean over the batch**, unless a
function says it returns one value per example. Batches are rows: x (N, n), h (N, k), g(h) = h D^T.
Tensors must be floating and on one device; results stay there. The sparse-coding step (ISTA,
FISTA, the objective) is ``aebook.sparse_coding``, re-exported here so chapter 14.8 reads ``psd.*``.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .devices import all_finite, check_floating, check_same_device
from .models import Autoencoder
from .sparse_coding import (CodingResult, _check, _number, kkt_violation, lipschitz, normalize_columns,  # noqa: F401
                            objective, soft_threshold, sparse_code)


def random_patches(images: Tensor, size: int, n: int, *, min_std: float = 0.2, seed: int = 0,
                   shape: tuple[int, int] = (28, 28)) -> Tensor:
    """n random size x size patches (n, size*size) of (N, H*W) images, keeping those with pixel
    standard deviation > ``min_std`` (patches with ink); fewer than n if too few qualify. The
    positions are drawn on the CPU from ``seed`` (the same patches on every device); the patches
    live on the images' device."""
    check_floating(images, "images")
    if images.ndim != 2 or len(images) == 0 or images.shape[1] != shape[0] * shape[1]:
        raise ValueError(f"images must be a non-empty (N, {shape[0] * shape[1]}), got {tuple(images.shape)}")
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (size, n)) or not 1 <= size <= min(shape) or n < 1:
        raise ValueError(f"need ints 1 <= size <= {min(shape)} and n >= 1, got size={size!r}, n={n!r}")
    _number("min_std", min_std)
    img, m = images.reshape(-1, *shape), 4 * n  # draw 4n
    gen = torch.Generator().manual_seed(seed)  # cpu: the same positions on every device
    # cpu: positions from the seeded CPU generator, moved to the images' device below
    i = torch.randint(len(img), (m, 1, 1), generator=gen)
    offsets = torch.arange(size)  # cpu: added to the CPU positions
    rows = torch.randint(shape[0] - size + 1, (m, 1, 1), generator=gen) + offsets.view(1, -1, 1)  # cpu: seeded
    cols = torch.randint(shape[1] - size + 1, (m, 1, 1), generator=gen) + offsets.view(1, 1, -1)  # cpu: seeded
    i, rows, cols = (t.to(images.device) for t in (i, rows, cols))
    p = img[i, rows, cols].reshape(m, size * size)  # (4n, size*size)
    return p[p.std(dim=1) > min_std][:n].contiguous()


def orient_atoms(D: Tensor) -> Tensor:
    """Flip each column of D (n, k) so its largest-magnitude entry is positive, for display only:
    with signed codes the sign of an atom is arbitrary, since D_j h_j = (-D_j)(-h_j)."""
    if not isinstance(D, Tensor) or D.ndim != 2:
        raise ValueError(f"D must be a (n, k) tensor, got {getattr(D, 'shape', type(D).__name__)}")
    peak = D.gather(0, D.abs().argmax(dim=0, keepdim=True))  # (1, k)
    return D * torch.where(peak < 0, -1.0, 1.0)


class ShrinkageEncoder(nn.Module):
    """f(x) = soft_threshold(W x + b, theta), theta >= 0 learned per unit: PSD's encoder (DLB §14.8).

    Initialised from a dictionary it equals one ISTA step from h = 0: W = D^T/L, b = 0, theta = lam/L."""

    def __init__(self, n: int, k: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n, k)
        # theta = |raw_theta|: Adam moves it by about lr per step, so thresholds grow from lam/L to
        # the order of lam in tens of steps (softplus or exp would need hundreds from so small a start).
        self.raw_theta = nn.Parameter(torch.zeros(k))

    @property
    def theta(self) -> Tensor:
        return self.raw_theta.abs()

    @torch.no_grad()
    def init_from(self, D: Tensor, lam: float) -> ShrinkageEncoder:
        """W = D^T / L, b = 0, theta = lam / L: one ISTA step from h = 0."""
        L = lipschitz(D)
        self.linear.weight.copy_(D.T / L)
        self.linear.bias.zero_()
        self.raw_theta.fill_(lam / L)
        return self

    def forward(self, x: Tensor) -> Tensor:  # (N, n) -> (N, k)
        z, theta = self.linear(x), self.theta  # theta = |raw_theta| >= 0: nothing to check per batch
        return z - z.clamp(-theta, theta)      # soft_threshold(z, theta)


def psd_model(x: Tensor, k: int, lam: float, seed: int = 0) -> Autoencoder:
    """PSD as an Autoencoder (DLB §14.8): decoder g(h) = D h (nn.Linear(k, n), weight D), f shrinkage.

    D starts as k random rows of ``x`` (N, n), unit-normalised; f starts as one ISTA step. The
    model is built on x's device and in its dtype (train it there with ``train_psd``); the rows
    are chosen on the CPU from ``seed``, the same on every device."""
    check_floating(x, "x")
    if x.ndim != 2 or isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(x):
        raise ValueError(f"x must be (N, n) with N >= k >= 1, got shape {tuple(x.shape)} and k = {k!r}")
    _number("lam", lam)
    gen = torch.Generator().manual_seed(seed)  # cpu: the same atoms on every device
    rows = torch.randperm(len(x), generator=gen)[:k].to(x.device)  # cpu: seeded, then moved
    D = normalize_columns(x[rows].T.clone())  # (n, k)
    decoder = nn.Linear(k, x.shape[1], bias=False, device=x.device, dtype=x.dtype)
    decoder.weight.data.copy_(D)
    encoder = ShrinkageEncoder(x.shape[1], k).to(x.device, x.dtype).init_from(D, lam)
    return Autoencoder(encoder, decoder)


def psd_loss(model: Autoencoder, x: Tensor, h: Tensor, gamma: float) -> Tensor:
    """1/2||x - D h||^2 + gamma/2||h - f(x)||^2 at fixed codes h: the loss of PSD's parameter step.

    DLB §14.8, in this module's scaling. Sum over features, mean over the batch; lam ||h||_1 is omitted."""
    _check_model(model)
    _check(x, model.decoder.weight, 0.0, h=h)
    reconstruction = 0.5 * ((x - model.decode(h)) ** 2).sum(1).mean()
    return reconstruction + 0.5 * gamma * ((h - model.encode(x)) ** 2).sum(1).mean()


def _check_model(model: Autoencoder) -> None:
    if not isinstance(model, Autoencoder) or not isinstance(model.decoder, nn.Linear) or model.decoder.bias is not None:
        raise TypeError(f"model must be an Autoencoder with a bias-free nn.Linear decoder (psd_model), "
                        f"got {type(model).__name__}")


@dataclass
class PSDHistory:
    """Per epoch, means over training batches: F at the inferred codes, ||h - f(x)|| / ||h||, seconds."""
    objective: list[float] = field(default_factory=list)
    prediction_error: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def train_psd(model: Autoencoder, x_train: Tensor, lam: float, gamma: float, *, epochs: int = 10,
              batch_size: int = 100, lr: float = 1e-2, n_iter: int = 15, seed: int = 0,
              progress: bool = True) -> PSDHistory:
    """Kavukcuoglu et al. 2008's alternating training of PSD (DLB §14.8), on the model's device.

    Per batch: (1) h = argmin_h F(h) with c = f(x), by ``n_iter`` FISTA steps warm-started at f(x);
    (2) one Adam step on D and f for ``psd_loss`` at that fixed h; (3) renormalise D's columns."""
    _check_model(model)
    check_floating(x_train, "x_train")
    if x_train.ndim != 2 or len(x_train) == 0 or x_train.shape[1] != model.decoder.weight.shape[0]:
        raise ValueError(f"x_train must be a non-empty (N, {model.decoder.weight.shape[0]}) tensor, "
                         f"got {tuple(x_train.shape)}")
    _number("lam", lam)
    _number("gamma", gamma, positive=True)
    _number("lr", lr, positive=True)
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("n_iter", n_iter)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if not all_finite(x_train):
        raise ValueError("x_train holds NaN or infinite values")
    torch.manual_seed(seed)
    x_train = x_train.to(model.decoder.weight.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    D, history = model.decoder.weight, PSDHistory()  # D: (n, k), updated in place
    for _ in tqdm(range(epochs), desc="PSD epochs", disable=not progress, leave=False):
        start, objs, errs = time.perf_counter(), [], []
        for idx in torch.randperm(len(x_train), device=x_train.device).split(batch_size):
            xb = x_train[idx]
            with torch.no_grad():
                c = model.encode(xb)
                h = sparse_code(xb, D, lam, n_iter=n_iter, h0=c, gamma=gamma, c=c).h
                objs.append(objective(xb, D, h, lam, gamma, c).mean().item())
                errs.append(((h - c).norm() / h.norm().clamp_min(1e-12)).item())
            opt.zero_grad(set_to_none=True)
            psd_loss(model, xb, h, gamma).backward()
            opt.step()
            with torch.no_grad():
                D.copy_(normalize_columns(D))
        history.objective.append(statistics.fmean(objs))
        history.prediction_error.append(statistics.fmean(errs))
        history.seconds.append(time.perf_counter() - start)
    model.eval()
    return history


def relative_error(h: Tensor, h_ref: Tensor) -> float:
    """||h - h_ref||_F / ||h_ref||_F over the whole batch (N, k): how far codes are from reference codes."""
    if not isinstance(h, Tensor) or not isinstance(h_ref, Tensor):
        raise TypeError(f"expected two tensors, got {type(h).__name__} and {type(h_ref).__name__}")
    if h.shape != h_ref.shape:
        raise ValueError(f"expected two tensors of one shape, got {tuple(h.shape)} and {tuple(h_ref.shape)}")
    check_same_device(h=h, h_ref=h_ref)
    return float((h - h_ref).norm() / h_ref.norm().clamp_min(1e-12))


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls (time.perf_counter), after warm-up."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
