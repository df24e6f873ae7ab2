"""LISTA: ISTA unrolled into a network and trained to output the optimal sparse codes.

Gregor & LeCun 2010 (key ``gregor2010learning``), the learned fast approximate inference that
DLB §14.8 describes for PSD, pushed a few steps further. For one example x (n,), ISTA on
F(h) = 1/2 ||x - D h||^2 + lam ||h||_1 (``aebook.psd``'s scaling) iterates

    h_{t+1} = S_{lam/L}(D^T x / L + (I - D^T D / L) h_t),   h_0 = 0,

with S the soft-threshold. LISTA keeps this form with T steps and *learns* its three parameters,
shared by every step:

    b = W_e x,   h = S_theta(b),   then T times   h = S_theta(b + W_s h)

(Gregor & LeCun write W_s as S; here S is the soft-threshold).

It costs one (n -> k) and T (k -> k) matrix products: T + 1 in all, as many as ISTA's first
T + 1 iterations. Initialised at W_e = D^T / L, W_s = I - D^T D / L, theta = lam / L, it *is*
ISTA run for T + 1 iterations from h = 0; training (``train_lista``) regresses its output on the
optimal codes h* that FISTA computes. With T = 0 it has the form of PSD's shrinkage encoder
(without a bias). Batches are rows: x (N, n), h (N, k). Reduction of the loss: sum over code
units, mean over the batch.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .psd import lipschitz
from .training import History, fit


def _check_int(name: str, value: int, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")


class LISTA(nn.Module):
    """Learned ISTA with ``n_steps`` = T unrolled steps and weights shared over the steps
    (DLB §14.8; ``gregor2010learning``): (N, n) -> (N, k), T + 1 matrix products."""

    def __init__(self, n: int, k: int, n_steps: int) -> None:
        super().__init__()
        _check_int("n", n, 1)
        _check_int("k", k, 1)
        _check_int("n_steps", n_steps, 0)
        self.n_steps = n_steps
        self.W_e = nn.Linear(n, k, bias=False)  # weight (k, n): the filter matrix, D^T / L at init
        self.W_s = nn.Linear(k, k, bias=False)  # weight (k, k): I - D^T D / L at init
        # theta = |raw_theta| >= 0, as in psd.ShrinkageEncoder: Adam moves it by about lr per step.
        self.raw_theta = nn.Parameter(torch.zeros(k))

    @property
    def theta(self) -> Tensor:
        """The shrinkage threshold per code unit, (k,), >= 0."""
        return self.raw_theta.abs()

    @torch.no_grad()
    def init_from(self, D: Tensor, lam: float) -> LISTA:
        """Set the weights to ISTA's for dictionary D (n, k) and penalty lam >= 0: W_e = D^T / L,
        W_s = I - D^T D / L, theta = lam / L with L = lambda_max(D^T D). Returns self."""
        if not isinstance(D, Tensor) or D.shape != (self.W_e.in_features, self.W_e.out_features):
            raise ValueError(f"D must be a ({self.W_e.in_features}, {self.W_e.out_features}) tensor, "
                             f"got {getattr(D, 'shape', type(D).__name__)}")
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
            raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
        L = lipschitz(D)
        D = D.to(self.W_e.weight)
        eye = torch.eye(D.shape[1], dtype=D.dtype, device=D.device)
        self.W_e.weight.copy_(D.T / L)
        self.W_s.weight.copy_(eye - D.T @ D / L)  # symmetric: W_s h = h W_s^T = h W_s
        self.raw_theta.fill_(lam / L)
        return self

    def forward(self, x: Tensor) -> Tensor:  # (N, n) -> (N, k)
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a tensor, got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.W_e.in_features or not x.is_floating_point():
            raise ValueError(f"x must be a floating (N, {self.W_e.in_features}) tensor, "
                             f"got {x.dtype} {tuple(x.shape)}")
        theta = self.theta
        b = self.W_e(x)  # (N, k): the one (n -> k) product
        h = b - b.clamp(-theta, theta)  # soft-threshold S_theta(b)
        for _ in range(self.n_steps):
            z = b + self.W_s(h)  # (N, k): one (k -> k) product per step
            h = z - z.clamp(-theta, theta)
        return h


def lista_loss(model: LISTA, x: Tensor, h_star: Tensor) -> Tensor:
    """1/2 ||LISTA(x) - h*||^2, summed over the k code units, mean over the batch: Gregor & LeCun
    2010's regression on the optimal codes (``gregor2010learning``; DLB §14.8)."""
    if not isinstance(model, LISTA):
        raise TypeError(f"model must be a LISTA, got {type(model).__name__}")
    if not isinstance(h_star, Tensor):
        raise TypeError(f"h_star must be a tensor, got {type(h_star).__name__}")
    h = model(x)
    if h_star.shape != h.shape:
        raise ValueError(f"h_star must be (N, k) = {tuple(h.shape)}, got {tuple(h_star.shape)}")
    return 0.5 * ((h - h_star) ** 2).sum(1).mean()


def train_lista(model: LISTA, x: Tensor, h_star: Tensor, *, epochs: int = 10, batch_size: int = 100,
                lr: float = 1e-3, progress: bool = True) -> History:
    """Train ``model`` in place on pairs (x, h*) for ``lista_loss`` with the book's ``fit`` (Adam, a
    cosine schedule, random batches from torch's global generator), on the model's device.

    x: (N, n) inputs; h_star: (N, k) their optimal codes, e.g. ``psd.sparse_code(...).h`` run to
    convergence. Returns fit's History (per-epoch mean training loss and seconds)."""
    if not isinstance(model, LISTA):
        raise TypeError(f"model must be a LISTA, got {type(model).__name__}")
    if not isinstance(x, Tensor) or not isinstance(h_star, Tensor):
        raise TypeError(f"x and h_star must be tensors, got {type(x).__name__} and {type(h_star).__name__}")
    n, k = model.W_e.in_features, model.W_e.out_features
    if x.ndim != 2 or x.shape[1] != n or h_star.shape != (len(x), k) or len(x) == 0:
        raise ValueError(f"need x (N, {n}) and h_star (N, {k}) with N >= 1, "
                         f"got {tuple(x.shape)} and {tuple(h_star.shape)}")
    pairs = torch.cat([x, h_star.to(x)], dim=1)  # (N, n + k): fit slices one tensor into batches
    return fit(model, pairs, loss=lambda m, xh: lista_loss(m, xh[:, :n], xh[:, n:]), epochs=epochs,
               batch_size=batch_size, lr=lr, schedule="cosine", progress=progress, desc="LISTA epochs")
