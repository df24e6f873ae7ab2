"""Sparse autoencoders: sparsity penalties on the code h, the losses that train with them, and the
measurements of chapter 14.2 (DLB §14.2, §14.2.1; Goodfellow et al. 2016, key ``goodfellow2016deep``).

A sparse autoencoder minimises L(x, g(f(x))) + Omega(h) with a penalty Omega on the *code*
h = f(x), not on the weights (DLB eq. 14.2). Two penalties:

- L1, Omega(h) = lam * sum_i |h_i|: minus the log of a Laplace prior on each h_i, up to a constant
  (DLB eqs. 14.6-14.7);
- KL, Omega(h) = beta * sum_j KL(rho || rho_hat_j), rho_hat_j the mean of sigmoid unit j over the
  batch (Ng 2011, key ``ng2011sparse``).

Reductions. A penalty of single examples (L1, the Laplace prior) is **summed over the code units
of an example and averaged over the batch**, like the reconstruction losses of ``aebook.losses``,
so ``loss = error per image + penalty per image``. The KL penalty is not a per-example quantity: it
is a function of the batch means rho_hat_j, **summed over the units**, once per batch.

The L1 penalty on h is not invariant to a rescaling: with a ReLU code, f -> c f and g(h) -> g(h/c)
(c > 0) leave r unchanged and multiply Omega by c, so c -> 0 dodges the penalty without any
sparsity. ``sparse_autoencoder`` closes this loophole by normalising each decoder column to unit
length (``UnitNormLinear``), as sparse coding does.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .devices import all_finite, check_floating, float64, has_values
from .losses import LossFn, sum_squared_error
from .models import Autoencoder


def _check_codes(h: Tensor, name: str = "h") -> None:
    check_floating(h, name)
    if h.ndim != 2 or min(h.shape) == 0:
        raise ValueError(f"{name} must be a non-empty (N, k) tensor of codes, got shape {tuple(h.shape)}")


def _check_positive(value: float, name: str, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value!r}")


def _check_rho(rho: float) -> None:
    _check_positive(rho, "rho")
    if not rho < 1:
        raise ValueError(f"rho must lie in (0, 1), got {rho!r}")


def l1_penalty(h: Tensor, lam: float) -> Tensor:
    """lam * sum_i |h_i|: summed over the k units, averaged over the batch; scalar. DLB §14.2.1."""
    _check_codes(h)
    _check_positive(lam, "lam", allow_zero=True)
    return lam * h.abs().sum(dim=1).mean()  # (N, k) -> (N,) -> ()


def laplace_neg_log_prior(h: Tensor, lam: float) -> Tensor:
    """-log prod_i Laplace(h_i; 0, 1/lam) = sum_i (lam |h_i| - log(lam / 2)), averaged over the batch.

    DLB eq. 14.7: the L1 penalty plus a constant that does not depend on h (or on the weights)."""
    _check_codes(h)
    _check_positive(lam, "lam")
    return l1_penalty(h, lam) - h.shape[1] * math.log(lam / 2)


def bernoulli_kl(rho: float, rho_hat: Tensor) -> Tensor:
    """KL(Bernoulli(rho) || Bernoulli(rho_hat)) elementwise, for rho_hat in (0, 1). Ng 2011, §2.3."""
    _check_rho(rho)
    if not isinstance(rho_hat, Tensor):
        raise TypeError(f"rho_hat must be a torch.Tensor, got {type(rho_hat).__name__}")
    check_floating(rho_hat, "rho_hat")
    if rho_hat.numel() and has_values(rho_hat) and not bool(((rho_hat > 0) & (rho_hat < 1)).all()):
        raise ValueError("rho_hat must lie strictly inside (0, 1)")
    return rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))


def kl_sparsity_penalty(h: Tensor, rho: float, beta: float = 1.0, eps: float = 1e-6) -> Tensor:
    """beta * sum_j KL(rho || rho_hat_j), rho_hat_j = mean of h_j over the batch; scalar. Ng 2011.

    For codes in [0, 1] (sigmoid units). Reduction: a batch statistic, summed over the k units (not
    a mean over examples). rho_hat is clamped to [eps, 1 - eps] so the penalty stays finite. The
    range of h is checked on CPU tensors only: elsewhere it would cost a device sync per batch."""
    _check_codes(h)
    _check_rho(rho)
    _check_positive(beta, "beta", allow_zero=True)
    if has_values(h) and not bool(((h >= 0) & (h <= 1)).all()):
        raise ValueError("the KL penalty needs codes h in [0, 1] (e.g. sigmoid units), without NaN")
    rho_hat = h.mean(dim=0).clamp(eps, 1 - eps)  # (N, k) -> (k,)
    return beta * bernoulli_kl(rho, rho_hat).sum()


def _encode_decode(model: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model must be an aebook Autoencoder (with encode/decode), got {type(model).__name__}")
    h = model.encode(x)
    return h, model.decode(h)


def l1_loss(lam: float, error: Callable[[Tensor, Tensor], Tensor] = sum_squared_error) -> LossFn:
    """Training loss ``loss(model, x) = error(g(h), x) + lam * sum_i |h_i|``, h = f(x). DLB §14.2.1.

    Both terms are summed over features (pixels, units) and averaged over the batch."""
    _check_positive(lam, "lam", allow_zero=True)

    def loss(model: nn.Module, x: Tensor) -> Tensor:
        h, r = _encode_decode(model, x)
        return error(r, x) + l1_penalty(h, lam)
    return loss


def kl_loss(rho: float, beta: float = 1.0,
            error: Callable[[Tensor, Tensor], Tensor] = sum_squared_error) -> LossFn:
    """Training loss ``error(g(h), x) + beta * sum_j KL(rho || rho_hat_j)``. Ng 2011.

    The error is summed over pixels and averaged over the batch; the KL term is one batch statistic."""
    _check_rho(rho)
    _check_positive(beta, "beta", allow_zero=True)

    def loss(model: nn.Module, x: Tensor) -> Tensor:
        h, r = _encode_decode(model, x)
        return error(r, x) + kl_sparsity_penalty(h, rho, beta)
    return loss


class UnitNormLinear(nn.Linear):
    """A linear layer whose weight columns are normalised to unit length: y = W diag(1/||w_j||) h + b.

    As a decoder, column j is the image unit j adds per unit of h_j, so |h_j| measures its
    contribution and an L1 penalty on h cannot be dodged by shrinking h and growing W."""

    def normalized_weight(self) -> Tensor:
        """W with unit-norm columns: (out, in)."""
        return self.weight * self._inverse_norms()

    def _inverse_norms(self) -> Tensor:
        return self.weight.square().sum(dim=0).clamp_min(1e-24).rsqrt()  # (in,)

    def forward(self, h: Tensor) -> Tensor:
        # W diag(s) h = W (s * h): scaling h (N, in) is cheaper than building the normalised W.
        return F.linear(h * self._inverse_norms(), self.weight, self.bias)


def sparse_autoencoder(input_dim: int, code_dim: int, code_activation: type[nn.Module] = nn.ReLU,
                       unit_norm_decoder: bool = True) -> Autoencoder:
    """One-layer autoencoder h = act(W_e x + b_e), r = W_d h + b_d (linear output). DLB §14.2.1.

    x: (N, input_dim) -> h: (N, code_dim) -> r: (N, input_dim). ``unit_norm_decoder`` uses
    ``UnitNormLinear`` for W_d. With a ReLU code this does not restrict the functions the model can
    represent (ReLU is positively homogeneous: the encoder absorbs any column scale); it only pins
    the scale of h on which a penalty is measured."""
    for name, v in (("input_dim", input_dim), ("code_dim", code_dim)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    decoder = UnitNormLinear(code_dim, input_dim) if unit_norm_decoder else nn.Linear(code_dim, input_dim)
    return Autoencoder(nn.Sequential(nn.Linear(input_dim, code_dim), code_activation()), decoder)


def decoder_filters(model: Autoencoder) -> Tensor:
    """The decoder's columns, one row per code unit: (k, D), the image each unit adds to r.

    The "filters" of DLB §14.2.1 / Ranzato et al. 2007 (key ``ranzato2007efficient``), detached,
    on the model's device."""
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model must be an aebook Autoencoder, got {type(model).__name__}")
    layer = model.decoder
    if isinstance(layer, UnitNormLinear):
        return layer.normalized_weight().detach().T
    if isinstance(layer, nn.Linear):
        return layer.weight.detach().T
    raise TypeError(f"decoder_filters needs a single linear decoder layer, got {type(layer).__name__}")


def filter_spread(filters: Tensor) -> Tensor:
    """Participation ratio of each filter's energy, (sum w^2)^2 / (D sum w^4): (k, D) -> (k,).

    The fraction of the D pixels a filter effectively uses: 1 for a flat filter, 1/D for one pixel,
    1/3 on average for Gaussian white noise. Local, stroke-like filters score low: the locality of
    sparse features (DLB §14.2.1; Ranzato et al. 2007, key ``ranzato2007efficient``)."""
    _check_codes(filters, "filters")
    w2 = float64(filters) ** 2  # float64 on the device, or on a CPU copy where it has none
    return (w2.sum(1) ** 2 / (filters.shape[1] * (w2 ** 2).sum(1)).clamp_min(1e-300)).to(filters.device, filters.dtype)


def fraction_inactive(h: Tensor, threshold: float = 1e-3) -> float:
    """Fraction of the N*k activations with |h| <= threshold: the sparsity of a code, DLB §14.2.1.
    h must be finite (a NaN activation is neither zero nor active)."""
    _check_codes(h)
    _check_positive(threshold, "threshold", allow_zero=True)
    if not all_finite(h):
        raise ValueError("h holds NaN or infinite values")
    return int((h.abs() <= threshold).sum()) / h.numel()


def mean_activation(h: Tensor) -> Tensor:
    """rho_hat: the mean activation of each unit over the data, (N, k) -> (k,). Ng 2011, §2.3."""
    _check_codes(h)
    return h.mean(dim=0)
