"""Reconstruction losses, as negative log-likelihoods of a decoder distribution (DLB §14.4).

Reduction, everywhere in the book: **sum over the features of one example, mean over the batch**.
That is the per-example negative log-likelihood, the quantity papers report (e.g. Hinton &
Salakhutdinov 2006's squared error per image). ``torch.nn.functional.mse_loss`` defaults to the
mean over every pixel instead, which is 784x smaller on MNIST: the source of many mismatched
"loss" figures and badly weighted penalties in tutorials.

A training loss for ``aebook.training.fit`` is any function ``loss(model, x) -> scalar``; the
functions here that take ``model`` are of that form, so chapters can add penalties to them.
"""
from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

# A training loss: loss(model, x) -> scalar tensor, what aebook.training.fit minimises.
LossFn = Callable[[nn.Module, Tensor], Tensor]


def _check_pair(a: Tensor, x: Tensor) -> None:
    if not isinstance(a, Tensor) or not isinstance(x, Tensor):
        raise TypeError(f"expected tensors, got {type(a).__name__} and {type(x).__name__}")
    if a.shape != x.shape or a.ndim != 2:
        raise ValueError(f"expected two (N, D) tensors of one shape, got {tuple(a.shape)} and {tuple(x.shape)}")


def sum_squared_error(r: Tensor, x: Tensor) -> Tensor:
    """||r - x||^2 summed over features, averaged over the batch: scalar.

    Equals -log N(x; r, I/2) up to a constant: the Gaussian decoder's loss."""
    _check_pair(r, x)
    return ((r - x) ** 2).sum(dim=1).mean()


def bce_logits(logits: Tensor, x: Tensor) -> Tensor:
    """-log Bernoulli(x; sigmoid(logits)) summed over features, averaged over the batch: scalar.

    Targets ``x`` in [0, 1]; grey pixels are allowed (the cross-entropy is then not zero at best)."""
    _check_pair(logits, x)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1).mean()


def squared_error(model: nn.Module, x: Tensor) -> Tensor:
    """Training loss: ``sum_squared_error(model(x), x)``, for decoders that output r itself."""
    return sum_squared_error(model(x), x)


def bernoulli_nll(model: nn.Module, x: Tensor) -> Tensor:
    """Training loss: ``bce_logits(model(x), x)``, for decoders that output logits."""
    return bce_logits(model(x), x)

