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
"""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from .models import Autoencoder


def _check(x: Tensor, D: Tensor, lam: float, **codes: Tensor) -> None:
    """x (N, n), D (n, k), lam >= 0, and each named code tensor (N, k)."""
    if not isinstance(x, Tensor) or not isinstance(D, Tensor):
        raise TypeError(f"x and D must be tensors, got {type(x).__name__} and {type(D).__name__}")
    if x.ndim != 2 or D.ndim != 2 or x.shape[1] != D.shape[0]:
        raise ValueError(f"expected x (N, n) and D (n, k), got {tuple(x.shape)} and {tuple(D.shape)}")
    if not isinstance(lam, (int, float)) or lam < 0:
        raise ValueError(f"lam must be a number >= 0, got {lam!r}")
    for name, h in codes.items():
        if not isinstance(h, Tensor):
            raise TypeError(f"{name} must be a tensor, got {type(h).__name__}")
        if h.shape != (x.shape[0], D.shape[1]):
            raise ValueError(f"{name} must be (N, k) = {(x.shape[0], D.shape[1])}, got {tuple(h.shape)}")


def random_patches(images: Tensor, size: int, n: int, *, min_std: float = 0.2, seed: int = 0,
                   shape: tuple[int, int] = (28, 28)) -> Tensor:
    """n random size x size patches (n, size*size) of (N, H*W) images, keeping those with pixel
    standard deviation > ``min_std`` (patches with ink); fewer than n if too few qualify."""
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a tensor, got {type(images).__name__}")
    if images.ndim != 2 or images.shape[1] != shape[0] * shape[1]:
        raise ValueError(f"images must be (N, {shape[0] * shape[1]}), got {tuple(images.shape)}")
    if not 1 <= size <= min(shape) or n < 1:
        raise ValueError(f"need 1 <= size <= {min(shape)} and n >= 1, got size={size}, n={n}")
    gen, img, m = torch.Generator().manual_seed(seed), images.reshape(-1, *shape), 4 * n  # draw 4n
    i = torch.randint(len(img), (m, 1, 1), generator=gen)
    rows = torch.randint(shape[0] - size + 1, (m, 1, 1), generator=gen) + torch.arange(size).view(1, -1, 1)
    cols = torch.randint(shape[1] - size + 1, (m, 1, 1), generator=gen) + torch.arange(size).view(1, 1, -1)
    p = img[i, rows, cols].reshape(m, size * size)  # (4n, size*size)
    return p[p.std(dim=1) > min_std][:n].contiguous()


def orient_atoms(D: Tensor) -> Tensor:
    """Flip each column of D (n, k) so its largest-magnitude entry is positive, for display only:
    with signed codes the sign of an atom is arbitrary, since D_j h_j = (-D_j)(-h_j)."""
    if not isinstance(D, Tensor) or D.ndim != 2:
        raise ValueError(f"D must be a (n, k) tensor, got {getattr(D, 'shape', type(D).__name__)}")
    peak = D.gather(0, D.abs().argmax(dim=0, keepdim=True))  # (1, k)
    return D * torch.where(peak < 0, -1.0, 1.0)


def soft_threshold(z: Tensor, theta: Tensor | float) -> Tensor:
    """sign(z) max(|z| - theta, 0), the proximal map of theta ||.||_1 (Beck & Teboulle 2009)."""
    if not isinstance(z, Tensor):
        raise TypeError(f"z must be a tensor, got {type(z).__name__}")
    if isinstance(theta, Tensor) and bool((theta < 0).any()) or not isinstance(theta, Tensor) and theta < 0:
        raise ValueError("theta must be >= 0")
    return z - z.clamp(-theta, theta)  # = sign(z) max(|z| - theta, 0)


def normalize_columns(D: Tensor) -> Tensor:
    """D (n, k) with each column scaled to unit Euclidean norm (PSD keeps atoms on the sphere)."""
    if not isinstance(D, Tensor) or D.ndim != 2:
        raise ValueError(f"D must be a (n, k) tensor, got {getattr(D, 'shape', type(D).__name__)}")
    return D / D.norm(dim=0, keepdim=True).clamp_min(1e-12)


def lipschitz(D: Tensor, gamma: float = 0.0) -> float:
    """L = lambda_max(D^T D) + gamma, the Lipschitz constant of the gradient of F's smooth part."""
    if not isinstance(D, Tensor) or D.ndim != 2:
        raise ValueError(f"D must be a (n, k) tensor, got {getattr(D, 'shape', type(D).__name__)}")
    return float(torch.linalg.matrix_norm(D.detach().double(), ord=2) ** 2) + gamma


def objective(x: Tensor, D: Tensor, h: Tensor, lam: float, gamma: float = 0.0,
              c: Tensor | None = None) -> Tensor:
    """F(h) per example, shape (N,): 1/2||x - Dh||^2 + lam||h||_1 (+ gamma/2||h - c||^2). DLB §14.8."""
    _check(x, D, lam, h=h, **({"c": c} if gamma else {}))
    out = 0.5 * ((x - h @ D.T) ** 2).sum(1) + lam * h.abs().sum(1)
    if gamma:
        out = out + 0.5 * gamma * ((h - c) ** 2).sum(1)
    return out


@dataclass
class CodingResult:
    """Codes h (N, k), iterations run, whether the stopping rule was met, mean F per iteration."""
    h: Tensor
    n_iter: int
    converged: bool
    objective: list[float] = field(default_factory=list)


@torch.no_grad()
def sparse_code(x: Tensor, D: Tensor, lam: float, *, method: str = "fista", n_iter: int = 100,
                tol: float = 0.0, check_every: int = 10, h0: Tensor | None = None, gamma: float = 0.0,
                c: Tensor | None = None, L: float | None = None, trace: bool = False) -> CodingResult:
    """Minimise F(h) by ISTA or FISTA (Beck & Teboulle 2009) with step 1/L. DLB §14.8.

    ISTA: h <- soft_threshold(y - grad(y)/L, lam/L) with y = h. FISTA takes the same step from
    y = h_k + (t_k - 1)/t_{k+1} (h_k - h_{k-1}), t_{k+1} = (1 + sqrt(1 + 4 t_k^2))/2, t_1 = 1.
    Stopping rule (checked every ``check_every`` iterations when tol > 0): for every example,
    ||h_new - y|| <= tol ||h_new||, the relative size of the proximal-gradient step from y, which is
    zero exactly at a minimiser. ``h0`` warm-starts (default zeros); ``gamma``, ``c`` add the PSD
    prediction term; ``trace`` records the batch-mean F after every iteration (slow; for plots).
    """
    _check(x, D, lam, **({"c": c} if gamma else {}), **({"h0": h0} if h0 is not None else {}))
    if method not in ("ista", "fista"):
        raise ValueError(f"method must be 'ista' or 'fista', got {method!r}")
    if not isinstance(n_iter, int) or n_iter < 1 or tol < 0 or check_every < 1 or gamma < 0:
        raise ValueError(f"need n_iter >= 1, tol >= 0, check_every >= 1, gamma >= 0; "
                         f"got {n_iter}, {tol}, {check_every}, {gamma}")
    L = lipschitz(D, gamma) if L is None else L
    k_atoms = D.shape[1]
    # One step is z = y - grad(y)/L = y M + b/L with M = I - (D^T D + gamma I)/L: a single addmm.
    M = torch.eye(k_atoms, dtype=D.dtype, device=D.device) * (1 - gamma / L) - (D.T @ D) / L  # (k, k)
    b = (x @ D + (gamma * c if gamma else 0.0)) / L  # (N, k)
    h = x.new_zeros(x.shape[0], k_atoms) if h0 is None else h0.clone()
    y, t, history, converged, k = h, 1.0, [], False, 0
    for k in range(1, n_iter + 1):
        z = torch.addmm(b, y, M)
        h_new = z - z.clamp(-lam / L, lam / L)  # soft_threshold(z, lam / L)
        if tol and k % check_every == 0:
            converged = bool(((h_new - y).norm(dim=1) <= tol * h_new.norm(dim=1)).all())
        if method == "fista":
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            y = torch.add(h_new, h_new - h, alpha=(t - 1) / t_new)
            t = t_new
        else:
            y = h_new
        h = h_new
        if trace:
            history.append(objective(x, D, h, lam, gamma, c).mean().item())
        if converged:
            break
    return CodingResult(h, k, converged, history)


def kkt_violation(x: Tensor, D: Tensor, h: Tensor, lam: float) -> Tensor:
    """Largest violation, per example (N,), of the Lasso optimality conditions for gamma = 0.

    With c = D^T (x - D h): c_i = lam sign(h_i) where h_i != 0, and |c_i| <= lam where h_i = 0."""
    _check(x, D, lam, h=h)
    corr = (x - h @ D.T) @ D  # (N, k)
    return torch.where(h != 0, (corr - lam * torch.sign(h)).abs(), F.relu(corr.abs() - lam)).amax(dim=1)


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
        L = lipschitz(D)
        self.linear.weight.copy_(D.T / L)
        self.linear.bias.zero_()
        self.raw_theta.fill_(lam / L)
        return self

    def forward(self, x: Tensor) -> Tensor:  # (N, n) -> (N, k)
        return soft_threshold(self.linear(x), self.theta)


def psd_model(x: Tensor, k: int, lam: float, seed: int = 0) -> Autoencoder:
    """PSD as an Autoencoder (DLB §14.8): decoder g(h) = D h (nn.Linear(k, n), weight D), f shrinkage.

    D starts as k random rows of ``x`` (N, n), unit-normalised; f starts as one ISTA step."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    if x.ndim != 2 or not isinstance(k, int) or not 1 <= k <= len(x):
        raise ValueError(f"x must be (N, n) with N >= k >= 1, got shape {tuple(x.shape)} and k = {k!r}")
    gen = torch.Generator().manual_seed(seed)
    D = normalize_columns(x[torch.randperm(len(x), generator=gen)[:k]].T.clone())  # (n, k)
    decoder = nn.Linear(k, x.shape[1], bias=False)
    decoder.weight.data.copy_(D)
    return Autoencoder(ShrinkageEncoder(x.shape[1], k).init_from(D, lam), decoder)


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
    if not isinstance(x_train, Tensor):
        raise TypeError(f"x_train must be a tensor, got {type(x_train).__name__}")
    if x_train.ndim != 2 or len(x_train) == 0:
        raise ValueError(f"x_train must be a non-empty (N, n) tensor, got {tuple(x_train.shape)}")
    if lam < 0 or gamma <= 0 or epochs < 1 or batch_size < 1:
        raise ValueError(f"need lam >= 0, gamma > 0, epochs >= 1, batch_size >= 1; "
                         f"got {lam}, {gamma}, {epochs}, {batch_size}")
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
