"""Layer size and depth: MLP autoencoders at a target parameter count (DLB §14.3).

DLB §14.3 (Goodfellow et al. 2016, key ``goodfellow2016deep``) contrasts a *shallow* autoencoder,
whose encoder maps the input to the code in a single layer, with a *deep* one, which has at least
one hidden layer inside the encoder, and cites Hinton & Salakhutdinov (2006, key
``hinton2006reducing``) for deep autoencoders compressing far better than shallow or linear ones.
Comparing depths fairly means comparing them at the same number of parameters and code size; this
module builds such networks, initialises them for ReLU units, and measures how a signal's scale
changes through the layers (the obstacle that greedy layer-wise pretraining, Bengio et al. 2007,
key ``bengio2007greedy``, was invented to get around).
It also makes data on which depth pays: ``deep_generator`` is a fixed random deep network from a
low-dimensional code to the data, and ``sample_generator`` draws data from it.

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
from .models import Autoencoder, eval_mode, mlp, mlp_autoencoder

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


def paper_autoencoder(batch_norm: bool = True) -> Autoencoder:
    """Hinton & Salakhutdinov's (2006, key ``hinton2006reducing``) MNIST network,
    784-1000-500-250-30-250-500-1000-784, for training from scratch (DLB §14.3): ReLU hidden
    units, a linear code, logits out (for ``aebook.losses.bernoulli_nll``), He initialisation.

    ``batch_norm=True`` puts ``nn.BatchNorm1d`` between each hidden linear layer and its ReLU (not
    after the code or the output): with it the network trains at a 20-fold larger learning rate.
    Batch norm makes a code depend on the other rows of a training batch; in ``eval_mode`` it
    uses running averages, so each row's code is its own."""
    if not isinstance(batch_norm, bool):
        raise TypeError(f"batch_norm must be a bool, got {type(batch_norm).__name__}")

    def stack(sizes: list[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:  # a hidden layer; the code and the output stay linear
                layers += [nn.BatchNorm1d(b)] if batch_norm else []
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    sizes = [784, *PAPER_HIDDEN, PAPER_CODE_DIM]
    return he_init_(Autoencoder(stack(sizes), stack(sizes[::-1])))


def budget_autoencoder(budget: int, shape: Sequence[float], input_dim: int = 784,
                       code_dim: int = PAPER_CODE_DIM, activation: type[nn.Module] = nn.ReLU,
                       init: str = "he") -> Autoencoder:
    """A symmetric MLP autoencoder with hidden widths ``hidden_for_budget(budget, shape, ...)``.

    DLB §14.3. ReLU hidden units, a linear code (as in Hinton & Salakhutdinov 2006) and a linear
    output layer: logits for ``aebook.losses.bernoulli_nll``, or real values for the squared error. ``init="he"`` applies
    ``he_init_``; ``"default"`` keeps PyTorch's initialisation."""
    if init not in ("he", "default"):
        raise ValueError(f"init must be 'he' or 'default', got {init!r}")
    hidden = hidden_for_budget(budget, shape, input_dim, code_dim)
    model = mlp_autoencoder(input_dim, hidden, code_dim, activation=activation, out_activation=None)
    return he_init_(model) if init == "he" else model


def deep_generator(code_dim: int = 1, output_dim: int = 32, width: int = 64, n_layers: int = 8,
                   gain: float = 2.5, seed: int = 0) -> nn.Sequential:
    """A fixed random deep tanh network from codes z to data x = G(z): a known deep process.

    DLB §14.3: depth can reduce, sometimes exponentially, the number of units needed to represent
    some functions; this makes data whose generating map is such a composition. Widths
    [code_dim, width x n_layers, output_dim], tanh after every layer but the last. Weights
    N(0, gain^2 / fan_in) and biases N(0, 0.1^2), drawn from a CPU generator seeded with ``seed``
    (the same network on every device) and frozen. With gain > 1 the tanh layers are in the
    chaotic regime of Poole et al. (2016, key ``poole2016exponential``): the curve x(z) traced as
    one code z runs over an interval lengthens and folds exponentially with the number of layers.
    A ReLU decoder with one hidden layer of w units maps a 1-D code to a piecewise linear curve
    with at most w + 1 pieces; deeper ones can make exponentially many (Montufar et al. 2014, key
    ``montufar2014number``)."""
    for name, v in (("code_dim", code_dim), ("output_dim", output_dim), ("width", width),
                    ("n_layers", n_layers)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not 0 < gain < float("inf"):
        raise ValueError(f"gain must be a positive finite number, got {gain!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    net = mlp([code_dim, *[width] * n_layers, output_dim], activation=nn.Tanh)
    # cpu: the network is built on the CPU; a seed gives the same weights on every machine
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in (m for m in net if isinstance(m, nn.Linear)):
            std = gain / layer.in_features ** 0.5
            weight = torch.randn(layer.weight.shape, generator=rng)  # cpu: as above
            bias = torch.randn(layer.bias.shape, generator=rng)  # cpu: as above
            layer.weight.copy_(weight * std)
            layer.bias.copy_(bias * 0.1)
    return net.requires_grad_(False).eval()


@torch.no_grad()
def sample_generator(generator: nn.Module, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` codes z uniform on [-1, 1]^code_dim and their data x = generator(z), DLB §14.3.

    Returns (z, x), shapes (n, code_dim) and (n, output_dim), on the generator's device. z is drawn
    on the CPU from a generator seeded with ``seed``, so a seed gives the same sample on every
    device, then moved. The generator must start with an ``nn.Linear`` (as ``deep_generator``)."""
    first = next((m for m in generator.modules() if isinstance(m, nn.Linear)), None)
    if first is None:
        raise TypeError("generator must be an nn.Module whose first layer is an nn.Linear")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = torch.Generator().manual_seed(seed)  # cpu: drawn on the CPU, then moved (docstring)
    z = torch.rand(n, first.in_features, generator=rng, dtype=first.weight.dtype)  # cpu: as above
    z = z * 2 - 1
    z = z.to(first.weight.device)  # (n, code_dim)
    return z, generator(z)  # (n, code_dim), (n, output_dim)


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
