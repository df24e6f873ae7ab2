"""Autoencoders: an encoder f and a decoder g, with h = f(x) and r = g(h) (DLB §14).

Every model in the book is an ``Autoencoder``; chapters differ in what f and g are and in the loss
(``aebook.losses``) that trains them.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn


class Autoencoder(nn.Module):
    """h = f(x), r = g(h). DLB §14; x of shape (N, D), h of shape (N, k)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module) or not isinstance(decoder, nn.Module):
            raise TypeError(f"encoder and decoder must be nn.Module, got "
                            f"{type(encoder).__name__} and {type(decoder).__name__}")
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x: Tensor) -> Tensor:
        """h = f(x): (N, D) -> (N, k)."""
        return self.encoder(x)

    def decode(self, h: Tensor) -> Tensor:
        """r = g(h): (N, k) -> (N, D)."""
        return self.decoder(h)

    def forward(self, x: Tensor) -> Tensor:
        """r = g(f(x)): (N, D) -> (N, D)."""
        return self.decode(self.encode(x))


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU,
        out_activation: type[nn.Module] | None = None) -> nn.Sequential:
    """Linear layers of the given widths, ``activation`` between them, ``out_activation`` after the last.

    ``mlp([784, 256, 32])`` is 784 -> 256 -> ReLU -> 32.
    """
    if not isinstance(sizes, Sequence) or isinstance(sizes, str):
        raise TypeError(f"sizes must be a sequence of layer widths, e.g. [784, 256, 32], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes must be at least two positive ints, got {sizes}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    if out_activation is not None:
        layers.append(out_activation())
    return nn.Sequential(*layers)


def mlp_autoencoder(input_dim: int, hidden: Sequence[int], code_dim: int,
                    activation: type[nn.Module] = nn.ReLU,
                    code_activation: type[nn.Module] | None = None,
                    out_activation: type[nn.Module] | None = nn.Sigmoid) -> Autoencoder:
    """A symmetric MLP autoencoder input_dim -> *hidden -> code_dim -> *reversed(hidden) -> input_dim.

    The default sigmoid output keeps r in [0, 1] like the pixels; pass ``out_activation=None`` for
    logits (used with a Bernoulli decoder, ``aebook.losses.bce_logits``).
    """
    if not isinstance(hidden, Sequence) or isinstance(hidden, str):
        raise TypeError(f"hidden must be a sequence of widths, e.g. [256] (or [] for none), got {hidden!r}")
    hidden = list(hidden)
    encoder = mlp([input_dim, *hidden, code_dim], activation, code_activation)
    decoder = mlp([code_dim, *reversed(hidden), input_dim], activation, out_activation)
    return Autoencoder(encoder, decoder)


class LinearAutoencoder(Autoencoder):
    """h = W_e x + b_e, r = W_d h + b_d: no nonlinearity. Trained with squared error it learns the
    PCA subspace (DLB §14.1; Baldi & Hornik 1989, key ``baldi1989neural``)."""

    def __init__(self, input_dim: int, code_dim: int) -> None:
        if any(isinstance(n, bool) or not isinstance(n, int) for n in (input_dim, code_dim)) or not 0 < code_dim <= input_dim:
            raise ValueError(f"need 0 < code_dim <= input_dim, got code_dim={code_dim}, input_dim={input_dim}")
        super().__init__(nn.Linear(input_dim, code_dim), nn.Linear(code_dim, input_dim))

    @property
    def decoder_weight(self) -> Tensor:
        """W_d, shape (D, k): its columns span the subspace the model reconstructs into."""
        return self.decoder.weight


class TiedDecoder(nn.Module):
    """g(h) = s(W^T h + c), sharing W with the encoder's nn.Linear: the tied weights of DLB §14.7
    that stop the encoder shrinking by eps while the decoder grows by 1/eps."""

    def __init__(self, encoder_linear: nn.Linear, out_activation: nn.Module | None = None) -> None:
        super().__init__()
        if not isinstance(encoder_linear, nn.Linear):
            raise TypeError(f"encoder_linear must be nn.Linear, got {type(encoder_linear).__name__}")
        self.tied = encoder_linear  # registered twice in the model; parameters() counts W once
        w = encoder_linear.weight  # the bias follows W's device and dtype
        self.bias = nn.Parameter(torch.zeros(encoder_linear.in_features, device=w.device, dtype=w.dtype))
        self.out_activation = out_activation or nn.Identity()

    def forward(self, h: Tensor) -> Tensor:
        """(N, k) -> (N, D)."""
        return self.out_activation(h @ self.tied.weight + self.bias)  # (N, k) @ (k, D)


def tied_autoencoder(input_dim: int, code_dim: int, activation: type[nn.Module] | None = nn.Sigmoid,
                     out_activation: type[nn.Module] | None = nn.Sigmoid) -> Autoencoder:
    """h = s(W x + b), r = s_out(W^T h + c): the one-layer CAE of Rifai et al. 2011
    (rifai2011contractive). ``activation=None`` gives a linear encoder."""
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in (input_dim, code_dim)):
        raise ValueError(f"input_dim and code_dim must be positive ints, got {input_dim!r}, {code_dim!r}")
    linear = nn.Linear(input_dim, code_dim)
    encoder = nn.Sequential(linear, activation()) if activation is not None else nn.Sequential(linear)
    decoder = TiedDecoder(linear, out_activation() if out_activation is not None else None)
    return Autoencoder(encoder, decoder)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for a ``with`` block, then restore its train/eval flag, also on error."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
