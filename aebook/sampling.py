"""Sampling from a denoising autoencoder, and a distance between samples to judge the result.

A DAE trained with Gaussian corruption C(x_tilde | x) = N(x, sigma^2 I) and the squared error
gives the mean r(x_tilde) of a Gaussian reconstruction distribution
p(x | x_tilde) = N(r(x_tilde), sigma_r^2 I), whose maximum-likelihood variance sigma_r^2 is the
mean squared residual per coordinate (``reconstruction_std``). Alternating the two,

    x_tilde_t ~ C(x_tilde | x_t),    x_{t+1} ~ N(r(x_tilde_t), sigma_r^2 I),

is the Markov chain of the generalized denoising autoencoder (DLB §14.5.1; Bengio et al. 2013,
key ``bengio2013generalized``): were p(x | x_tilde) the exact posterior, it would be a Gibbs
sampler of the joint p(x) C(x_tilde | x), whose x-marginal is the data density p
(``denoising_chain``).

``mmd2`` is the squared maximum mean discrepancy with a Gaussian kernel (Gretton et al. 2012,
key ``gretton2012kernel``): a distance between two distributions estimated from a sample of
each, zero only when they are equal.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .corruption import additive_gaussian
from .models import eval_mode


def _check_batch(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2 or len(x) == 0 or not x.is_floating_point():
        raise ValueError(f"{name} must be a non-empty floating (N, D) batch, got shape "
                         f"{tuple(x.shape)} and dtype {x.dtype}")


def _check_model(model: nn.Module, x: Tensor) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    param = next(model.parameters(), None)
    if param is not None and param.device.type != x.device.type:
        raise ValueError(f"model is on {param.device}, the points on {x.device}: they must match")


def _check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


@torch.no_grad()
def reconstruction_std(model: nn.Module, x: Tensor, sigma: float, n_draws: int = 1,
                       generator: torch.Generator | None = None) -> float:
    """sigma_r = sqrt(E ||r(x + sigma eps) - x||^2 / D): the maximum-likelihood std of a Gaussian
    reconstruction distribution N(r(x_tilde), sigma_r^2 I) around a DAE's output.

    The mean of the squared residual is taken over the D coordinates, the N examples of x (N, D)
    and ``n_draws`` draws of the noise, in eval mode. For the optimal DAE it is the posterior
    variance of x given x_tilde, about sigma^2 for small sigma (DLB §14.5.1;
    ``bengio2013generalized``)."""
    _check_batch(x, "x")
    _check_model(model, x)
    _check_positive("sigma", sigma, allow_zero=True)
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive int, got {n_draws!r}")
    total = torch.zeros((), device=x.device, dtype=torch.float64)
    with eval_mode(model):
        for _ in range(n_draws):
            r = model(additive_gaussian(x, sigma, generator=generator))  # (N, D)
            total += ((r - x) ** 2).sum().double()
    return math.sqrt(float(total) / (n_draws * x.numel()))


@torch.no_grad()
def denoising_chain(model: nn.Module, x0: Tensor, sigma: float, steps: int,
                    sigma_r: float | None = None,
                    generator: torch.Generator | None = None) -> Tensor:
    """Run the generalized-DAE Markov chain from each row of x0 (N, D) for ``steps`` steps:
    corrupt x_tilde = x + sigma * eps, then sample x ~ N(r(x_tilde), sigma_r^2 I).

    ``sigma``: the corruption the DAE was trained with; ``sigma_r``: the std of the
    reconstruction distribution (default ``sigma``; ``reconstruction_std`` gives the
    maximum-likelihood value). ``sigma_r = 0`` makes the reconstruction a point mass: the chain
    then only sharpens towards the modes. Runs in eval mode on x0's device (the model must be on
    it); noise from ``generator`` (on that device) or torch's global generator. Returns the final
    states (N, D). DLB §14.5.1; Bengio et al. 2013 (``bengio2013generalized``)."""
    _check_batch(x0, "x0")
    _check_model(model, x0)
    _check_positive("sigma", sigma, allow_zero=True)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    sigma_r = sigma if sigma_r is None else sigma_r
    _check_positive("sigma_r", sigma_r, allow_zero=True)
    x = x0.clone()
    with eval_mode(model):
        for _ in range(steps):
            r = model(additive_gaussian(x, sigma, generator=generator))  # (N, D) E[x | x_tilde]
            if r.shape != x.shape:
                raise ValueError(f"model must map (N, D) to (N, D), got {tuple(r.shape)}")
            x = additive_gaussian(r, sigma_r, generator=generator)
    return x


def mmd2(a: Tensor, b: Tensor, bandwidth: float) -> float:
    """The unbiased estimate of the squared maximum mean discrepancy between the distributions of
    two samples a (M, D) and b (N, D), with the Gaussian kernel
    k(x, y) = exp(-||x - y||^2 / (2 bandwidth^2)):

        MMD^2 = E k(a, a') + E k(b, b') - 2 E k(a, b),

    each mean over distinct pairs (the U-statistic of Gretton et al. 2012, ``gretton2012kernel``).
    Zero in expectation when the distributions are equal, and positive otherwise; the estimate
    can dip slightly below 0. The kernel is bounded, so a few far outliers change it little.
    Computed in float64 on the CPU; needs M, N >= 2."""
    _check_batch(a, "a")
    _check_batch(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same width, got {a.shape[1]} and {b.shape[1]}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 points in each sample, got {len(a)} and {len(b)}")
    _check_positive("bandwidth", bandwidth)
    a, b = a.detach().to("cpu", torch.float64), b.detach().to("cpu", torch.float64)

    def kernel_mean(u: Tensor, v: Tensor, same: bool) -> Tensor:
        k = torch.exp(-torch.cdist(u, v) ** 2 / (2 * bandwidth ** 2))  # (len(u), len(v))
        if same:
            return (k.sum() - k.diagonal().sum()) / (len(u) * (len(u) - 1))
        return k.mean()

    return float(kernel_mean(a, a, True) + kernel_mean(b, b, True) - 2 * kernel_mean(a, b, False))
