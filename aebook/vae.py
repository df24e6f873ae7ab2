"""The variational autoencoder: a stochastic encoder q(h | x) and a stochastic decoder p(x | h).

DLB §14.4 (stochastic encoders and decoders) and §20.10.3; Kingma & Welling 2013 (key
``kingma2013auto``). The model here is the paper's "M1" MLP with

- a Gaussian encoder  q(h | x) = N(h; mu(x), diag sigma^2(x)), the network outputs (mu, log sigma^2);
- a standard normal prior p(h) = N(0, I);
- a Bernoulli decoder p(x | h) = prod_i Bernoulli(x_i; sigmoid(logits_i(h))), the network outputs logits.

It is trained by maximising the evidence lower bound (ELBO) of Kingma & Welling's eq. (10),

    log p(x) >= ELBO(x) = E_q[log p(x | h)] - KL(q(h | x) || p(h)),

with one reparameterised sample h = mu + sigma * eps, eps ~ N(0, I), and the KL in closed form
(their Appendix B). Reduction of every loss below: the reconstruction term is SUMMED over the D
pixels, the KL is SUMMED over the k latent dimensions, and both are AVERAGED over the batch, so a
loss is "nats per image" and -loss is the ELBO per image. ``pixel_mean_elbo_loss`` reproduces
the common mistake of averaging the reconstruction over pixels instead, for the chapter to show.

Inputs: floating tensors (integers are a TypeError). Bernoulli targets must lie in [0, 1]; the
per-batch losses check that on CPU tensors only, where it costs no device sync
(``aebook.losses.check_unit_interval``). A generator may live on any device: noise is drawn on
the generator's device (so a CPU generator gives the same draws everywhere) and moved.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .devices import all_finite, check_floating, check_same_device, float64, model_device, model_dtype
from .losses import LossFn, check_unit_interval
from .models import Autoencoder, eval_mode, mlp


def _check_batch(x: Tensor, name: str = "x", dim: int | None = None) -> None:
    check_floating(x, name)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) batch, got shape {tuple(x.shape)}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns, got shape {tuple(x.shape)}")


def _check_gaussian(mu: Tensor, logvar: Tensor) -> None:
    check_floating(mu, "mu")
    check_floating(logvar, "logvar")
    if mu.shape != logvar.shape or mu.ndim < 1:
        raise ValueError(f"mu and logvar must have one shape (..., k), got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    check_same_device(mu=mu, logvar=logvar)


def _normal(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device,
            dtype: torch.dtype) -> Tensor:
    """N(0, I) draws on ``device`` in ``dtype``, from ``generator`` (on any device) if given."""
    if generator is None:
        return torch.randn(shape, device=device, dtype=dtype)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return torch.randn(shape, generator=generator, device=generator.device, dtype=dtype).to(device)


def _check_vae(model: object) -> None:
    if not isinstance(model, VAE):
        raise TypeError(f"model must be a VAE, got {type(model).__name__}")


def _check_count(name: str, n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


class VAE(Autoencoder):
    """Gaussian encoder, N(0, I) prior, Bernoulli decoder with logits. Kingma & Welling 2013, DLB §14.4.

    ``encoder``: D -> *hidden -> 2k (mu and log sigma^2); ``decoder``: k -> *reversed(hidden) -> D
    logits. As an ``Autoencoder``, ``encode`` gives the posterior mean mu(x) and ``forward`` the
    logits decoded from it (deterministic); training draws h from q with ``reparameterize``.
    """

    def __init__(self, input_dim: int = 784, hidden: Sequence[int] = (256,), latent_dim: int = 20,
                 activation: type[nn.Module] = nn.ReLU) -> None:
        _check_count("input_dim", input_dim)
        _check_count("latent_dim", latent_dim)
        hidden = list(hidden)
        super().__init__(mlp([input_dim, *hidden, 2 * latent_dim], activation),
                         mlp([latent_dim, *reversed(hidden), input_dim], activation))
        self.input_dim, self.latent_dim = input_dim, latent_dim

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The parameters of q(h | x): mu and log sigma^2, each (N, k)."""
        _check_batch(x, dim=self.input_dim)
        mu, logvar = self.encoder(x).chunk(2, dim=1)  # (N, 2k) -> 2 x (N, k)
        return mu, logvar

    def encode(self, x: Tensor) -> Tensor:
        """The posterior mean mu(x), (N, D) -> (N, k): the code of the deterministic view."""
        return self.posterior(x)[0]

    def decode(self, h: Tensor) -> Tensor:
        """Logits of p(x | h), (..., k) -> (..., D)."""
        if not isinstance(h, Tensor):
            raise TypeError(f"h must be a torch.Tensor, got {type(h).__name__}")
        if h.ndim < 1 or h.shape[-1] != self.latent_dim:
            raise ValueError(f"h must be a (..., {self.latent_dim}) tensor, got shape {tuple(h.shape)}")
        return self.decoder(h)

    def decode_mean(self, h: Tensor) -> Tensor:
        """E[x | h] = sigmoid(logits), pixel probabilities in (0, 1): (..., k) -> (..., D)."""
        return torch.sigmoid(self.decode(h))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Decoded means of n draws from the prior, h ~ N(0, I): (n, D), on the model's device and
        in its dtype. ``generator`` may live on any device (the draws are made there and moved)."""
        _check_count("n", n)
        h = _normal((n, self.latent_dim), generator, model_device(self), model_dtype(self))  # (n, k)
        return self.decode_mean(h)


def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """h = mu + sigma * eps, eps ~ N(0, I): a sample of q that gradients flow through to mu and
    sigma. Kingma & Welling 2013 §2.4; any shape (..., k) -> same shape."""
    _check_gaussian(mu, logvar)
    return mu + torch.exp(0.5 * logvar) * _normal(mu.shape, generator, mu.device, mu.dtype)


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag e^logvar) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2).

    SUMMED over the last (latent) dimension, one value per example: (..., k) -> (...). Kingma &
    Welling 2013, Appendix B. Zero if and only if mu = 0 and sigma = 1."""
    _check_gaussian(mu, logvar)
    return 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(-1)


def gaussian_log_prob(h: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(h; mu, diag e^logvar), SUMMED over the last dimension: (..., k) -> (...)."""
    _check_gaussian(mu, logvar)
    return -0.5 * (math.log(2 * math.pi) + logvar + (h - mu) ** 2 / logvar.exp()).sum(-1)


def bernoulli_log_prob(logits: Tensor, x: Tensor) -> Tensor:
    """log p(x | h) = sum_i [x_i log r_i + (1 - x_i) log(1 - r_i)], r = sigmoid(logits), SUMMED
    over pixels, broadcasting logits against x: (..., D) -> (...). A proper log-probability only
    for binary x; x outside [0, 1] is an error on the CPU (see the module docstring)."""
    check_floating(logits, "logits")
    check_floating(x, "x")
    check_same_device(logits=logits, x=x)
    check_unit_interval(x)
    logits, x = torch.broadcast_tensors(logits, x)   # e.g. (S, N, D) logits for (N, D) images
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def elbo_terms(model: VAE, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Per example: -log p(x | h) at one h ~ q(h | x) (summed over pixels) and the analytic
    KL(q || p) (summed over latent dims); each (N,). -ELBO = their sum. Kingma & Welling eq. (10)."""
    _check_vae(model)
    mu, logvar = model.posterior(x)                          # (N, k) each
    logits = model.decode(reparameterize(mu, logvar, generator))  # (N, D)
    return -bernoulli_log_prob(logits, x), kl_standard_normal(mu, logvar)


def elbo_loss(model: VAE, x: Tensor) -> Tensor:
    """-ELBO: mean over the batch of [-log p(x | h) summed over pixels + KL summed over latent
    dims], in nats per image. A training loss for ``aebook.fit``. Kingma & Welling 2013, DLB §20.10.3."""
    recon, kl = elbo_terms(model, x)
    return (recon + kl).mean()


def pixel_mean_elbo_loss(model: VAE, x: Tensor) -> Tensor:
    """THE COMMON MISTAKE, kept for the demonstration: the reconstruction term AVERAGED over pixels
    and batch (``F.binary_cross_entropy_with_logits``'s default reduction='mean') plus the KL SUMMED
    over latent dims and averaged over the batch. It equals (recon + D * KL) / D: the KL weighted
    D times (784 on MNIST), and the value is not in nats per image."""
    _check_vae(model)
    mu, logvar = model.posterior(x)
    logits = model.decode(reparameterize(mu, logvar))
    check_unit_interval(x)
    return F.binary_cross_entropy_with_logits(logits, x) + kl_standard_normal(mu, logvar).mean()


def binarize(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Stochastic binarisation: x_bin ~ Bernoulli(x), independently per pixel; x in [0, 1], (N, D).

    The range is checked on CPU tensors (``binarized`` calls this every batch: no device sync)."""
    _check_batch(x)
    check_unit_interval(x)
    return torch.bernoulli(x, generator=generator)


def binarized(loss: LossFn) -> LossFn:
    """Dynamic binarisation: ``loss(model, binarize(x))`` with a fresh draw at every batch, so
    grey MNIST becomes a stream of binary images for which a Bernoulli decoder is a proper model."""
    if not callable(loss):
        raise TypeError(f"loss must be callable, got {type(loss).__name__}")
    return lambda model, x: loss(model, binarize(x))


def log_weights(model: VAE, x: Tensor, n_samples: int, generator: torch.Generator | None = None) -> Tensor:
    """log w_s = log p(x | h_s) + log p(h_s) - log q(h_s | x) for h_s ~ q(h | x), s = 1..S: (S, N).

    Their mean over s is a Monte-Carlo ELBO, their log-mean-exp the importance-weighted bound
    (Burda et al. 2016); both bound log p(x) from below in expectation."""
    _check_vae(model)
    _check_count("n_samples", n_samples)
    mu, logvar = model.posterior(x)                                          # (N, k)
    h = reparameterize(mu.expand(n_samples, *mu.shape), logvar.expand(n_samples, *mu.shape), generator)  # (S, N, k)
    log_prior = gaussian_log_prob(h, torch.zeros_like(h), torch.zeros_like(h))   # (S, N)
    return bernoulli_log_prob(model.decode(h), x) + log_prior - gaussian_log_prob(h, mu, logvar)


@torch.no_grad()
def evaluate_bounds(model: VAE, x: Tensor, n_samples: int = 1, batch_size: int = 500,
                generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Per-example bounds on a data set, each (N,), in nats, in eval mode and in batches:
    ``recon`` -E_q log p(x|h) and ``kl`` (analytic), their ELBO = -(recon + kl), both averaged over
    n_samples draws; ``mc_elbo``, the mean of ``log_weights``; ``iwae``, their log-mean-exp.
    Batches go to the model's device; the bounds come back on x's device. x must be finite and in
    [0, 1] (checked once, also on an accelerator)."""
    _check_vae(model)
    _check_batch(x)
    _check_count("n_samples", n_samples)
    _check_count("batch_size", batch_size)
    if x.device.type != "meta" and not (all_finite(x) and bool(((x >= 0) & (x <= 1)).all())):
        raise ValueError("x must lie in [0, 1] (Bernoulli targets), without NaN")
    device = model_device(model)
    out: dict[str, list[Tensor]] = {"recon": [], "kl": [], "mc_elbo": [], "iwae": []}
    with eval_mode(model):
        for xb in x.split(batch_size):
            xb = xb.to(device)
            mu, logvar = model.posterior(xb)
            h = reparameterize(mu.expand(n_samples, *mu.shape), logvar.expand(n_samples, *mu.shape), generator)
            out["recon"].append(-bernoulli_log_prob(model.decode(h), xb).mean(0).to(x.device))
            out["kl"].append(kl_standard_normal(mu, logvar).to(x.device))
            log_w = log_weights(model, xb, n_samples, generator)              # (S, N), fresh draws
            out["mc_elbo"].append(log_w.mean(0).to(x.device))
            out["iwae"].append((torch.logsumexp(log_w, 0) - math.log(n_samples)).to(x.device))
    res = {key: torch.cat(v) for key, v in out.items()}
    res["elbo"] = -(res["recon"] + res["kl"])
    return res


@torch.no_grad()
def active_units(model: VAE, x: Tensor, threshold: float = 0.01) -> tuple[int, Tensor]:
    """Number of latent units u with Cov_x(E_q[h_u]) > threshold, and those variances (k,).

    A unit whose posterior mean does not vary with x carries no information: posterior collapse.
    The measure and the 0.01 threshold are Burda et al. 2016's. The variances live on x's device."""
    _check_vae(model)
    _check_batch(x)
    if len(x) < 2:
        raise ValueError(f"x must hold at least 2 examples for a variance, got shape {tuple(x.shape)}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold < math.inf:
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}")
    device = model_device(model)
    mu = torch.cat([model.encode(xb.to(device)).to(x.device) for xb in x.split(2048)])  # (N, k)
    variances = mu.var(0)
    return int((variances > threshold).sum()), variances


def latent_grid(n: int, lo: float = 0.05, hi: float = 0.95, device: torch.device | str | None = None) -> Tensor:
    """An n x n grid of 2-D codes spaced evenly in prior probability from ``lo`` to ``hi`` (through
    the inverse normal CDF, as in Kingma & Welling's Fig. 4), row-major with h_2 falling down the
    rows: (n * n, 2), on ``device``. n = 1 gives the centre, (0, 0)."""
    _check_count("n", n)
    if not 0 < lo < hi < 1:
        raise ValueError(f"need 0 < lo < hi < 1, got lo={lo}, hi={hi}")
    p = torch.linspace(lo, hi, n, device=device) if n > 1 else torch.full((1,), (lo + hi) / 2, device=device)
    z = torch.distributions.Normal(0.0, 1.0).icdf(p)  # (n,)
    h1, h2 = torch.meshgrid(z, z.flip(0), indexing="xy")                      # (n, n) each
    return torch.stack([h1, h2], -1).reshape(-1, 2)


def interpolate(h0: Tensor, h1: Tensor, steps: int) -> Tensor:
    """Codes on the straight line from h0 to h1, both ends included: (k,), (k,) -> (steps, k)."""
    check_floating(h0, "h0")
    check_floating(h1, "h1")
    if h0.ndim != 1 or h0.shape != h1.shape:
        raise ValueError(f"h0 and h1 must be (k,) tensors of one shape, got {tuple(h0.shape)} and {tuple(h1.shape)}")
    check_same_device(h0=h0, h1=h1)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    t = torch.linspace(0, 1, steps, device=h0.device, dtype=h0.dtype)[:, None]  # (steps, 1)
    return (1 - t) * h0 + t * h1


def frechet_distance(f_a: Tensor, f_b: Tensor) -> float:
    """||m_a - m_b||^2 + Tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2) between Gaussians fitted to two
    sets of feature vectors (N_a, F) and (N_b, F): the squared 2-Wasserstein distance of the fits,
    the "FID" of Heusel et al. 2017 when the features come from a classifier. Computed in float64."""
    _check_batch(f_a, "f_a")
    _check_batch(f_b, "f_b", dim=f_a.shape[1])
    if len(f_a) < 2 or len(f_b) < 2:
        raise ValueError(f"need at least 2 vectors per set for a covariance, got {len(f_a)} and {len(f_b)}")
    check_same_device(f_a=f_a, f_b=f_b)
    for name, f in (("f_a", f_a), ("f_b", f_b)):
        if not all_finite(f):
            raise ValueError(f"{name} holds NaN or infinite values")
    a, b = float64(f_a), float64(f_b)
    c_a, c_b = torch.cov(a.T), torch.cov(b.T)                   # (F, F) each
    w, u = torch.linalg.eigh(c_a)
    root_a = (u * w.clamp(min=0).sqrt()) @ u.T                  # C_a^1/2, symmetric
    cross = torch.linalg.eigvalsh(root_a @ c_b @ root_a).clamp(min=0).sqrt().sum()  # Tr (.)^1/2
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + c_a.trace() + c_b.trace() - 2 * cross)
