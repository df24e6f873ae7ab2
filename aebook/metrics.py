"""Measurements the chapters assert on: reconstruction error, PCA, and angles between subspaces.

Inputs must be floating-point tensors (an integer tensor is a TypeError, never truncated results).
The float64 steps run on the input's device, or on a CPU copy where the device has no float64
(``aebook.devices.float64``); results come back on the input's device and in its dtype.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .devices import all_finite, check_floating, check_same_device, float64, model_device
from .models import eval_mode


def _check_matrix(x: Tensor, name: str = "x") -> None:
    check_floating(x, name)
    if x.ndim != 2 or min(x.shape) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D tensor, got shape {tuple(x.shape)}")


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")


@torch.no_grad()
def per_example_squared_error(model: nn.Module, x: Tensor, batch_size: int = 4096) -> Tensor:
    """||model(x_i) - x_i||^2 summed over features, one value per example: shape (N,), on x's device.

    For a model that outputs reconstructions (not logits). With x = pixel/255 its mean is the
    error in Hinton & Salakhutdinov (2006)'s metric. Batches go to the model's device; a row of x
    holding NaN gets NaN."""
    device = model_device(model)
    _check_matrix(x)
    _check_batch_size(batch_size)
    with eval_mode(model):
        out = [((model(xb.to(device)) - xb.to(device)) ** 2).sum(1).to(x.device) for xb in x.split(batch_size)]
    return torch.cat(out)


@torch.no_grad()
def encode(model: nn.Module, x: Tensor, batch_size: int = 4096) -> Tensor:
    """h = f(x) for a whole data set: (N, D) -> (N, k), in eval mode, in batches on the model's
    device, without gradients, returned on x's device. ``model`` is an ``aebook.Autoencoder``."""
    if not isinstance(model, nn.Module) or not hasattr(model, "encode"):
        raise TypeError(f"model must be an nn.Module with an encode method, got {type(model).__name__}")
    device = model_device(model)
    _check_matrix(x)
    _check_batch_size(batch_size)
    with eval_mode(model):
        return torch.cat([model.encode(xb.to(device)).to(x.device) for xb in x.split(batch_size)])


@torch.no_grad()
def pass_through(model: nn.Module, x: Tensor, sigma: float = 1e-2, n_draws: int = 4, seed: int = 0) -> float:
    """Mean over x and draws of ||r(x + d) - r(x)||^2 / ||d||^2, d ~ N(0, sigma^2 I). DLB §14.1-14.2.

    The fraction of a small perturbation's energy that passes to the output: 1 for the identity,
    k/D on average for an orthogonal projection onto k dimensions, 0 for a constant map; for small
    sigma it is ||J_r(x)||_F^2 / D averaged over x, J_r the Jacobian of the reconstruction.
    x must be finite. The draws come from a CPU generator seeded with ``seed``: the same on every
    device."""
    _check_matrix(x)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma < float("inf"):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive int, got {n_draws!r}")
    if not all_finite(x):
        raise ValueError("x holds NaN or infinite values")
    device = model_device(model)
    x = x.to(device)
    gen = torch.Generator().manual_seed(seed)  # cpu: the same draws on every device
    ratios = []
    with eval_mode(model):
        r = model(x)  # (N, D)
        for _ in range(n_draws):
            # cpu: drawn from the seeded CPU generator, then moved
            d = (sigma * torch.randn(x.shape, generator=gen, dtype=x.dtype)).to(device)  # (N, D)
            ratios.append(((model(x + d) - r) ** 2).sum(1) / (d ** 2).sum(1))  # (N,)
    return float(torch.cat(ratios).mean())


@dataclass(frozen=True)
class PCA:
    """The top-k principal subspace of a data set: ``mean`` (D,), ``components`` (D, k) orthonormal
    columns in order of decreasing variance, ``variances`` (k,)."""
    mean: Tensor
    components: Tensor
    variances: Tensor

    def _check(self, v: Tensor, name: str, width: int) -> None:
        check_floating(v, name)
        if v.ndim != 2 or v.shape[1] != width:
            raise ValueError(f"{name} must be an (N, {width}) tensor, got shape {tuple(v.shape)}")
        check_same_device(**{name: v, "the PCA": self.mean})

    def encode(self, x: Tensor) -> Tensor:
        """Coordinates in the subspace: (N, D) -> (N, k)."""
        self._check(x, "x", self.components.shape[0])
        return (x - self.mean) @ self.components

    def decode(self, h: Tensor) -> Tensor:
        """(N, k) -> (N, D)."""
        self._check(h, "h", self.components.shape[1])
        return h @ self.components.T + self.mean

    def reconstruct(self, x: Tensor) -> Tensor:
        """Orthogonal projection of x onto the affine principal subspace."""
        return self.decode(self.encode(x))


def fit_pca(x: Tensor, k: int) -> PCA:
    """PCA by eigendecomposition of the covariance, in float64; results on x's device, in x's dtype.

    x: (N, D) floating, finite, N >= 2; k at most min(N - 1, D), the number of directions in
    which N centred points can vary (a k-th component beyond it would have variance 0 and an
    arbitrary direction). The D x D covariance costs one pass over the data, much less than an
    SVD of an (N, D) matrix with N >> D (60,000 x 784 MNIST: about 1 s against 10 s on a 2-core CPU)."""
    _check_matrix(x)
    if len(x) < 2:
        raise ValueError(f"x must have at least 2 rows for a covariance, got shape {tuple(x.shape)}")
    most = min(len(x) - 1, x.shape[1])
    if isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= most:
        raise ValueError(f"k must be an int in 1..{most} (at most min(N - 1, D) for x of shape "
                         f"{tuple(x.shape)}), got {k!r}")
    if not all_finite(x):
        raise ValueError("x holds NaN or infinite values")
    x64 = float64(x)
    mean = x64.mean(0)
    centred = x64 - mean
    variances, vectors = torch.linalg.eigh(centred.T @ centred / (len(x) - 1))  # ascending
    variances, vectors = variances.flip(0)[:k], vectors.flip(1)[:, :k]  # the top k, descending

    def back(t: Tensor) -> Tensor:
        return t.contiguous().to(x.device, x.dtype)

    return PCA(back(mean), back(vectors), back(variances.clamp(min=0)))


def principal_angles(a: Tensor, b: Tensor) -> Tensor:
    """Principal angles, in degrees and ascending, between the column spaces of a (D, p) and
    b (D, q): shape (min(p, q),). Batched: a (N, D, p) and b (N, D, q), pair by pair, give
    (N, min(p, q)); put a batch of single vectors (N, D) as (N, D, 1).

    Computed in float64 as arccos of the singular values of Q_a^T Q_b (Björck & Golub 1973),
    returned on a's device in the inputs' dtype; the largest angle is 0 exactly when the smaller
    space lies inside the larger. The columns of each matrix must be linearly independent."""
    for name, m in (("a", a), ("b", b)):
        check_floating(m, name)
        if m.ndim not in (2, 3) or min(m.shape) == 0 or m.shape[-2] < m.shape[-1]:
            raise ValueError(f"{name} must be a non-empty (D, p) or (N, D, p) tensor with p <= D, "
                             f"got shape {tuple(m.shape)}")
    if a.ndim != b.ndim or a.shape[:-1] != b.shape[:-1]:
        raise ValueError(f"a and b must be both (D, .) or both (N, D, .) with one N and D, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    check_same_device(a=a, b=b)
    for name, m in (("a", a), ("b", b)):
        if not all_finite(m):
            raise ValueError(f"{name} holds NaN or infinite values")
        if not bool((torch.linalg.matrix_rank(float64(m)) == m.shape[-1]).all()):
            raise ValueError(f"the columns of {name} must be linearly independent")
    qa, qb = torch.linalg.qr(float64(a))[0], torch.linalg.qr(float64(b))[0]
    s = torch.linalg.svdvals(qa.transpose(-2, -1) @ qb).clamp(-1.0, 1.0)  # descending
    return torch.rad2deg(torch.arccos(s)).to(a.device, torch.promote_types(a.dtype, b.dtype))
