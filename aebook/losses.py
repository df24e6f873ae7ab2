"""Reconstruction losses, as negative log-likelihoods of a decoder distribution (DLB §14.4).

Reduction, everywhere in the book: **sum over the features of one example, mean over the batch**.
That is the per-example negative log-likelihood, the quantity papers report (e.g. Hinton &
Salakhutdinov 2006's squared error per image). ``torch.nn.functional.mse_loss`` defaults to the
mean over every pixel instead, which is 784x smaller on MNIST: the source of many mismatched
"loss" figures and badly weighted penalties in tutorials.

A training loss for ``aebook.training.fit`` is any function ``loss(model, x) -> scalar``; the
functions here that take ``model`` are of that form, so chapters can add penalties to them.

Checks. These run on every batch, so they check only what costs no device sync: types, float
dtypes, shapes and devices. NaN in r or x gives a NaN loss (``fit`` rejects NaN data once, before
training). The Bernoulli losses need targets in [0, 1]; ``check_unit_interval`` checks that where
it is free, on CPU tensors, and is a no-op on accelerators, where it would stall every batch.
"""
from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from .devices import check_floating, check_same_device, has_values

# A training loss: loss(model, x) -> scalar tensor, what aebook.training.fit minimises.
LossFn = Callable[[nn.Module, Tensor], Tensor]


def _check_pair(a: Tensor, x: Tensor, a_name: str) -> None:
    check_floating(a, a_name)
    check_floating(x, "x")
    if a.shape != x.shape or a.ndim != 2 or len(x) == 0:
        raise ValueError(f"expected {a_name} and x, two non-empty (N, D) tensors of one shape, got "
                         f"{tuple(a.shape)} and {tuple(x.shape)}")
    check_same_device(**{a_name: a, "x": x})


def check_unit_interval(x: Tensor, name: str = "x") -> None:
    """ValueError if a CPU tensor has a value outside [0, 1] (NaN included): Bernoulli targets.

    One pass (``aminmax``), no device sync: on other devices it checks nothing."""
    if has_values(x) and x.numel():
        lo, hi = x.aminmax()
        if not (lo >= 0 and hi <= 1):
            raise ValueError(f"{name} must lie in [0, 1] (Bernoulli targets), got values in "
                             f"[{float(lo):.4g}, {float(hi):.4g}]")


def sum_squared_error(r: Tensor, x: Tensor) -> Tensor:
    """||r - x||^2 summed over features, averaged over the batch: scalar.

    Equals -log N(x; r, I/2) up to a constant: the Gaussian decoder's loss."""
    _check_pair(r, x, "r")
    return ((r - x) ** 2).sum(dim=1).mean()


def bce_logits(logits: Tensor, x: Tensor) -> Tensor:
    """-log Bernoulli(x; sigmoid(logits)) summed over features, averaged over the batch: scalar.

    Targets ``x`` in [0, 1]; grey pixels are allowed (the cross-entropy is then not zero at best).
    Targets outside [0, 1] are an error on the CPU (see the module docstring)."""
    _check_pair(logits, x, "logits")
    check_unit_interval(x)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1).mean()


def squared_error(model: nn.Module, x: Tensor) -> Tensor:
    """Training loss: ``sum_squared_error(model(x), x)``, for decoders that output r itself."""
    check_floating(x, "x")
    return sum_squared_error(model(x), x)


def bernoulli_nll(model: nn.Module, x: Tensor) -> Tensor:
    """Training loss: ``bce_logits(model(x), x)``, for decoders that output logits."""
    check_floating(x, "x")
    return bce_logits(model(x), x)

