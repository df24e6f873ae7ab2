"""Learning manifolds with autoencoders: tangents from Jacobians, and the k-NN graph's short circuits.

DLB §14.6 (Goodfellow et al. 2016, key ``goodfellow2016deep``). An autoencoder r = g(f(x)) trained
near a manifold maps points onto it, so r(x) - x points toward the manifold, and the Jacobian
J_r(x) = dr/dx (D x D) has large singular values along the manifold's tangent directions and
small ones across it (Rifai et al. 2011, key ``rifai2011manifold``; Alain & Bengio 2014, key
``alain2014regularized``). Tangents are estimated two ways: the leading right singular vectors of
J_r, or the columns of the decoder's Jacobian dg/dh at h = f(x) (D x k for a k-unit code).
Nonparametric manifold learners (Isomap, ``tenenbaum2000global``; LLE, ``roweis2000nonlinear``)
build a k-nearest-neighbour graph, whose edges can jump between folds when samples are few.

Also here: an ensemble of small MLP autoencoders trained in one batched pass (restarts for a
non-convex fit, selected by reconstruction error), and the tangent figure of the chapter. Angles
between tangent spaces are ``aebook.principal_angles`` (batched); quiver plots of r(x) - x are
``aebook.fields.plot_field``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor, nn

from .devices import all_finite, check_floating, check_same_device
from .jacobian import jacobian
from .models import Autoencoder, mlp_autoencoder


def _check_batch(x: Tensor, name: str = "x", dim: int | None = None) -> None:
    check_floating(x, name)
    if x.ndim != 2 or len(x) == 0 or (dim is not None and x.shape[1] != dim):
        want = f"(N, {dim})" if dim is not None else "(N, D)"
        raise ValueError(f"{name} must be a non-empty {want} tensor, got shape {tuple(x.shape)}")


def _check_finite(x: Tensor, name: str = "x") -> None:
    if not all_finite(x):  # a NaN distance would make the nearest points arbitrary
        raise ValueError(f"{name} holds NaN or infinite values")


# --- an ensemble of autoencoders, trained together ------------------------------------------------

class StackedLinear(nn.Module):
    """R independent linear layers in one batched matmul: (R, N, a) -> (R, N, b).

    Each member is initialised like ``nn.Linear`` (weights and biases uniform in +-1/sqrt(a))."""

    def __init__(self, n_models: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(n_models, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_models, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.weight)  # (R, N, a) @ (R, a, b) + (R, 1, b)


def _stacked_mlp(n_models: int, sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(StackedLinear(n_models, a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class AutoencoderEnsemble(nn.Module):
    """R MLP autoencoders input_dim -> *hidden -> code_dim -> *reversed(hidden) -> input_dim with
    linear outputs, evaluated together: x (N, D) -> r (R, N, D). Adam treats every parameter entry
    separately, so training the sum of the members' losses trains R independent restarts at once.
    ``member(i)`` returns member i as a plain ``Autoencoder``."""

    def __init__(self, n_models: int, input_dim: int, hidden: list[int], code_dim: int,
                 activation: type[nn.Module] = nn.SiLU) -> None:
        super().__init__()
        sizes = [input_dim, *hidden, code_dim]
        if not isinstance(n_models, int) or n_models < 1 or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"need n_models >= 1 and positive int sizes, got {n_models!r} and {sizes}")
        self.n_models, self.input_dim, self.hidden = n_models, input_dim, list(hidden)
        self.code_dim, self.activation = code_dim, activation
        self.encoder = _stacked_mlp(n_models, sizes, activation)
        self.decoder = _stacked_mlp(n_models, sizes[::-1], activation)

    def _stack(self, x: Tensor, dim: int) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim == 2 and x.shape[1] == dim:
            return x.expand(self.n_models, *x.shape)  # (N, d) -> (R, N, d), no copy
        if x.ndim == 3 and x.shape[0] == self.n_models and x.shape[2] == dim:
            return x
        raise ValueError(f"expected (N, {dim}) or ({self.n_models}, N, {dim}), got {tuple(x.shape)}")

    def encode(self, x: Tensor) -> Tensor:
        """h = f(x): (N, D) or (R, N, D) -> (R, N, k)."""
        return self.encoder(self._stack(x, self.input_dim))

    def decode(self, h: Tensor) -> Tensor:
        """r = g(h): (N, k) or (R, N, k) -> (R, N, D)."""
        return self.decoder(self._stack(h, self.code_dim))

    def forward(self, x: Tensor) -> Tensor:
        """r = g(f(x)): (N, D) -> (R, N, D)."""
        return self.decode(self.encode(x))

    def member(self, i: int) -> Autoencoder:
        """Member i as an ``Autoencoder`` of ``nn.Linear`` layers, a copy with the same outputs."""
        if not isinstance(i, int) or not 0 <= i < self.n_models:
            raise ValueError(f"i must be an int in 0..{self.n_models - 1}, got {i!r}")
        model = mlp_autoencoder(self.input_dim, self.hidden, self.code_dim, self.activation, out_activation=None)
        stacked = [m for m in [*self.encoder, *self.decoder] if isinstance(m, StackedLinear)]
        linear = [m for m in [*model.encoder, *model.decoder] if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for s, lin in zip(stacked, linear):
                lin.weight.copy_(s.weight[i].T)  # nn.Linear stores (out, in)
                lin.bias.copy_(s.bias[i, 0])
        return model.to(self.encoder[0].weight.device).eval()


def ensemble_squared_error(model: AutoencoderEnsemble, x: Tensor) -> Tensor:
    """Training loss for ``aebook.fit``: ||r - x||^2 SUMMED over features, MEANED over the batch,
    and SUMMED over the R members (so each member's gradient is that of its own loss): scalar."""
    return ((model(x) - x) ** 2).sum(-1).mean(-1).sum()


def ensemble_denoising_loss(sigmas: Sequence[float]) -> Callable[[AutoencoderEnsemble, Tensor], Tensor]:
    """Training loss for ``aebook.fit`` that trains member i of an ``AutoencoderEnsemble`` as a
    denoising autoencoder with Gaussian noise of standard deviation ``sigmas[i]`` (0: a plain
    autoencoder), all in one batched pass: ||g_i(f_i(x + sigma_i eps_i)) - x||^2 SUMMED over
    features, MEANED over the batch, SUMMED over the members; a fresh eps_i per member.
    DLB §14.2.2 and §14.5.1 (``vincent2010stacked``, ``alain2014regularized``)."""
    if isinstance(sigmas, (str, bytes)) or not isinstance(sigmas, Sequence) or not sigmas:
        raise TypeError(f"sigmas must be a non-empty sequence of numbers, got {sigmas!r}")
    if any(isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) or s < 0
           for s in sigmas):
        raise ValueError(f"every sigma must be a finite number >= 0, got {list(sigmas)}")
    values = [float(s) for s in sigmas]

    def loss(model: AutoencoderEnsemble, x: Tensor) -> Tensor:
        if not isinstance(model, AutoencoderEnsemble):
            raise TypeError(f"model must be an AutoencoderEnsemble, got {type(model).__name__}")
        if model.n_models != len(values):
            raise ValueError(f"{len(values)} sigmas for an ensemble of {model.n_models} members")
        _check_batch(x, dim=model.input_dim)
        sigma = torch.tensor(values, dtype=x.dtype, device=x.device)[:, None, None]  # (R, 1, 1)
        eps = torch.randn((len(values), *x.shape), dtype=x.dtype, device=x.device)   # (R, N, D)
        return ((model(x + sigma * eps) - x) ** 2).sum(-1).mean(-1).sum()

    return loss


@torch.no_grad()
def member_errors(model: AutoencoderEnsemble, x: Tensor) -> Tensor:
    """Each member's ||r - x||^2 summed over features, averaged over x's rows: shape (R,)."""
    _check_batch(x, dim=model.input_dim)
    return ((model(x) - x) ** 2).sum(-1).mean(-1)


# --- Jacobians and tangents ----------------------------------------------------------------------

def reconstruction_jacobian(model: nn.Module, x: Tensor) -> Tensor:
    """J_r(x) = d r / d x for r = model(x), one D x D matrix per point: (N, D) -> (N, D, D).

    DLB §14.6; by autograd, with ``aebook.jacobian.jacobian``.
    Returned detached: it is for analysis, not for training through."""
    return jacobian(model, x).detach()


def decoder_tangents(model: Autoencoder, x: Tensor) -> Tensor:
    """dg/dh at h = f(x): the k columns span the decoded manifold's tangent space at r(x).

    DLB §14.6 (the decoder maps code space onto the manifold). (N, D) -> (N, D, k), detached."""
    _check_batch(x)
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model must be an aebook Autoencoder, got {type(model).__name__}")
    h = model.encode(x).detach()  # (N, k)
    return jacobian(model.decode, h).detach()


def jacobian_tangents(model: nn.Module, x: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """Singular values s (N, D), descending, of J_r(x), and its ``dim`` leading right singular
    vectors (N, D, dim): the directions of input space that r keeps, an estimate of the tangent
    space (DLB §14.6; Rifai et al. 2011, ``rifai2011manifold``)."""
    jac = reconstruction_jacobian(model, x)  # (N, D, D)
    if not isinstance(dim, int) or not 1 <= dim <= jac.shape[-1]:
        raise ValueError(f"dim must be an int in 1..{jac.shape[-1]}, got {dim!r}")
    _, s, vh = torch.linalg.svd(jac)
    return s, vh[:, :dim, :].transpose(1, 2)


def encoder_jacobian(model: Autoencoder, x: Tensor, create_graph: bool = False) -> tuple[Tensor, Tensor]:
    """The codes h = f(x), (N, k), and the encoder's Jacobians J_f(x) = dh/dx, (N, k, D), by k
    backward passes through the whole batch: for a narrow code much cheaper than a ``vmap`` per
    example. Valid when each row's code depends on that row alone (an MLP; not batch norm).
    With ``create_graph=True`` both stay differentiable, for a training loss. DLB §14.7."""
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model must be an aebook Autoencoder, got {type(model).__name__}")
    _check_batch(x)
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        h = model.encoder(x)                                               # (N, k)
        if h.ndim != 2 or len(h) != len(x):
            raise ValueError(f"the encoder must map (N, D) to (N, k), got {tuple(h.shape)}")
        rows = [torch.autograd.grad(h[:, j].sum(), x, create_graph=create_graph, retain_graph=True)[0]
                for j in range(h.shape[1])]                               # k x (N, D)
    jac = torch.stack(rows, 1)                                             # (N, k, D)
    return (h, jac) if create_graph else (h.detach(), jac.detach())


def relative_contractive_loss(lam: float) -> Callable[[Autoencoder, Tensor], Tensor]:
    """CAE training loss whose penalty no rescaling of the code can lower, for ``aebook.fit``:

        ||r - x||^2 + lam * ||J_f(x)||_F^2 / sum_j Var(h_j),

    the reconstruction SUMMED over features and MEANED over the batch, ||J_f||_F^2 SUMMED over its
    k * D entries and MEANED over the batch, divided by the codes' variance over the batch (summed
    over the k units). DLB §14.7 (``rifai2011contractive``): the plain penalty lam ||J_f||_F^2 is
    beaten by an encoder that shrinks its code by eps and a decoder that grows by 1/eps; tied
    weights close that loophole for a one-layer encoder, dividing by the code's spread closes it
    for any encoder, since f -> eps f scales both by eps^2. Batches need at least 2 rows."""
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")

    def loss(model: Autoencoder, x: Tensor) -> Tensor:
        _check_batch(x)
        if len(x) < 2:
            raise ValueError(f"the code's variance needs a batch of at least 2 rows, got {len(x)}")
        h, jac = encoder_jacobian(model, x, create_graph=True)             # (N, k), (N, k, D)
        rec = ((model.decode(h) - x) ** 2).sum(1).mean()
        if lam == 0:
            return rec
        return rec + lam * jac.pow(2).sum((1, 2)).mean() / h.var(0).sum()

    return loss


# --- distances to the manifold and the k-NN graph ------------------------------------------------

def nearest_on_manifold(x: Tensor, clean: Tensor) -> tuple[Tensor, Tensor]:
    """For each row of x (N, D), the nearest of the dense manifold points ``clean`` (M, D) and
    its distance: ((N, D), (N,)). Approximates the projection onto the manifold. Both finite."""
    _check_batch(x)
    _check_batch(clean, "clean", x.shape[1])
    check_same_device(x=x, clean=clean)
    _check_finite(x)
    _check_finite(clean, "clean")
    d, idx = torch.cdist(x, clean).min(1)
    return clean[idx], d


def knn_edges(x: Tensor, k: int) -> Tensor:
    """The directed k-nearest-neighbour graph of the rows of x (N, D), as (N * k, 2) index pairs
    (i, j): j is one of the k points nearest to i, i itself excluded. The graph Isomap and LLE build.
    x must be finite; the edges live on x's device."""
    _check_batch(x)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < len(x):
        raise ValueError(f"k must be an int in 1..{len(x) - 1}, got {k!r}")
    _check_finite(x)
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    j = d.topk(k, dim=1, largest=False).indices  # (N, k)
    i = torch.arange(len(x), device=x.device).repeat_interleave(k)  # (N * k,)
    return torch.stack([i, j.reshape(-1)], 1)


def fold_jumps(x: Tensor, t: Tensor, k: int, jump: float) -> float:
    """Fraction of the k-NN graph's edges whose ends lie more than ``jump`` apart in the manifold
    coordinate t (N,): edges that short-circuit between folds (DLB §14.6, fig. 14.8)."""
    edges = knn_edges(x, k)
    if not isinstance(t, Tensor) or t.shape != (len(x),):
        raise ValueError(f"t must be a tensor of shape ({len(x)},), got {getattr(t, 'shape', type(t).__name__)}")
    check_same_device(x=x, t=t)
    if isinstance(jump, bool) or not isinstance(jump, (int, float)) or not 0 <= jump < math.inf:
        raise ValueError(f"jump must be a finite number >= 0, got {jump!r}")
    return float(((t[edges[:, 0]] - t[edges[:, 1]]).abs() > jump).float().mean())


def _average_ranks(v: np.ndarray) -> np.ndarray:
    """Ranks 0..N-1 of v, tied values sharing the mean of their ranks (scipy's 'average')."""
    order = np.argsort(v, kind="stable")
    first = np.r_[True, v[order][1:] != v[order][:-1]]            # (N,) a new value starts here
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(v)]
    ranks = np.empty(len(v))
    ranks[order] = ((starts + ends - 1) / 2)[np.cumsum(first) - 1]
    return ranks


def spearman(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> float:
    """Spearman's rank correlation of two (N,) sequences: the Pearson correlation of their ranks,
    tied values sharing their average rank (as ``scipy.stats.spearmanr``). 1 or -1 when one is a
    monotone function of the other; NaN when either sequence is constant (its ranks do not vary).
    Tensors on any device are read on the CPU; NaN values are an error."""
    arrays = []
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, Tensor):
            v = v.detach().cpu().numpy()
        v = np.asarray(v)
        if not (np.issubdtype(v.dtype, np.number) or v.dtype == bool):
            raise TypeError(f"{name} must hold numbers, got dtype {v.dtype}")
        arrays.append(v.astype(np.float64))
    a, b = arrays
    if a.ndim != 1 or a.shape != b.shape or len(a) < 2:
        raise ValueError(f"expected two sequences of one length >= 2, got {a.shape} and {b.shape}")
    for name, v in (("a", a), ("b", b)):
        if np.isnan(v).any():
            raise ValueError(f"{name} holds NaN, which has no rank")
    ra, rb = (r - r.mean() for r in (_average_ranks(a), _average_ranks(b)))
    norm = np.linalg.norm(ra) * np.linalg.norm(rb)
    return float(ra @ rb / norm) if norm > 0 else float("nan")


# --- figures -------------------------------------------------------------------------------------

def plot_tangents(points: Tensor, tangents: dict[str, Tensor], ax: Axes | None = None,
                  length: float = 0.1) -> Axes:
    """Short segments of half-length ``length`` centred on ``points`` (N, 2), along each named
    (N, 2) direction field in ``tangents`` (e.g. {"true": ..., "autoencoder": ...})."""
    _check_batch(points, "points", 2)
    ax = plt.subplots(figsize=(5, 5))[1] if ax is None else ax
    p = points.detach().cpu()
    for i, (name, v) in enumerate(tangents.items()):
        _check_batch(v, name, 2)
        if v.shape != points.shape:
            raise ValueError(f"tangents {name!r} have shape {tuple(v.shape)}, points {tuple(points.shape)}")
        u = length * v.detach().cpu() / v.detach().cpu().norm(dim=1, keepdim=True)
        seg = torch.stack([p - u, p + u], 1).numpy()  # (N, 2 ends, 2)
        style = dict(color=f"C{i}", lw=4.0 if i == 0 else 1.5, ls="-" if i < 2 else (0, (2, 1.5)))
        ax.plot(seg[..., 0].T, seg[..., 1].T, alpha=0.5 if i == 0 else 1.0, **style)  # first: thick
        ax.plot([], [], label=name, **style)
    ax.set_aspect("equal")
    ax.legend(frameon=False, fontsize="small")
    ax.set(xlabel="$x_1$", ylabel="$x_2$")
    return ax
