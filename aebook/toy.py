"""Toy data with known structure: a 2-D Gaussian mixture with exact density and score, and
manifolds (a noisy circle, a spiral, a swiss roll) with their true tangents.

Used where the book compares what an autoencoder learned against the truth: the score a denoising
autoencoder estimates (DLB §14.5.1, Alain & Bengio 2014, key ``alain2014regularized``) and the
tangent planes of a manifold (DLB §14.6).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _check_points(x: Tensor, dim: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
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
        if (self.stds <= 0).any() or (self.weights < 0).any():
            raise ValueError("stds must be positive and weights non-negative")
        if not math.isclose(float(self.weights.sum()), 1.0, rel_tol=1e-5):
            raise ValueError(f"weights must sum to 1, got {float(self.weights.sum())}")

    def sample(self, n: int, seed: int = 0) -> Tensor:
        """(n, 2) samples."""
        if n <= 0:
            raise ValueError(f"n must be positive, got {n}")
        g = _generator(seed)
        k = torch.multinomial(self.weights, n, replacement=True, generator=g)
        return self.means[k] + self.stds[k, None] * torch.randn(n, 2, generator=g)

    def _component_log_probs(self, x: Tensor) -> Tensor:
        _check_points(x, 2)
        d2 = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)               # (N, K)
        var = self.stds[None] ** 2                                             # (1, K)
        return torch.log(self.weights)[None] - d2 / (2 * var) - torch.log(2 * math.pi * var)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x), shape (N,)."""
        return torch.logsumexp(self._component_log_probs(x), dim=1)

    def score(self, x: Tensor) -> Tensor:
        """The score, grad_x log p(x), shape (N, 2), in closed form."""
        resp = torch.softmax(self._component_log_probs(x), dim=1)               # (N, K) posteriors
        pulls = -(x[:, None, :] - self.means[None]) / self.stds[None, :, None] ** 2  # (N, K, 2)
        return (resp[..., None] * pulls).sum(1)


def gaussian_mixture(n_components: int = 3, radius: float = 2.0, std: float = 0.5) -> GaussianMixture2D:
    """Equal-weight components, equally spaced on a circle of ``radius``."""
    if n_components < 1:
        raise ValueError(f"n_components must be at least 1, got {n_components}")
    angles = torch.arange(n_components) * 2 * math.pi / n_components
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture2D(means, torch.full((n_components,), std), torch.full((n_components,), 1 / n_components))


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
    if n <= 0 or noise < 0 or radius <= 0:
        raise ValueError(f"need n > 0, radius > 0, noise >= 0, got n={n}, radius={radius}, noise={noise}")
    g = _generator(seed)
    t = 2 * math.pi * torch.rand(n, generator=g)
    clean = radius * torch.stack([torch.cos(t), torch.sin(t)], 1)
    tangent = torch.stack([-torch.sin(t), torch.cos(t)], 1)
    return ManifoldSample(clean + noise * torch.randn(n, 2, generator=g), clean, t, tangent)


def spiral(n: int, turns: float = 1.5, noise: float = 0.02, seed: int = 0) -> ManifoldSample:
    """A 1-D manifold in 2-D with growing curvature: r = t / (2 pi turns), t in [pi/2, 2 pi turns]."""
    if n <= 0 or noise < 0 or turns <= 0:
        raise ValueError(f"need n > 0, turns > 0, noise >= 0, got n={n}, turns={turns}, noise={noise}")
    g = _generator(seed)
    t = math.pi / 2 + (2 * math.pi * turns - math.pi / 2) * torch.rand(n, generator=g)
    r = t / (2 * math.pi * turns)
    clean = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)
    # d/dt (r cos t, r sin t) with dr/dt = 1 / (2 pi turns)
    dr = 1 / (2 * math.pi * turns)
    tangent = _unit(torch.stack([dr * torch.cos(t) - r * torch.sin(t), dr * torch.sin(t) + r * torch.cos(t)], 1))
    return ManifoldSample(clean + noise * torch.randn(n, 2, generator=g), clean, t, tangent)


def swiss_roll(n: int, noise: float = 0.05, height: float = 10.0, seed: int = 0) -> ManifoldSample:
    """A 2-D manifold in 3-D: (t cos t, y, t sin t), t in [1.5 pi, 4.5 pi], y in [0, height].

    ``t`` holds (t, y); ``tangent`` (N, 2, 3) holds the unit tangents along t and along y.
    """
    if n <= 0 or noise < 0:
        raise ValueError(f"need n > 0 and noise >= 0, got n={n}, noise={noise}")
    g = _generator(seed)
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g))
    y = height * torch.rand(n, generator=g)
    clean = torch.stack([t * torch.cos(t), y, t * torch.sin(t)], 1)
    along_t = _unit(torch.stack([torch.cos(t) - t * torch.sin(t), torch.zeros(n), torch.sin(t) + t * torch.cos(t)], 1))
    along_y = torch.tensor([0.0, 1.0, 0.0]).expand(n, 3)
    tangent = torch.stack([along_t, along_y], 1)
    return ManifoldSample(clean + noise * torch.randn(n, 3, generator=g), clean, torch.stack([t, y], 1), tangent)
