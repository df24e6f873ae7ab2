"""aebook.vae: the VAE, its KL, reparameterisation, ELBO and bounds, checked against
torch.distributions, Monte-Carlo estimates, scipy and closed forms."""
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal, kl_divergence

import aebook
from aebook import vae as V


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _gaussian(n=64, k=5, seed=0):
    g = _gen(seed)
    return torch.randn(n, k, generator=g), torch.randn(n, k, generator=g)  # mu, logvar


def _tiny(d=12, hidden=(8,), k=3, seed=0):
    torch.manual_seed(seed)
    return V.VAE(d, hidden=hidden, latent_dim=k)


def _binary(n=16, d=12, seed=0):
    return (torch.rand(n, d, generator=_gen(seed)) < 0.3).float()


# --- KL ------------------------------------------------------------------------------------------

def test_kl_matches_torch_distributions():
    mu, logvar = _gaussian()
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(V.kl_standard_normal(mu, logvar), expected, rtol=1e-5, atol=1e-5)


def test_kl_matches_a_monte_carlo_estimate():
    mu, logvar = _gaussian(n=4, k=3, seed=1)
    q = Normal(mu, (0.5 * logvar).exp())
    h = q.sample((200_000,))                                              # (S, 4, 3)
    log_ratio = (q.log_prob(h) - Normal(0.0, 1.0).log_prob(h)).sum(-1)    # (S, 4)
    mc, se = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(len(h))
    assert torch.all((V.kl_standard_normal(mu, logvar) - mc).abs() < 5 * se + 1e-3)


def test_kl_is_nonnegative_and_zero_only_at_the_prior():
    mu, logvar = _gaussian(n=1000, k=4, seed=2)
    assert V.kl_standard_normal(mu, logvar).min() > 0
    zero = torch.zeros(2, 4)
    assert torch.equal(V.kl_standard_normal(zero, zero), torch.zeros(2))
    shifted = zero.clone()
    shifted[0, 1] = 1e-2
    kl = V.kl_standard_normal(shifted, zero)        # mu moved: 1/2 mu^2
    assert kl[0].item() == pytest.approx(0.5e-4, rel=1e-3) and kl[1] == 0
    assert V.kl_standard_normal(zero, shifted)[0] > 0  # variance moved


def test_kl_rejects_mismatched_shapes_and_non_tensors():
    with pytest.raises(ValueError, match="one shape"):
        V.kl_standard_normal(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(TypeError):
        V.kl_standard_normal(np.zeros((2, 3)), torch.zeros(2, 3))


# --- log-probabilities ---------------------------------------------------------------------------

def test_gaussian_log_prob_matches_torch_distributions():
    mu, logvar = _gaussian(seed=3)
    h = torch.randn(mu.shape, generator=_gen(4))
    expected = Normal(mu, (0.5 * logvar).exp()).log_prob(h).sum(-1)
    torch.testing.assert_close(V.gaussian_log_prob(h, mu, logvar), expected, rtol=1e-5, atol=1e-4)


def test_bernoulli_log_prob_matches_torch_distributions_and_broadcasts():
    x = _binary()
    logits = torch.randn(5, *x.shape, generator=_gen(5))                 # (S, N, D)
    expected = Bernoulli(logits=logits).log_prob(x).sum(-1)              # (S, N)
    torch.testing.assert_close(V.bernoulli_log_prob(logits, x), expected, rtol=1e-5, atol=1e-4)
    with pytest.raises(TypeError):
        V.bernoulli_log_prob(logits.numpy(), x)


# --- reparameterisation --------------------------------------------------------------------------

def test_reparameterize_has_the_right_distribution():
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, math.log(0.25)]])
    h = V.reparameterize(mu.expand(100_000, 2), logvar.expand(100_000, 2), _gen(6))
    torch.testing.assert_close(h.mean(0), mu[0], atol=0.02, rtol=0)
    torch.testing.assert_close(h.std(0), torch.tensor([1.0, 0.5]), atol=0.01, rtol=0)


def test_reparameterize_gradient_flows_to_mu_and_sigma():
    mu, logvar = _gaussian(n=3, k=4, seed=7)
    mu.requires_grad_(True)
    logvar.requires_grad_(True)
    h = V.reparameterize(mu, logvar, _gen(8))
    (h ** 2).sum().backward()
    eps = torch.randn(mu.shape, generator=_gen(8))                      # the same draw
    sigma = (0.5 * logvar.detach()).exp()
    # d/dmu (mu + sigma eps)^2 = 2h ; d/dlogvar = 2h * eps * sigma / 2
    torch.testing.assert_close(mu.grad, 2 * h.detach())
    torch.testing.assert_close(logvar.grad, h.detach() * eps * sigma)


# --- the model -----------------------------------------------------------------------------------

def test_vae_shapes_and_deterministic_view():
    model, x = _tiny(), _binary()
    mu, logvar = model.posterior(x)
    assert mu.shape == logvar.shape == (16, 3)
    assert torch.equal(model.encode(x), mu)
    assert model.decode(mu).shape == (16, 12)
    torch.testing.assert_close(model(x), model.decode(mu))
    r = model.decode_mean(torch.zeros(7, 2, 3))
    assert r.shape == (7, 2, 12) and r.min() > 0 and r.max() < 1
    s = model.sample(5, generator=_gen(9))
    assert s.shape == (5, 12) and not s.requires_grad


def test_vae_rejects_bad_inputs():
    model = _tiny()
    with pytest.raises(ValueError, match="12 columns"):
        model.posterior(torch.zeros(4, 11))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        model.posterior(torch.zeros(4, 12, dtype=torch.long))
    with pytest.raises(TypeError):
        model.posterior(np.zeros((4, 12)))
    with pytest.raises(ValueError, match="h must be"):
        model.decode(torch.zeros(4, 2))
    with pytest.raises(TypeError):
        model.decode(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="latent_dim"):
        V.VAE(12, latent_dim=0)
    with pytest.raises(ValueError, match="positive int"):
        model.sample(0)


def test_sample_follows_the_model_dtype():
    """A float64 VAE used to fail: the prior draws were float32."""
    model = _tiny().double()
    samples = model.sample(5, generator=_gen(0))
    assert samples.dtype == torch.float64 and samples.shape == (5, 12)


def test_sample_takes_a_generator_on_another_device():
    """A CPU generator used to fail on a CUDA model; meta stands in for the GPU here."""
    model, g = _tiny().to("meta"), _gen(0)
    state = g.get_state()
    samples = model.sample(5, generator=g)
    assert samples.device.type == "meta" and samples.shape == (5, 12)
    assert not torch.equal(g.get_state(), state)  # drawn from g, on g's device, then moved
    cpu = _tiny().sample(5, generator=_gen(0))
    torch.testing.assert_close(cpu, _tiny().sample(5, generator=_gen(0)))  # seeded: reproducible
    with pytest.raises(TypeError, match="generator"):
        _tiny().sample(5, generator=0)


def test_reparameterize_with_a_generator_on_another_device():
    mu = torch.zeros(3, 2, device="meta")
    assert V.reparameterize(mu, mu, _gen(0)).device.type == "meta"
    with pytest.raises(ValueError, match="mu on cpu, logvar on meta"):
        V.reparameterize(torch.zeros(3, 2), mu)


# --- ELBO and losses -----------------------------------------------------------------------------

def test_elbo_loss_is_the_mean_of_summed_terms():
    model, x = _tiny(), _binary()
    torch.manual_seed(10)
    loss = V.elbo_loss(model, x)
    torch.manual_seed(10)
    mu, logvar = model.posterior(x)
    h = mu + (0.5 * logvar).exp() * torch.randn(mu.shape)
    recon = F.binary_cross_entropy_with_logits(model.decode(h), x, reduction="sum") / len(x)
    kl = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum() / len(x)
    torch.testing.assert_close(loss, recon + kl)


def test_pixel_mean_loss_weights_the_kl_d_times():
    model, x = _tiny(), _binary()
    torch.manual_seed(11)
    recon, kl = V.elbo_terms(model, x)
    torch.manual_seed(11)
    wrong = V.pixel_mean_elbo_loss(model, x)
    torch.testing.assert_close(wrong, ((recon + 12 * kl) / 12).mean())


def test_losses_reject_a_plain_autoencoder():
    ae = aebook.mlp_autoencoder(12, [8], 3)
    for fn in (V.elbo_terms, V.pixel_mean_elbo_loss, V.evaluate_bounds, V.active_units):
        with pytest.raises(TypeError, match="VAE"):
            fn(ae, _binary())


def test_elbo_loss_trains_with_fit():
    x = (torch.rand(128, 12, generator=_gen(12)) < torch.linspace(0.1, 0.9, 12)).float()
    model = _tiny()
    before = aebook.evaluate(model, x, V.elbo_loss)
    aebook.fit(model, x, loss=V.binarized(V.elbo_loss), epochs=10, batch_size=32, lr=1e-2, progress=False)
    assert aebook.evaluate(model, x, V.elbo_loss) < before - 1.0


# --- binarisation --------------------------------------------------------------------------------

def test_binarize_draws_bernoulli_pixels():
    p = torch.linspace(0, 1, 11).expand(20_000, 11)
    x_bin = V.binarize(p, _gen(13))
    assert set(x_bin.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(x_bin.mean(0), p[0], atol=0.015, rtol=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        V.binarize(p + 0.5)
    with pytest.raises(ValueError):
        V.binarize(torch.zeros(5))


def test_binarized_feeds_binary_images_to_the_loss():
    seen = []
    loss = V.binarized(lambda model, x: seen.append(x) or x.sum())
    loss(None, torch.full((50, 4), 0.5))
    assert set(seen[0].unique().tolist()) == {0.0, 1.0}
    with pytest.raises(TypeError):
        V.binarized(3)


# --- bounds --------------------------------------------------------------------------------------

def _constant_decoder_vae(d=12, k=2):
    """A VAE whose decoder ignores h: p(x | h) = p(x), known exactly."""
    model = V.VAE(d, hidden=(), latent_dim=k)
    with torch.no_grad():
        model.decoder[0].weight.zero_()
        model.decoder[0].bias.copy_(torch.linspace(-2, 2, d))
        model.encoder[0].weight.mul_(0.1)   # q close to the prior: well-behaved weights
        model.encoder[0].bias.zero_()
    return model


def test_bounds_against_an_exact_likelihood():
    model, x = _constant_decoder_vae(), _binary(n=8)
    log_px = Bernoulli(logits=torch.linspace(-2, 2, 12)).log_prob(x).sum(-1)   # exact log p(x)
    b = V.evaluate_bounds(model, x, n_samples=2000, generator=_gen(14))
    kl = V.kl_standard_normal(*model.posterior(x)).detach()
    torch.testing.assert_close(b["elbo"], log_px - kl)               # ELBO = log p(x) - KL here
    assert torch.all(b["elbo"] <= log_px)
    torch.testing.assert_close(b["iwae"], log_px, atol=0.02, rtol=0)  # IWAE -> log p(x)
    torch.testing.assert_close(b["mc_elbo"], b["elbo"], atol=0.05, rtol=0)


def test_iwae_is_above_the_mean_of_the_same_weights_and_bounds_shapes():
    model, x = _tiny(), _binary()
    with torch.no_grad():
        log_w = V.log_weights(model, x, 7, _gen(15))
    assert log_w.shape == (7, 16)
    assert torch.all(torch.logsumexp(log_w, 0) - math.log(7) >= log_w.mean(0) - 1e-5)  # Jensen
    model.train()
    b = V.evaluate_bounds(model, x, n_samples=3, batch_size=5)
    assert model.training and set(b) == {"recon", "kl", "elbo", "mc_elbo", "iwae"}
    assert all(v.shape == (16,) for v in b.values())
    torch.testing.assert_close(b["elbo"], -(b["recon"] + b["kl"]))
    with pytest.raises(ValueError, match="n_samples"):
        V.log_weights(model, x, 0)


def test_active_units_counts_units_whose_mean_varies():
    model = V.VAE(12, hidden=(), latent_dim=3)
    with torch.no_grad():
        model.encoder[0].weight.zero_()
        model.encoder[0].weight[0, 0] = 1.0      # mu_0 = x_0: varies; mu_1, mu_2 constant
    x = torch.rand(500, 12, generator=_gen(16))
    count, variances = V.active_units(model, x)
    assert count == 1
    torch.testing.assert_close(variances, torch.stack([x[:, 0].var(), torch.tensor(0.0), torch.tensor(0.0)]))
    assert V.active_units(model, x, threshold=1.0)[0] == 0
    for bad in (-0.01, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="threshold"):
            V.active_units(model, x, threshold=bad)  # -0.01 used to count every unit as active
    with pytest.raises(ValueError, match="at least 2"):
        V.active_units(model, x[:1])


# --- latent-space helpers ------------------------------------------------------------------------

def test_latent_grid_is_spaced_in_prior_probability():
    grid = V.latent_grid(4, lo=0.1, hi=0.9)
    z = torch.tensor(scipy.stats.norm.ppf(np.linspace(0.1, 0.9, 4)), dtype=torch.float32)
    assert grid.shape == (16, 2)
    torch.testing.assert_close(grid[:4, 0], z, atol=1e-5, rtol=0)          # h_1 rises along a row
    torch.testing.assert_close(grid[::4, 1], z.flip(0), atol=1e-5, rtol=0)  # h_2 falls down the rows
    for bad in ({"lo": 0.0}, {"hi": 1.0}, {"lo": 0.6, "hi": 0.4}, {"lo": float("nan")}):
        with pytest.raises(ValueError):
            V.latent_grid(4, **bad)


def test_latent_grid_of_one_is_the_centre():
    """latent_grid(1) used to return the corner (icdf(0.05), icdf(0.05))."""
    torch.testing.assert_close(V.latent_grid(1), torch.zeros(1, 2), atol=1e-6, rtol=0)
    assert V.latent_grid(3, device="meta").device.type == "meta"


def test_interpolate_is_a_straight_line():
    h0, h1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    path = V.interpolate(h0, h1, 5)
    assert path.shape == (5, 2)
    torch.testing.assert_close(path[[0, 2, 4]], torch.stack([h0, (h0 + h1) / 2, h1]))
    with pytest.raises(ValueError):
        V.interpolate(h0, h1, 1)
    with pytest.raises(ValueError):
        V.interpolate(h0, torch.zeros(3), 5)
    with pytest.raises(TypeError, match="h1 must be a floating-point tensor"):
        V.interpolate(h0, torch.zeros(2, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="h0 on cpu, h1 on meta"):
        V.interpolate(h0, torch.zeros(2, device="meta"), 5)


def test_frechet_distance_matches_a_scipy_reference():
    g = _gen(17)
    a = torch.randn(300, 6, generator=g) @ torch.randn(6, 6, generator=g)
    b = torch.randn(200, 6, generator=g) * 2 + 1
    an, bn = a.double().numpy(), b.double().numpy()
    ca, cb = np.cov(an, rowvar=False), np.cov(bn, rowvar=False)
    expected = ((an.mean(0) - bn.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real)
    assert V.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert V.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="columns"):
        V.frechet_distance(a, b[:, :5])
    with pytest.raises(ValueError, match="at least 2"):
        V.frechet_distance(a, b[:1])
    b[3, 2] = float("nan")
    with pytest.raises(ValueError, match="f_b holds NaN"):  # was linalg's "ill-conditioned"
        V.frechet_distance(a, b)


@pytest.mark.parametrize("target", [5.0, -1.0, float("nan")])
def test_elbo_rejects_targets_outside_the_unit_interval(target):
    """elbo_loss with x = 5 used to give a plausible 7.27 nats."""
    model, x = _tiny(), _binary()
    x[0, 0] = target
    for loss in (V.elbo_loss, V.pixel_mean_elbo_loss, V.binarized(V.elbo_loss)):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            loss(model, x)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        V.evaluate_bounds(model, x)


def test_bounds_come_back_on_x_device():
    b = V.evaluate_bounds(_tiny().to("meta"), torch.empty(6, 12, device="meta"), n_samples=2)
    assert {v.device.type for v in b.values()} == {"meta"}

