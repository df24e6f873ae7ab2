"""Layer size and depth: MLP autoencoders at a target parameter count (DLB §14.3).

DLB §14.3 (Goodfellow et al. 2016, key ``goodfellow2016deep``) contrasts a *shallow* autoencoder,
whose encoder maps the input to the code in a single layer, with a *deep* one, which has at least
one hidden layer inside the encoder, and cites Hinton & Salakhutdinov (2006, key
``hinton2006reducing``) for deep autoencoders compressing far better than shallow or linear ones.
Comparing depths fairly means comparing them at the same number of parameters and code size; this
module builds such networks, initialises them for ReLU units, and measures how a signal's scale
changes through the layers (the obstacle that greedy layer-wise pretraining, Bengio et al. 2007,
key ``bengio2007greedy``, was invented to get around).

Shapes: ``x`` is (N, input_dim), ``h`` is (N, code_dim); the networks built here output *logits*
(N, input_dim), trained with ``aebook.losses.bernoulli_nll``; ``sigmoid_output`` turns one into a
model that outputs reconstructions r in (0, 1), which ``aebook.metrics.per_example_squared_error``
expects.
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from torch import Tensor, nn

from .devices import check_floating, model_device
from .models import Autoencoder, eval_mode, mlp_autoencoder

PAPER_HIDDEN = (1000, 500, 250)  # the MNIST encoder of Hinton & Salakhutdinov (2006), before the code
PAPER_CODE_DIM = 30


def _check_sizes(input_dim: int, hidden: Sequence[int], code_dim: int) -> list[int]:
    hidden = list(hidden)
    for name, v in (("input_dim", input_dim), ("code_dim", code_dim), *(("hidden", h) for h in hidden)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be positive ints, got {v!r}")
    return hidden


def autoencoder_parameters(input_dim: int, hidden: Sequence[int], code_dim: int) -> int:
    """Parameters (weights and biases) of ``mlp_autoencoder(input_dim, hidden, code_dim)``, in closed form.

    DLB §14.3 compares depths at equal parameter counts; this is the count. Encoder widths
    [D, *hidden, k], decoder widths [k, *reversed(hidden), D]; a layer a -> b has a*b + b."""
    hidden = _check_sizes(input_dim, hidden, code_dim)
    widths = [input_dim, *hidden, code_dim, *reversed(hidden), input_dim]
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def _widths(first: int, shape: Sequence[float]) -> list[int]:
    return [max(1, round(first * r / shape[0])) for r in shape]


def hidden_for_budget(budget: int, shape: Sequence[float], input_dim: int = 784,
                      code_dim: int = PAPER_CODE_DIM) -> list[int]:
    """Hidden widths in proportion to ``shape`` whose autoencoder has the parameter count closest to ``budget``.

    DLB §14.3: compares depths at an equal parameter count. ``shape=(1,)`` gives one hidden layer,
    ``(1, 1, 1)`` three equal ones, ``(4, 2, 1)`` Hinton & Salakhutdinov's 1000-500-250 taper. The
    first width is searched over the integers (the count grows with it), the others are rounded
    from it, so the count matches ``budget`` to within about one first-layer unit (~1,600 here)."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive int, got {budget!r}")
    shape = list(shape)
    if not shape or any(not isinstance(r, (int, float)) or isinstance(r, bool) or r <= 0 for r in shape):
        raise ValueError(f"shape must be a non-empty sequence of positive numbers, got {shape!r}")
    _check_sizes(input_dim, [], code_dim)

    def count(first: int) -> int:
        return autoencoder_parameters(input_dim, _widths(first, shape), code_dim)

    if count(1) > budget:
        raise ValueError(f"budget {budget} is below the smallest such network ({count(1)} parameters)")
    lo, hi = 1, 2
    while count(hi) <= budget:  # the count is nondecreasing in the first width
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # invariant: count(lo) <= budget < count(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if count(mid) <= budget else (lo, mid)
    best = min((lo, hi), key=lambda w: abs(count(w) - budget))
    return _widths(best, shape)


def he_init_(model: nn.Module) -> nn.Module:
    """In place: every ``nn.Linear`` gets weights N(0, 2 / fan_in) and zero biases; returns ``model``.

    Variance-preserving initialisation for ReLU units (He et al. 2015): a ReLU halves the second
    moment of a zero-mean pre-activation, and the factor 2 / fan_in restores it, so the signal
    keeps its scale through any number of layers. PyTorch's default (uniform, variance
    1 / (3 fan_in)) shrinks its variance about 6-fold per ReLU layer (DLB §8.4)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("model has no nn.Linear layer to initialise")
    for layer in linears:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return model


def budget_autoencoder(budget: int, shape: Sequence[float], input_dim: int = 784,
                       code_dim: int = PAPER_CODE_DIM, activation: type[nn.Module] = nn.ReLU,
                       init: str = "he") -> Autoencoder:
    """A symmetric MLP autoencoder with hidden widths ``hidden_for_budget(budget, shape, ...)``.

    DLB §14.3. ReLU hidden units, a linear code (as in Hinton & Salakhutdinov 2006) and a linear
    output layer: it returns logits, for ``aebook.losses.bernoulli_nll``. ``init="he"`` applies
    ``he_init_``; ``"default"`` keeps PyTorch's initialisation."""
    if init not in ("he", "default"):
        raise ValueError(f"init must be 'he' or 'default', got {init!r}")
    hidden = hidden_for_budget(budget, shape, input_dim, code_dim)
    model = mlp_autoencoder(input_dim, hidden, code_dim, activation=activation, out_activation=None)
    return he_init_(model) if init == "he" else model


def sigmoid_output(model: Autoencoder) -> Autoencoder:
    """The same autoencoder (shared modules, no copy) with r = sigmoid(logits): the Bernoulli mean.

    For reporting a logit model's squared error (Hinton & Salakhutdinov 2006's metric)."""
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model must be an aebook Autoencoder, got {type(model).__name__}")
    return Autoencoder(model.encoder, nn.Sequential(model.decoder, nn.Sigmoid()))  # (N, D) in (0, 1)


@torch.no_grad()
def signal_spread(model: Autoencoder, x: Tensor) -> Tensor:
    """How much the output of each ``nn.Linear`` (encoder, then decoder) varies with the input: (L,).

    For layer l with outputs a (N, m) on the batch x (N, D): sqrt(mean over units of the variance
    over examples). A constant layer output has spread 0, and a network whose spread collapses
    with depth outputs nearly the same thing for every input: the plateau that made deep networks
    hard to train from a small random initialisation (DLB §8.4, §14.3; Bengio et al. 2007).
    x goes to the model's device; the spreads come back on x's device."""
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model must be an aebook Autoencoder, got {type(model).__name__}")
    check_floating(x, "x")
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"x must be an (N, D) tensor with N >= 2, got shape {tuple(x.shape)}")
    device = model_device(model)
    out: list[Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, a: out.append(a.var(dim=0).mean().sqrt()))  # a: (N, m)
             for part in (model.encoder, model.decoder) for m in part.modules() if isinstance(m, nn.Linear)]
    if not hooks:
        raise ValueError("model has no nn.Linear layer")
    try:
        with eval_mode(model):
            model(x.to(device))
    finally:
        for hook in hooks:
            hook.remove()
    return torch.stack(out).to(x.device)


def plot_error_vs_parameters(families: dict[str, tuple[Sequence[int], Sequence[float]]],
                             baselines: dict[str, tuple[int, float]] | None = None,
                             ax: Axes | None = None) -> Axes:
    """Test error against parameter count: one line per family, one marker per fixed-size baseline.

    ``families``: {name: (parameter counts, errors)}; ``baselines``: {name: (parameters, error)},
    each also drawn as a dotted horizontal line for comparison across budgets (DLB §14.3)."""
    baselines = baselines or {}
    for name, pair in families.items():
        if len(pair) != 2 or len(pair[0]) != len(pair[1]) or len(pair[0]) == 0:
            raise ValueError(f"family {name!r} needs two equal-length, non-empty sequences, got {pair!r}")
    ax = plt.subplots(figsize=(5.5, 3.5))[1] if ax is None else ax
    for i, (name, (params, errors)) in enumerate(families.items()):
        ax.plot(params, errors, "o-", color=f"C{i}", label=name)
    for j, (name, (params, error)) in enumerate(baselines.items(), start=len(families)):
        ax.plot([params], [error], "s", color=f"C{j}", label=name)
        ax.axhline(error, color=f"C{j}", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test squared error per image")
    ax.legend(frameon=False, fontsize="small")
    return ax
