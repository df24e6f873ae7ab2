"""Toy data with known structure: a 2-D Gaussian mixture with exact density and score, and
manifolds (a noisy circle, a spiral, a swiss roll) with their true tangents.

Used where the book compares what an autoencoder learned against the truth: the score a denoising
autoencoder estimates (DLB §14.5.1, Alain & Bengio 2014, key ``alain2014regularized``) and the
tangent planes of a manifold (DLB §14.6).

Samples are drawn on the CPU from a generator seeded with ``seed``, so a seed gives the same data
on every machine and device; move them with ``.to(device)``. A mixture's ``log_prob`` and
``score`` follow their input: they work on x's device and return there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def _generator(seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return torch.Generator().manual_seed(seed)  # cpu: seeded toy data are the same on every device


def _uniform(g: torch.Generator, *shape: int) -> Tensor:
    return torch.rand(*shape, generator=g)  # cpu: drawn from the seeded CPU generator (module docstring)


def _normal(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=g)  # cpu: drawn from the seeded CPU generator (module docstring)


def _check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be a positive int, got {n!r}")


def _check_number(name: str, value: float, positive: bool = False) -> None:
    """A finite number, >= 0 (or > 0 if ``positive``): a NaN passes neither comparison."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < math.inf
    if not ok or (positive and value == 0):
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")


def _check_points(x: Tensor, dim: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"expected points of shape (N, {dim}), got {tuple(x.shape)}")


@dataclass(frozen=True)
class GaussianMixture2D:
    """p(x) = sum_k w_k N(x; mu_k, s_k^2 I) in 2-D, with exact log-density and score."""
    means: Tensor    # (K, 2)
    stds: Tensor     # (K,)
    weights: Tensor  # (K,), sums to 1

    def __post_init__(self) -> None:
        if not all(isinstance(t, Tensor) for t in (self.means, self.stds, self.weights)):
            raise TypeError("means, stds and weights must be tensors")
        k = self.means.shape[0]
        if self.means.shape != (k, 2) or self.stds.shape != (k,) or self.weights.shape != (k,):
            raise ValueError("means (K, 2), stds (K,) and weights (K,) must agree")
        if not all(bool(torch.isfinite(t).all()) for t in (self.means, self.stds, self.weights)):
            raise ValueError("means, stds and weights must be finite (no NaN)")
        if (self.stds <= 0).any() or (self.weights < 0).any():
            raise ValueError("stds must be positive and weights non-negative")
        if not math.isclose(float(self.weights.sum()), 1.0, rel_tol=1e-5):
            raise ValueError(f"weights must sum to 1, got {float(self.weights.sum())}")

    def sample(self, n: int, seed: int = 0) -> Tensor:
        """(n, 2) samples, drawn on the CPU (see the module docstring), on the mixture's device."""
        _check_count(n)
        g = _generator(seed)
        means, stds, weights = (t.detach().cpu() for t in (self.means, self.stds, self.weights))
        k = torch.multinomial(weights, n, replacement=True, generator=g)
        return (means[k] + stds[k, None] * _normal(g, n, 2)).to(self.means.device)

    def _on(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """means, stds, weights on x's device."""
        return self.means.to(x.device), self.stds.to(x.device), self.weights.to(x.device)

    def _component_log_probs(self, x: Tensor) -> Tensor:
        _check_points(x, 2)
        means, stds, weights = self._on(x)
        d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)                    # (N, K)
        var = stds[None] ** 2                                                  # (1, K)
        return torch.log(weights)[None] - d2 / (2 * var) - torch.log(2 * math.pi * var)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x), shape (N,)."""
        return torch.logsumexp(self._component_log_probs(x), dim=1)

    def score(self, x: Tensor) -> Tensor:
        """The score, grad_x log p(x), shape (N, 2), in closed form."""
        resp = torch.softmax(self._component_log_probs(x), dim=1)               # (N, K) posteriors
        means, stds, _ = self._on(x)
        pulls = -(x[:, None, :] - means[None]) / stds[None, :, None] ** 2       # (N, K, 2)
        return (resp[..., None] * pulls).sum(1)


def gaussian_mixture(n_components: int = 3, radius: float = 2.0, std: float = 0.5) -> GaussianMixture2D:
    """Equal-weight components, equally spaced on a circle of ``radius``; on the CPU."""
    if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
        raise ValueError(f"n_components must be an int >= 1, got {n_components!r}")
    _check_number("radius", radius)
    _check_number("std", std, positive=True)
    angles = torch.arange(n_components) * 2 * math.pi / n_components  # cpu: a new mixture lives on the CPU
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    ones = torch.ones_like(angles)
    return GaussianMixture2D(means, std * ones, ones / n_components)


@dataclass(frozen=True)
class ManifoldSample:
    """Points near a manifold: ``x`` noisy (N, D), ``clean`` on the manifold, ``t`` its coordinates,
    ``tangent`` unit tangent vectors at ``clean``: (N, D) for a curve, (N, 2, D) for a surface."""
    x: Tensor
    clean: Tensor
    t: Tensor
    tangent: Tensor


def _unit(v: Tensor) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True)


def noisy_circle(n: int, radius: float = 1.0, noise: float = 0.05, seed: int = 0) -> ManifoldSample:
    """A 1-D manifold in 2-D: the circle, with isotropic Gaussian noise of std ``noise``."""
    _check_count(n)
    _check_number("radius", radius, positive=True)
    _check_number("noise", noise)
    g = _generator(seed)
    t = 2 * math.pi * _uniform(g, n)
    clean = radius * torch.stack([torch.cos(t), torch.sin(t)], 1)
    tangent = torch.stack([-torch.sin(t), torch.cos(t)], 1)
    return ManifoldSample(clean + noise * _normal(g, n, 2), clean, t, tangent)


def spiral(n: int, turns: float = 1.5, noise: float = 0.02, seed: int = 0) -> ManifoldSample:
    """A 1-D manifold in 2-D with growing curvature: r = t / (2 pi turns), t in [pi/2, 2 pi turns]."""
    _check_count(n)
    _check_number("turns", turns, positive=True)
    _check_number("noise", noise)
    g = _generator(seed)
    t = math.pi / 2 + (2 * math.pi * turns - math.pi / 2) * _uniform(g, n)
    r = t / (2 * math.pi * turns)
    clean = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)
    # d/dt (r cos t, r sin t) with dr/dt = 1 / (2 pi turns)
    dr = 1 / (2 * math.pi * turns)
    tangent = _unit(torch.stack([dr * torch.cos(t) - r * torch.sin(t), dr * torch.sin(t) + r * torch.cos(t)], 1))
    return ManifoldSample(clean + noise * _normal(g, n, 2), clean, t, tangent)


def swiss_roll(n: int, noise: float = 0.05, height: float = 10.0, seed: int = 0) -> ManifoldSample:
    """A 2-D manifold in 3-D: (t cos t, y, t sin t), t in [1.5 pi, 4.5 pi], y in [0, height].

    ``t`` holds (t, y); ``tangent`` (N, 2, 3) holds the unit tangents along t and along y.
    """
    _check_count(n)
    _check_number("noise", noise)
    _check_number("height", height, positive=True)
    g = _generator(seed)
    t = 1.5 * math.pi * (1 + 2 * _uniform(g, n))
    y = height * _uniform(g, n)
    clean = torch.stack([t * torch.cos(t), y, t * torch.sin(t)], 1)
    zero = torch.zeros_like(t)
    along_t = _unit(torch.stack([torch.cos(t) - t * torch.sin(t), zero, torch.sin(t) + t * torch.cos(t)], 1))
    along_y = torch.stack([zero, torch.ones_like(t), zero], 1)
    tangent = torch.stack([along_t, along_y], 1)
    return ManifoldSample(clean + noise * _normal(g, n, 3), clean, torch.stack([t, y], 1), tangent)
