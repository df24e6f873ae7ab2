"""Corruption processes C(x_tilde | x) and the denoising autoencoder's training loss.

A denoising autoencoder (DAE) is trained to reconstruct the *clean* x from a corrupted copy
x_tilde ~ C(x_tilde | x) (DLB §14.2.2 and §14.5; Vincent et al. 2008, key ``vincent2008extracting``;
Vincent et al. 2010, key ``vincent2010stacked``):

    L = -log p_decoder(x | h = f(x_tilde)).

The three corruptions below are those of Vincent et al. (2010, §4.2). Each is a plain function
``corrupt(x, <level>, generator=None) -> x_tilde`` on a batch x of shape (N, D) that returns a new
tensor and leaves x untouched. Without a generator the noise comes from torch's global generator
(which ``aebook.fit`` seeds); with one it comes from that generator, which must live on x's device.
Levels must be finite numbers in range (a NaN level is an error). x must be floating; its values
are not checked (that would cost a device sync per batch): NaN entries stay NaN unless replaced.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .devices import check_floating
from .losses import LossFn, sum_squared_error

Corruption = Callable[..., Tensor]   # corrupt(x, generator=None) -> x_tilde, (N, D) -> (N, D)
Recon = Callable[[Tensor, Tensor], Tensor]  # recon(model_output, x) -> scalar


def _check(x: Tensor, generator: torch.Generator | None) -> None:
    check_floating(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must be an (N, D) batch, got shape {tuple(x.shape)}")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        if generator.device.type != x.device.type:
            raise ValueError(f"generator is on {generator.device}, x on {x.device}: they must match")


def _check_level(name: str, value: float, upper: float | None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0 <= value <= (upper if upper is not None else float("inf")) or value == float("inf"):
        bound = f"[0, {upper}]" if upper is not None else ">= 0 and finite"
        raise ValueError(f"{name} must be in {bound}, got {value}")


def _uniform(x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)  # (N, D)


def additive_gaussian(x: Tensor, sigma: float, generator: torch.Generator | None = None) -> Tensor:
    """x_tilde = x + sigma * eps, eps ~ N(0, I): C(x_tilde | x) = N(x, sigma^2 I). Not clipped.

    DLB §14.5.1; the corruption of Vincent et al. 2010 (``vincent2010stacked``) and Alain & Bengio
    2014 (``alain2014regularized``). x: (N, D) -> (N, D)."""
    _check(x, generator)
    _check_level("sigma", sigma, None)
    eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)  # (N, D)
    return x + sigma * eps


def masking(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Masking noise: each entry independently set to 0 with probability p, else kept.

    DLB §14.2.2; Vincent et al. 2008 (``vincent2008extracting``). Unlike dropout it does NOT
    rescale the kept entries by 1/(1-p). x: (N, D) -> (N, D)."""
    _check(x, generator)
    _check_level("p", p, 1.0)
    return torch.where(_uniform(x, generator) < p, torch.zeros_like(x), x)


def salt_and_pepper(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Salt-and-pepper noise: each entry independently, with probability p, replaced by 0 or 1
    (a fair coin decides which); otherwise kept. Assumes entries in [0, 1].

    DLB §14.2.2; Vincent et al. 2010 (``vincent2010stacked``). x: (N, D) -> (N, D)."""
    _check(x, generator)
    _check_level("p", p, 1.0)
    hit = _uniform(x, generator) < p                        # (N, D) which entries are replaced
    salt = (_uniform(x, generator) < 0.5).to(x.dtype)      # (N, D) 1 (salt) or 0 (pepper)
    return torch.where(hit, salt, x)


def denoising_loss(corrupt: Corruption, recon: Recon = sum_squared_error,
                   generator: torch.Generator | None = None) -> LossFn:
    """The DAE training loss ``loss(model, x) = recon(model(corrupt(x)), x)``, DLB §14.2.2 and §14.5.

    The model sees x_tilde = corrupt(x) (fresh noise at every call) and is scored against the CLEAN
    x. ``recon`` is -log p_decoder(x | h) up to a constant, with the book's reduction: SUM over the
    features of an example, MEAN over the batch. Its default ``sum_squared_error`` is the Gaussian
    decoder's; ``aebook.bce_logits`` (for a decoder that outputs logits) is the Bernoulli decoder's.
    ``corrupt`` is called as ``corrupt(x, generator=generator)``, e.g.
    ``functools.partial(masking, p=0.25)``. Vincent et al. 2008 (``vincent2008extracting``).
    """
    if not callable(corrupt) or not callable(recon):
        raise TypeError(f"corrupt and recon must be callables, got {type(corrupt).__name__} "
                        f"and {type(recon).__name__}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")

    def loss(model: nn.Module, x: Tensor) -> Tensor:
        x_tilde = corrupt(x, generator=generator)  # (N, D)
        if x_tilde.shape != x.shape:
            raise ValueError(f"corrupt changed the shape: {tuple(x.shape)} -> {tuple(x_tilde.shape)}")
        return recon(model(x_tilde), x)            # target: the clean x

    return loss
