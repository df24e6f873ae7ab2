"""Sparse coding by ISTA and FISTA: the inference step of predictive sparse decomposition (PSD).

DLB §14.8 (Kavukcuoglu et al. 2008, key ``kavukcuoglu2008fast``); ISTA and FISTA after Beck &
Teboulle 2009 (key ``beck2009fast``). For one example x (n,), a dictionary D (n, k) with
unit-norm columns and a code h (k,),

    F(h) = 1/2 ||x - D h||^2 + lam ||h||_1 + gamma/2 ||h - c||^2,

with c = f(x) the encoder's code in PSD, and gamma = 0 for plain sparse coding (the Lasso). The
smooth part's gradient D^T (D h - x) + gamma (h - c) is Lipschitz with L = lambda_max(D^T D) + gamma.
Reduction: **sum over features, mean over the batch**, unless a function says it returns one value
per example. Batches are rows: x (N, n), h (N, k), g(h) = h D^T. Tensors must be floating and on
one device; results stay there. ``aebook.psd`` builds the PSD model on these and re-exports them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from .devices import all_finite, check_floating, check_same_device, float64, has_values


def _number(name: str, value: float, positive: bool = False) -> None:
    """A finite number >= 0 (> 0 if ``positive``); NaN fails both comparisons."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf \
            or (positive and value == 0):
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")


def _check(x: Tensor, D: Tensor, lam: float, **codes: Tensor) -> None:
    """x (N, n), D (n, k), lam >= 0, and each named code tensor (N, k), floating, on one device."""
    check_floating(x, "x")
    check_floating(D, "D")
    if x.ndim != 2 or D.ndim != 2 or x.shape[1] != D.shape[0]:
        raise ValueError(f"expected x (N, n) and D (n, k), got {tuple(x.shape)} and {tuple(D.shape)}")
    _number("lam", lam)
    for name, h in codes.items():
        check_floating(h, name)
        if h.shape != (x.shape[0], D.shape[1]):
            raise ValueError(f"{name} must be (N, k) = {(x.shape[0], D.shape[1])}, got {tuple(h.shape)}")
    check_same_device(x=x, D=D, **codes)


def soft_threshold(z: Tensor, theta: Tensor | float) -> Tensor:
    """sign(z) max(|z| - theta, 0), the proximal map of theta ||.||_1 (Beck & Teboulle 2009).

    theta >= 0: a number, or a tensor on z's device (its values are checked on the CPU only, where
    that costs no device sync)."""
    check_floating(z, "z")
    if isinstance(theta, Tensor):
        check_same_device(z=z, theta=theta)
        if has_values(theta) and not bool((theta >= 0).all()):
            raise ValueError("theta must be >= 0 (and not NaN)")
    else:
        _number("theta", theta)
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
    check_floating(D, "D")
    _number("gamma", gamma)
    if not all_finite(D):
        raise ValueError("D holds NaN or infinite values")
    return float(torch.linalg.matrix_norm(float64(D.detach()), ord=2) ** 2) + gamma


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
    for name, v in (("n_iter", n_iter), ("check_every", check_every)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    _number("tol", tol)
    _number("gamma", gamma)
    if L is not None:
        _number("L", L, positive=True)  # L <= 0 gave NaN codes or a ZeroDivisionError
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
