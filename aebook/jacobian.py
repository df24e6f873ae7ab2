"""Jacobians of encoders and reconstructions, and the contractive penalty built on them.

DLB §14.2.3 (regularising by penalising derivatives) and §14.7 (contractive autoencoders,
Rifai et al. 2011, keys ``rifai2011contractive`` and ``rifai2011manifold``). The contractive
autoencoder (CAE) adds to the reconstruction loss

    Omega(h, x) = lam * || d f(x) / d x ||_F^2,

the squared Frobenius norm of the encoder's Jacobian J_f(x) (shape (k, D) for a code of k units
and an input of D features). Reduction, everywhere in this module: **sum over the k * D entries of
the Jacobian, mean over the batch**, the same "per example" reduction as ``aebook.losses``.

It is computed two ways:
- in closed form for a one-layer encoder h = s(W x + b) with an elementwise s, where
  J_f = diag(s'(a)) W and ||J_f||_F^2 = sum_j s'(a_j)^2 sum_i W_ji^2 (for the sigmoid,
  s'(a_j) = h_j (1 - h_j)): cheap, used for training;
- by autograd for any encoder (``torch.func.vmap`` of ``torch.func.jacrev``): used for analysis
  and as a check. ``torch.func`` transforms differentiate even inside ``torch.no_grad``, so the
  penalty also evaluates inside ``aebook.training.evaluate``.

The module also measures what the penalty does (singular values of J_f, contraction ratios), and
the noisy reconstruction error of a denoising autoencoder (DLB §14.5.1 and §14.7; Alain & Bengio
2014, ``alain2014regularized``) term by term: to order sigma^2, Gaussian noise adds

    E ||r(x + eps) - x||^2 - ||r(x) - x||^2 = sigma^2 (||J_r||_F^2 + sum_i e_i tr H_i) + O(sigma^4),

e = r(x) - x and H_i the Hessian of r_i; the second term, which the first-order statement of DLB
§14.7 drops, is the Laplacian of z -> e . r(z) (``residual_laplacian``). The tied-weight
autoencoder that blocks the scaling loophole of DLB §14.7 is ``aebook.models.tied_autoencoder``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import jacrev, vmap

from .devices import all_finite, check_floating, check_same_device, float64
from .losses import LossFn, squared_error
from .models import Autoencoder

Fn = Callable[[Tensor], Tensor]

# s'(a) written with h = s(a) where that is cheaper; the one-layer encoders of the closed form.
_DERIVATIVES: dict[type[nn.Module], Callable[[Tensor, Tensor], Tensor]] = {
    nn.Sigmoid: lambda a, h: h * (1 - h),
    nn.Tanh: lambda a, h: 1 - h ** 2,
    nn.ReLU: lambda a, h: (a > 0).to(a.dtype),
    nn.Identity: lambda a, h: torch.ones_like(a),
}


def _check_batch(x: Tensor, name: str = "x") -> None:
    check_floating(x, name)
    if x.ndim != 2 or min(x.shape) == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) tensor, got shape {tuple(x.shape)}")


def _one_layer(encoder: nn.Module) -> tuple[nn.Linear, type[nn.Module]] | None:
    """(linear layer, activation type) if ``encoder`` is Linear or Sequential(Linear[, s]), else None."""
    if isinstance(encoder, nn.Linear):
        return encoder, nn.Identity
    if isinstance(encoder, nn.Sequential) and 1 <= len(encoder) <= 2 and isinstance(encoder[0], nn.Linear):
        act = type(encoder[1]) if len(encoder) == 2 else nn.Identity
        return (encoder[0], act) if act in _DERIVATIVES else None
    return None


def sigmoid_jacobian_sq_norm(h: Tensor, weight: Tensor) -> Tensor:
    """||J_f(x)||_F^2 = sum_j (h_j (1 - h_j))^2 sum_i W_ji^2 for h = sigmoid(W x + b): shape (N,).

    DLB §14.7, Rifai et al. 2011 (rifai2011contractive), eq. for the sigmoid CAE. h: (N, k) codes,
    weight: (k, D). Sum over the Jacobian's entries, one value per example (no batch mean)."""
    _check_batch(h, "h")
    _check_batch(weight, "weight")
    if h.shape[1] != weight.shape[0]:
        raise ValueError(f"h has {h.shape[1]} units but weight has {weight.shape[0]} rows (expected (k, D))")
    return ((h * (1 - h)) ** 2) @ (weight ** 2).sum(1)  # (N, k) @ (k,) -> (N,)


def closed_form_sq_norm(encoder: nn.Module, x: Tensor) -> Tensor:
    """||J_f(x)||_F^2 = sum_j s'(a_j)^2 ||W_j||^2 for a one-layer encoder s(W x + b): shape (N,).

    DLB §14.7. ``encoder`` is nn.Linear or nn.Sequential(nn.Linear, s) with s one of Sigmoid, Tanh,
    ReLU, Identity. Sum over the Jacobian's entries, one value per example."""
    _check_batch(x)
    parts = _one_layer(encoder)
    if parts is None:
        raise TypeError(f"closed form needs Linear or Sequential(Linear, Sigmoid|Tanh|ReLU|Identity), "
                        f"got {encoder.__class__.__name__}; use jacobian_sq_norm (autograd)")
    linear, act = parts
    a = linear(x)  # (N, k) pre-activations
    h = encoder(x) if act is not nn.Identity else a
    return (_DERIVATIVES[act](a, h) ** 2) @ (linear.weight ** 2).sum(1)  # (N,)


def jacobian(fn: Fn, x: Tensor, chunk_size: int | None = 32) -> Tensor:
    """J_fn(x_n) = d fn(x_n) / d x_n for every row: (N, D) -> (N, K, D), by ``vmap(jacrev(fn))``.

    DLB §14.2.3. ``fn`` must map one example (D,) to (K,) (an MLP does). ``chunk_size`` examples
    at a time bound the memory. Works inside ``torch.no_grad`` and stays differentiable outside it."""
    _check_batch(x)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    return vmap(jacrev(fn), chunk_size=chunk_size)(x)


def jacobian_sq_norm(fn: Fn, x: Tensor, chunk_size: int | None = 32) -> Tensor:
    """||J_fn(x_n)||_F^2 by autograd, for any fn: shape (N,), summed over the K * D entries."""
    return jacobian(fn, x, chunk_size).pow(2).sum((1, 2))


def contractive_penalty(model: Autoencoder, x: Tensor, method: str = "auto") -> Tensor:
    """||J_f(x)||_F^2 of the model's encoder, summed over entries, **mean over the batch**: scalar.

    DLB §14.2.3 and §14.7 (Omega without lam). ``method``: "closed" (one-layer
    encoders), "autograd" (any encoder), or "auto" (closed form when it applies)."""
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model must be an aebook Autoencoder, got {type(model).__name__}")
    if method not in ("auto", "closed", "autograd"):
        raise ValueError(f"method must be 'auto', 'closed' or 'autograd', got {method!r}")
    _check_batch(x)
    if method == "closed" or (method == "auto" and _one_layer(model.encoder) is not None):
        return closed_form_sq_norm(model.encoder, x).mean()
    return jacobian_sq_norm(model.encoder, x).mean()


def contractive_loss(lam: float, reconstruction: LossFn = squared_error, method: str = "auto") -> LossFn:
    """Training loss ``reconstruction(model, x) + lam * contractive_penalty(model, x)`` for ``fit``.

    DLB §14.7 (Rifai et al. 2011). Both terms: sum over features/entries, mean over the
    batch. lam = 0 gives the plain autoencoder."""
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or lam < 0:
        raise ValueError(f"lam must be a number >= 0, got {lam!r}")
    if not callable(reconstruction):
        raise TypeError(f"reconstruction must be a loss(model, x), got {type(reconstruction).__name__}")
    if method not in ("auto", "closed", "autograd"):
        raise ValueError(f"method must be 'auto', 'closed' or 'autograd', got {method!r}")

    def loss(model: nn.Module, x: Tensor) -> Tensor:
        rec = reconstruction(model, x)
        return rec if lam == 0 else rec + lam * contractive_penalty(model, x, method)

    return loss


def jacobian_singular_values(fn: Fn, x: Tensor, chunk_size: int = 32) -> Tensor:
    """Singular values of J_fn(x_n), descending: (N, D) -> (N, min(K, D)). Rifai et al. 2011
    (rifai2011manifold): a CAE has few large ones, along the data manifold's tangent directions.

    Computed as the square roots of the eigenvalues of the smaller Gram matrix (J J^T or J^T J) in
    float64 (on a CPU copy where the device has no float64), ``chunk_size`` examples at a time:
    several times faster than an SVD of each J. Returned on x's device in x's dtype."""
    _check_batch(x)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    out = []
    with torch.no_grad():
        for xb in x.split(chunk_size):
            j = float64(jacobian(fn, xb, chunk_size=None))  # (n, K, D)
            gram = j @ j.transpose(1, 2) if j.shape[1] <= j.shape[2] else j.transpose(1, 2) @ j
            out.append(torch.linalg.eigvalsh(gram).flip(1).clamp_min(0).sqrt().to(x.device, x.dtype))
    return torch.cat(out)


def tangent_directions(fn: Fn, x: Tensor, n_directions: int, chunk_size: int = 32) -> tuple[Tensor, Tensor]:
    """Leading right singular vectors of J_fn(x_n), in input space: (N, n, D), and their singular
    values (N, n). Rifai et al. 2011 (rifai2011manifold): the CAE's estimate of the tangent plane.

    From the eigenvectors of the smaller Gram matrix in float64 (for J of shape (K, D) with K <= D:
    J J^T = U S^2 U^T, then v_i = J^T u_i / s_i), ``chunk_size`` examples at a time: several times
    faster than an SVD of each J. A direction whose singular value is 0 is not determined; it comes
    out as zeros."""
    _check_batch(x)
    if isinstance(n_directions, bool) or not isinstance(n_directions, int) or n_directions < 1:
        raise ValueError(f"n_directions must be a positive int, got {n_directions!r}")
    vs, ss = [], []
    with torch.no_grad():
        for xb in x.split(chunk_size):
            j = jacobian(fn, xb, chunk_size=None).double()  # (n, K, D)
            if n_directions > min(j.shape[1:]):
                raise ValueError(f"n_directions {n_directions} exceeds the Jacobian's rank bound "
                                 f"{min(j.shape[1:])}")
            if j.shape[1] <= j.shape[2]:
                evals, u = torch.linalg.eigh(j @ j.transpose(1, 2))  # ascending, (n, K), (n, K, K)
                u = u.flip(2)[:, :, :n_directions]  # (n, K, p), leading first
                s = evals.flip(1)[:, :n_directions].clamp_min(0).sqrt()  # (n, p)
                v = (j.transpose(1, 2) @ u).transpose(1, 2)  # (n, p, D) = s_i v_i
                v = torch.where(s[..., None] > 0, v / s[..., None].clamp_min(1e-300), 0.0)
            else:
                evals, w = torch.linalg.eigh(j.transpose(1, 2) @ j)  # (n, D), (n, D, D)
                v = w.flip(2)[:, :, :n_directions].transpose(1, 2)  # (n, p, D)
                s = evals.flip(1)[:, :n_directions].clamp_min(0).sqrt()
            vs.append(v.to(x.dtype))
            ss.append(s.to(x.dtype))
    return torch.cat(vs), torch.cat(ss)


def contraction_ratio(fn: Fn, x1: Tensor, x2: Tensor) -> Tensor:
    """||fn(x1_n) - fn(x2_n)|| / ||x1_n - x2_n|| for each pair of rows: shape (N,). Rifai et al. 2011
    (rifai2011contractive) §5: below 1 the map brings the pair closer together. Finite inputs."""
    _check_batch(x1, "x1")
    _check_batch(x2, "x2")
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2 must have one shape, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    check_same_device(x1=x1, x2=x2)
    for name, t in (("x1", x1), ("x2", x2)):
        if not all_finite(t):
            raise ValueError(f"{name} holds NaN or infinite values")
    dist = (x1 - x2).norm(dim=1)
    if bool((dist == 0).any()):
        raise ValueError("x1 and x2 must differ in every row (a pair at distance 0 has no ratio)")
    with torch.no_grad():
        return (fn(x1) - fn(x2)).norm(dim=1) / dist


@torch.no_grad()
def noisy_reconstruction_error(model: nn.Module, x: Tensor, sigma: float, n_samples: int = 64,
                               generator: torch.Generator | None = None, target: Tensor | None = None) -> Tensor:
    """Monte-Carlo E_eps ||model(x + eps) - target||^2, eps ~ N(0, sigma^2 I): one value per example (N,).

    DLB §14.5.1, Alain & Bengio 2014 (alain2014regularized). With ``target=None`` (x itself) it is
    the denoising autoencoder's expected loss; with ``target=model(x)`` it is the sensitivity of r to
    noise. Summed over features. Noise is drawn in antithetic pairs (eps, -eps), ``n_samples`` pairs
    per example: a variance reduction that cancels the term linear in eps exactly in each pair.
    ``generator`` may live on any device: the noise is drawn there and moved to x's."""
    _check_batch(x)
    target = x if target is None else target
    _check_batch(target, "target")
    if target.shape != x.shape:
        raise ValueError(f"target must have x's shape {tuple(x.shape)}, got {tuple(target.shape)}")
    check_same_device(x=x, target=target)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma < float("inf"):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    total = torch.zeros(len(x), dtype=x.dtype, device=x.device)
    for _ in range(n_samples):
        eps = torch.randn(x.shape, generator=generator, dtype=x.dtype,  # (N, D), on the generator's device
                          device=generator.device if generator is not None else x.device)
        eps = sigma * eps.to(x.device)
        total += ((model(x + eps) - target) ** 2).sum(1) + ((model(x - eps) - target) ** 2).sum(1)
    return total / (2 * n_samples)


@torch.no_grad()
def noise_terms(model: nn.Module, x: Tensor, sigma: float, n_samples: int = 64,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """What Gaussian noise adds to the DAE loss, in its two parts: (sensitivity, cross), each (N,).

    DLB §14.7, Alain & Bengio 2014 (alain2014regularized). With e = r(x) - x and
    delta = r(x + eps) - r(x), eps ~ N(0, sigma^2 I), exactly
    ||r(x + eps) - x||^2 = ||e||^2 + 2 e . delta + ||delta||^2; this returns Monte-Carlo
    estimates of E ||delta||^2 (-> sigma^2 ||J_r||_F^2) and E[2 e . delta]
    (-> sigma^2 sum_i e_i tr H_i), summed over features, one value per example. Their sum is what
    noise adds. Computed from differences, never from the large ||e||^2, so float32 keeps them
    accurate at small sigma. Noise in antithetic pairs (eps, -eps), ``n_samples`` pairs, as
    ``noisy_reconstruction_error`` draws them: with the same generator state the two agree
    exactly, ``noisy = ||e||^2 + sensitivity + cross``."""
    _check_batch(x)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma < 0:
        raise ValueError(f"sigma must be a number >= 0, got {sigma!r}")
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    r = model(x)  # (N, D)
    e = r - x
    sens = torch.zeros(len(x), dtype=x.dtype, device=x.device)
    cross = torch.zeros(len(x), dtype=x.dtype, device=x.device)
    for _ in range(n_samples):
        eps = torch.randn(x.shape, generator=generator, dtype=x.dtype,  # (N, D)
                          device=generator.device if generator is not None else x.device)
        eps = sigma * eps.to(x.device)
        d_plus, d_minus = model(x + eps) - r, model(x - eps) - r  # (N, D) each
        sens += (d_plus ** 2).sum(1) + (d_minus ** 2).sum(1)
        cross += 2 * (e * (d_plus + d_minus)).sum(1)
    return sens / (2 * n_samples), cross / (2 * n_samples)


def residual_laplacian(fn: Fn, x: Tensor, target: Tensor | None = None, n_probes: int | None = 16,
                       generator: torch.Generator | None = None) -> Tensor:
    """sum_i e_i tr H_i(x_n) for every row, e = fn(x) - target held fixed: shape (N,).

    DLB §14.7 (the term its first-order DAE ~ CAE statement drops; Alain & Bengio 2014,
    alain2014regularized). H_i is the Hessian of output i, so the sum is the Laplacian of
    phi(z) = e . fn(z) at z = x. ``target=None`` means x (e is the residual). ``n_probes``: Hutchinson's
    estimator, the mean of v^T (Hessian of phi) v over that many Rademacher vectors v per example,
    one Hessian-vector product (double backward) each; unbiased, with a variance set by the
    Hessian's off-diagonal entries (exact when they vanish). ``n_probes=None``: exact, one
    product per input coordinate (D per example; for tests and few examples). ``fn`` must treat
    rows independently (an MLP in eval mode does). One value per example, no batch mean."""
    _check_batch(x)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if n_probes is not None and (isinstance(n_probes, bool) or not isinstance(n_probes, int)
                                 or n_probes < 1):
        raise ValueError(f"n_probes must be a positive int or None (exact), got {n_probes!r}")
    target = x if target is None else target
    _check_batch(target, "target")
    n, d = x.shape
    with torch.no_grad():
        r = fn(x)  # (N, K)
    if r.shape != target.shape:
        raise ValueError(f"fn(x) has shape {tuple(r.shape)} but target {tuple(target.shape)}")
    e = r - target  # held fixed
    rounds = d if n_probes is None else n_probes  # one probe per example per round
    per_chunk = max(1, 4096 // n)  # rounds per double backward, at most ~4096 rows
    total = torch.zeros(n, dtype=x.dtype, device=x.device)
    for start in range(0, rounds, per_chunk):
        reps = min(per_chunk, rounds - start)
        if n_probes is None:  # basis vectors: v^T H v = H_dd, summed over d
            v = torch.eye(d, dtype=x.dtype, device=x.device)[start:start + reps]
            v = v.repeat_interleave(n, 0)  # (reps*N, D), round-major like z below
        else:
            bits = torch.randint(0, 2, (reps * n, d), generator=generator,
                                 device=generator.device if generator is not None else x.device)
            v = (2 * bits - 1).to(device=x.device, dtype=x.dtype)  # (reps*N, D), entries +-1
        with torch.enable_grad():
            z = x.detach().repeat(reps, 1).requires_grad_(True)  # (reps*N, D)
            (grad,) = torch.autograd.grad((e.repeat(reps, 1) * fn(z)).sum(), z, create_graph=True)
            if not grad.requires_grad:  # fn is affine in z: its Hessians vanish
                continue
            (hv,) = torch.autograd.grad((grad * v).sum(), z, allow_unused=True)  # (Hess phi) v
        if hv is not None:  # None: the gradient does not depend on z (affine fn)
            total += (hv * v).sum(1).detach().view(reps, n).sum(0)
    return total if n_probes is None else total / n_probes
