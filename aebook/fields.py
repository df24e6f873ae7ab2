"""Vector fields in 2-D: what a denoising autoencoder estimates, against the true score.

For Gaussian corruption x_tilde = x + sigma * eps and a squared-error loss, the best reconstruction
function is r*(x) = E[x | x_tilde = x], and Tweedie's formula gives, at EVERY sigma,

    r*(x) - x = sigma^2 * grad log p_sigma(x),   p_sigma = p * N(0, sigma^2 I),

the score of the data density smoothed by the noise. As sigma -> 0, p_sigma -> p and
(r(x) - x) / sigma^2 -> grad log p(x) (DLB §14.5.1; Alain & Bengio 2014, key
``alain2014regularized``). For a mixture of isotropic Gaussians p_sigma is again one, with each
std s_k replaced by sqrt(s_k^2 + sigma^2) (``smoothed_mixture``), so the bias is known exactly.

This module holds a grid helper, the field r(x) - x of a model, the smoothed mixture, two ways to
compare fields (the density-weighted mean cosine, which ignores lengths, and the weighted relative
error, which does not), the range of noise levels where an error stays below a level, the
Jacobian and curl of a field (a gradient field has a symmetric Jacobian and zero curl; a learned
r(x) - x need not, DLB §14.5.1), and the book's quiver figures (also those of DLB §14.6's
manifolds).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Union

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor, nn
from torch.func import jacrev, vmap

from .devices import all_finite, check_floating, check_same_device, float64, model_device
from .models import eval_mode
from .toy import GaussianMixture2D

LogDensity = Union[Callable[[Tensor], Tensor], Tensor]  # log p: a function (M, 2) -> (M,), or values (N,)


def _check_field(v: Tensor, name: str) -> None:
    check_floating(v, name)
    if v.ndim != 2 or v.shape[1] != 2 or len(v) == 0:
        raise ValueError(f"{name} must have shape (N, 2) with N > 0, got {tuple(v.shape)}")


def grid_2d(xlim: tuple[float, float] = (-3.5, 3.5), ylim: tuple[float, float] | None = None,
            n: int = 24, device: torch.device | str | None = None) -> Tensor:
    """An n x n grid of points over xlim x ylim, shape (n * n, 2), x varying fastest, on ``device``
    (default: torch's default device, the CPU).

    Reshape a per-point quantity to (n, n) to get rows of constant y (matplotlib's meshgrid order).
    With limits symmetric about 0, an even n keeps the lines x1 = 0 and x2 = 0 off the grid (and
    with them, e.g., a mode at (2, 0), where the score is nearly 0 and its direction meaningless)."""
    ylim = xlim if ylim is None else ylim
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        if len(lim) != 2 or not -np.inf < lim[0] < lim[1] < np.inf:
            raise ValueError(f"{name} must be (low, high), finite, with low < high, got {lim}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    xs = torch.linspace(*map(float, xlim), n, device=device)
    ys = torch.linspace(*map(float, ylim), n, device=device)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")  # (n, n) each, gx[i, j] = xs[j]
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


@torch.no_grad()
def reconstruction_field(model: nn.Module, x: Tensor) -> Tensor:
    """r(x) - x for a model mapping (N, 2) -> (N, 2); evaluated in eval mode, without gradients.

    For a DAE trained on Gaussian noise this estimates sigma^2 grad log p_sigma(x): DLB §14.5.1,
    Alain & Bengio 2014 (``alain2014regularized``). x goes to the model's device; the field comes
    back on x's device."""
    device = model_device(model)
    _check_field(x, "x")
    with eval_mode(model):
        r = model(x.to(device)).to(x.device)  # (N, 2)
    if r.shape != x.shape:
        raise ValueError(f"model must map (N, 2) to (N, 2), got {tuple(r.shape)}")
    return r - x


def smoothed_mixture(mixture: GaussianMixture2D, sigma: float) -> GaussianMixture2D:
    """p_sigma = p * N(0, sigma^2 I) for an isotropic Gaussian mixture p: each std s_k becomes
    sqrt(s_k^2 + sigma^2), means and weights unchanged. The density whose score a DAE with
    Gaussian noise sigma estimates (DLB §14.5.1; ``alain2014regularized``)."""
    if not isinstance(mixture, GaussianMixture2D):
        raise TypeError(f"mixture must be a GaussianMixture2D, got {type(mixture).__name__}")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma < np.inf:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    return GaussianMixture2D(mixture.means, (mixture.stds ** 2 + sigma ** 2).sqrt(), mixture.weights)


def _check_pair(u: Tensor, v: Tensor, weights: Tensor) -> None:
    """Two finite (N, 2) fields of one shape and finite (N,) weights >= 0, on one device."""
    _check_field(u, "u")
    _check_field(v, "v")
    if u.shape != v.shape:
        raise ValueError(f"u and v must have one shape, got {tuple(u.shape)} and {tuple(v.shape)}")
    if not isinstance(weights, Tensor) or weights.shape != (len(u),):
        raise ValueError(f"weights must be a tensor of shape ({len(u)},), got {getattr(weights, 'shape', weights)}")
    check_same_device(u=u, v=v, weights=weights)
    for name, t in (("u", u), ("v", v), ("weights", weights)):
        if not all_finite(t):  # a NaN vector has no direction: it must not count as cosine 0
            raise ValueError(f"{name} holds NaN or infinite values")
    if bool((weights < 0).any()):
        raise ValueError("weights must be non-negative")


def weighted_mean_cosine(u: Tensor, v: Tensor, weights: Tensor, eps: float = 1e-12) -> float:
    """sum_i w_i cos(u_i, v_i) / sum_i w_i, in [-1, 1]: how well two (N, 2) fields agree in
    direction, weighting each point by w_i (e.g. the density p(x_i)). Magnitudes are ignored.

    Points where either vector is shorter than ``eps`` count as cosine 0; NaN or infinite entries
    are an error. Computed in float64."""
    _check_pair(u, v, weights)
    if not float(weights.sum()) > 0:
        raise ValueError("weights must have a positive sum")
    u, v, w = float64(u), float64(v), float64(weights)
    norms = u.norm(dim=1) * v.norm(dim=1)                                   # (N,)
    cos = torch.where(norms > eps, (u * v).sum(1) / norms.clamp_min(eps), torch.zeros_like(norms))
    return float((w * cos).sum() / w.sum())


def weighted_relative_error(u: Tensor, v: Tensor, weights: Tensor) -> float:
    """sqrt(sum_i w_i ||u_i - v_i||^2 / sum_i w_i ||v_i||^2) >= 0: the weighted RMS error of the
    (N, 2) field u as an estimate of the (N, 2) field v, relative to v's weighted RMS length. Unlike
    the cosine it sees lengths. Used to measure a DAE's field against sigma^2 grad log p_sigma
    (DLB §14.5.1; ``alain2014regularized``)."""
    _check_pair(u, v, weights)
    u, v, w = float64(u), float64(v), float64(weights)
    denominator = (w * (v ** 2).sum(1)).sum()
    if not float(denominator) > 0:
        raise ValueError("v must be non-zero where the weights are positive")
    return float(((w * ((u - v) ** 2).sum(1)).sum() / denominator).sqrt())


def range_below(sigmas: Sequence[float], errors: Sequence[float], level: float) -> tuple[float, float]:
    """The range (low, high) of noise levels over which an error curve stays below ``level``.

    ``sigmas``: increasing positive levels; ``errors``: the error at each (e.g. a DAE field's
    relative error against sigma^2 grad log p). Each end is where the curve crosses ``level``,
    interpolated linearly in (log sigma, log error) between the two grid points around the
    crossing; where the curve is already below ``level`` at the first (last) sigma, that sigma is
    returned, so the range is never extrapolated past the grid. Raises ValueError if no error is
    below ``level``. Used to show that the usable range of sigma widens towards 0 with the
    training budget (DLB §14.5.1; ``alain2014regularized``)."""
    s, e = [float(v) for v in sigmas], [float(v) for v in errors]
    if len(s) != len(e) or len(s) < 2:
        raise ValueError(f"need two or more sigmas and one error each, got {len(s)} and {len(e)}")
    if not all(v > 0 and math.isfinite(v) for v in s + e) or any(b <= a for a, b in zip(s, s[1:])):
        raise ValueError("sigmas must increase, and sigmas and errors must be positive and finite")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not level > 0:
        raise ValueError(f"level must be a positive number, got {level!r}")
    below = [i for i, v in enumerate(e) if v < level]
    if not below:
        raise ValueError(f"no error is below {level}: the smallest is {min(e):.4g}")

    def cross(i: int, j: int) -> float:  # where the segment from point i to point j meets level
        t = (math.log(level) - math.log(e[i])) / (math.log(e[j]) - math.log(e[i]))
        return math.exp(math.log(s[i]) + t * (math.log(s[j]) - math.log(s[i])))

    first, last = below[0], below[-1]
    low = s[0] if first == 0 else cross(first - 1, first)
    high = s[-1] if last == len(s) - 1 else cross(last, last + 1)
    return low, high


def field_jacobian(field: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """J[n, i, j] = d v_i / d x_j at x_n for a 2-D vector field v = field(x), by autograd.

    ``field`` maps (N, 2) to (N, 2) row by row (each output row depends on its own input row
    only): e.g. ``lambda z: model(z) - z`` for a DAE, or a mixture's ``score``. x: (N, 2) ->
    (N, 2, 2), on x's device and dtype, detached. The Jacobian of a gradient field (a score) is a
    Hessian, hence symmetric (DLB §14.5.1)."""
    _check_field(x, "x")
    if not callable(field):
        raise TypeError(f"field must be callable, got {type(field).__name__}")
    jac = vmap(jacrev(lambda z: field(z[None])[0]))(x)  # (N, 2, 2)
    if jac.shape != (len(x), 2, 2):
        raise ValueError(f"field must map (N, 2) to (N, 2), got a Jacobian of shape {tuple(jac.shape)}")
    return jac.detach()


def _check_jacobian(jac: Tensor) -> None:
    if not isinstance(jac, Tensor) or jac.ndim != 3 or jac.shape[1:] != (2, 2) or len(jac) == 0:
        raise ValueError(f"jac must have shape (N, 2, 2) with N > 0, got {getattr(jac, 'shape', jac)}")


def curl(jac: Tensor) -> Tensor:
    """The curl dv_2/dx_1 - dv_1/dx_2 of a 2-D field from its Jacobians (N, 2, 2): shape (N,).

    Zero for a gradient field, whose Jacobian is a symmetric Hessian; a DAE's r(x) - x need not be
    a gradient (DLB §14.5.1; ``alain2014regularized``)."""
    _check_jacobian(jac)
    return jac[:, 1, 0] - jac[:, 0, 1]


def antisymmetric_fraction(jac: Tensor, weights: Tensor) -> float:
    """sqrt(sum_n w_n ||A_n||_F^2 / sum_n w_n ||J_n||_F^2), A = (J - J^T) / 2, in [0, 1].

    The share of the Jacobians (N, 2, 2) that is antisymmetric (rotation), weighting each point by
    w_n >= 0 (e.g. the density). 0 for a gradient field, 1 for a pure rotation; in 2-D,
    ||A||_F^2 = curl^2 / 2. A scale-free measure of how far a field is from being the gradient of
    any function (DLB §14.5.1)."""
    _check_jacobian(jac)
    if not isinstance(weights, Tensor) or weights.shape != (len(jac),):
        raise ValueError(f"weights must be a tensor of shape ({len(jac)},), got {getattr(weights, 'shape', weights)}")
    if (weights < 0).any():
        raise ValueError("weights must be non-negative")
    j, w = jac.double(), weights.to(jac.device).double()
    anti = curl(j) ** 2 / 2                                                  # (N,) ||A||_F^2
    total = (w * (j ** 2).sum((1, 2))).sum()
    if not float(total) > 0:
        raise ValueError("the Jacobians must be non-zero where the weights are positive")
    return float(((w * anti).sum() / total).sqrt())


def _contour_density(ax: Axes, points: Tensor, n: int, log_density: LogDensity) -> None:
    if callable(log_density):
        lo, hi = points.min(0).values, points.max(0).values
        points, n = grid_2d((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])), n=120), 120
        with torch.no_grad():
            log_density = log_density(points.to(lo.dtype))
    if not isinstance(log_density, Tensor) or log_density.shape != (len(points),):
        raise ValueError(f"log_density must be a function (M, 2) -> (M,) or a tensor of shape ({len(points)},), "
                         f"got {getattr(log_density, 'shape', type(log_density).__name__)}")
    p = points.detach().cpu().double().numpy()
    dens = log_density.detach().cpu().double().exp().numpy().reshape(n, n)
    ax.contourf(p[:, 0].reshape(n, n), p[:, 1].reshape(n, n), dens, levels=10, cmap="Blues", alpha=0.8)


def plot_density(log_density: LogDensity, lim: tuple[float, float] = (-3.5, 3.5), ax: Axes | None = None) -> Axes:
    """Filled contours of exp(log_density) over the square lim x lim, for a function (M, 2) -> (M,)."""
    if not callable(log_density):
        raise TypeError(f"log_density must be a function (M, 2) -> (M,), got {type(log_density).__name__}")
    ax = plt.subplots(figsize=(4.5, 4.5))[1] if ax is None else ax
    _contour_density(ax, grid_2d(lim, n=2), 2, log_density)
    ax.set_aspect("equal")
    return ax


def _spacing(p: np.ndarray) -> float:
    """The median distance from a point to its nearest neighbour: the step of a grid_2d grid."""
    d = np.linalg.norm(p[:, None] - p[None], axis=-1) + np.diag(np.full(len(p), np.inf))
    return float(np.median(d.min(1))) if len(p) > 1 else 1.0


def plot_field(points: Tensor, field: Tensor, ax: Axes | None = None, log_density: LogDensity | None = None,
               title: str | None = None, scale: float | None = None, color: str = "C3",
               curve: Tensor | None = None) -> Axes:
    """Quiver plot of a (N, 2) field, e.g. r(x) - x (DLB §14.5.1, §14.6), at (N, 2) points.

    Arrows are drawn in data units times ``scale``: ``scale=1`` shows true lengths (where r sends
    each point); the default makes the longest arrow 1.5 times the points' spacing (the grid step
    of ``grid_2d``). Pass one ``scale`` to compare panels. Drawn over, if given: the filled
    contours of exp(log_density), a function (M, 2) -> (M,) drawn on a fine 120 x 120 grid or a
    tensor (N,) of values at ``points`` (then an n x n grid from ``grid_2d``); and a manifold
    ``curve`` (M, 2) as grey dots."""
    _check_field(points, "points")
    _check_field(field, "field")
    if field.shape != points.shape:
        raise ValueError(f"field {tuple(field.shape)} and points {tuple(points.shape)} must match")
    p, f = points.detach().cpu().double().numpy(), field.detach().cpu().double().numpy()
    if scale is None:
        scale = 1.5 * _spacing(p) / max(float(np.linalg.norm(f, axis=1).max()), 1e-12)
    ax = plt.subplots(figsize=(4.5, 4.5))[1] if ax is None else ax
    if log_density is not None:
        n = int(round(len(points) ** 0.5))
        if not callable(log_density) and n * n != len(points):
            raise ValueError(f"a tensor log_density needs an n x n grid of points from grid_2d, got {len(points)}")
        _contour_density(ax, points, n, log_density)
    if curve is not None:
        _check_field(curve, "curve")
        ax.scatter(*curve.detach().cpu().double().numpy().T, s=1, color="0.6", rasterized=True)
    ax.quiver(p[:, 0], p[:, 1], scale * f[:, 0], scale * f[:, 1], color=color,
              angles="xy", scale_units="xy", scale=1, width=0.004)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def plot_fields(points: Tensor, fields: dict[str, Tensor], log_density: LogDensity | None = None,
                axes: list[Axes] | np.ndarray | None = None) -> list[Axes]:
    """Side-by-side quiver plots of several (N, 2) fields on one grid, all drawn to ONE arrow scale
    (the longest arrow of all is 1.5 grid steps), so lengths compare across panels. ``axes``: one
    per field, or None for a new row of panels. Returns the axes."""
    if not isinstance(fields, dict) or not fields:
        raise ValueError("fields must be a non-empty dict {title: (N, 2) field}")
    for title, f in fields.items():
        _check_field(f, f"field {title!r}")
    _check_field(points, "points")
    if axes is None:
        axes = plt.subplots(1, len(fields), figsize=(4.2 * len(fields), 4.2), squeeze=False)[1][0]
    axes = list(np.ravel(axes))
    if len(axes) != len(fields):
        raise ValueError(f"need one axes per field: {len(fields)} fields, {len(axes)} axes")
    n = int(round(len(points) ** 0.5))
    step = float((points[:, 0].max() - points[:, 0].min()) / max(n - 1, 1))
    longest = max(float(f.norm(dim=1).max()) for f in fields.values())
    scale = 1.5 * step / max(longest, 1e-12)
    for ax, (title, f) in zip(axes, fields.items()):
        plot_field(points, f, ax=ax, log_density=log_density, title=title, scale=scale)
    return axes
