"""aebook.corruption: the three corruption processes and the denoising loss."""
import functools
import math

import pytest
import torch
from torch import nn

from aebook import bce_logits, sum_squared_error
from aebook.corruption import additive_gaussian, denoising_loss, masking, salt_and_pepper


def _x(n=400, d=500, seed=0):
    """Pixels strictly inside (0, 1), so that 0 and 1 in the output mark corrupted entries."""
    return 0.1 + 0.8 * torch.rand(n, d, generator=torch.Generator().manual_seed(seed))


def _binomial_tol(p, n):
    return 5 * math.sqrt(p * (1 - p) / n) + 1e-9


# --- additive_gaussian -----------------------------------------------------------------------

def test_gaussian_noise_has_mean_zero_and_std_sigma():
    x = _x()
    x_tilde = additive_gaussian(x, 0.3, generator=torch.Generator().manual_seed(1))
    eps = (x_tilde - x).flatten()
    assert x_tilde.shape == x.shape
    assert abs(float(eps.mean())) < 5 * 0.3 / math.sqrt(eps.numel())
    assert float(eps.std()) == pytest.approx(0.3, rel=0.01)
    # Gaussian, not uniform: the fraction beyond 2 sigma is 4.55%.
    assert float((eps.abs() > 0.6).float().mean()) == pytest.approx(0.0455, abs=_binomial_tol(0.0455, eps.numel()))


def test_gaussian_sigma_zero_is_identity_and_input_untouched():
    x = _x(10, 20)
    before = x.clone()
    assert torch.equal(additive_gaussian(x, 0.0), x)
    additive_gaussian(x, 1.0)
    assert torch.equal(x, before)


# --- masking -----------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.0, 0.25, 0.75, 1.0])
def test_masking_zeroes_a_fraction_p_and_keeps_the_rest_unscaled(p):
    x = _x()
    x_tilde = masking(x, p, generator=torch.Generator().manual_seed(2))
    zeroed = x_tilde == 0
    assert float(zeroed.float().mean()) == pytest.approx(p, abs=_binomial_tol(p, x.numel()))
    assert torch.equal(x_tilde[~zeroed], x[~zeroed])  # no 1/(1-p) rescaling, unlike dropout


def test_masking_is_independent_across_pixels():
    x = torch.ones(4000, 2)
    kept = masking(x, 0.5, generator=torch.Generator().manual_seed(3))
    both_kept = float((kept.sum(1) == 2).float().mean())
    assert both_kept == pytest.approx(0.25, abs=_binomial_tol(0.25, 4000))


# --- salt_and_pepper ---------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.0, 0.2, 1.0])
def test_salt_and_pepper_sets_a_fraction_p_to_0_or_1_evenly(p):
    x = _x()
    x_tilde = salt_and_pepper(x, p, generator=torch.Generator().manual_seed(4))
    salt, pepper = x_tilde == 1, x_tilde == 0
    n = x.numel()
    assert float((salt | pepper).float().mean()) == pytest.approx(p, abs=_binomial_tol(p, n))
    assert float(salt.float().mean()) == pytest.approx(p / 2, abs=_binomial_tol(p / 2, n))
    kept = ~(salt | pepper)
    assert torch.equal(x_tilde[kept], x[kept])


# --- common behaviour --------------------------------------------------------------------------

CORRUPTIONS = [functools.partial(additive_gaussian, sigma=0.5), functools.partial(masking, p=0.5),
               functools.partial(salt_and_pepper, p=0.5)]


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_generator_makes_noise_reproducible_and_global_rng_is_used_otherwise(corrupt):
    x = _x(20, 30)
    a = corrupt(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, corrupt(x, generator=torch.Generator().manual_seed(5)))
    assert not torch.equal(a, corrupt(x, generator=torch.Generator().manual_seed(6)))
    torch.manual_seed(7)
    b = corrupt(x)
    torch.manual_seed(7)
    assert torch.equal(b, corrupt(x))


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_bad_inputs_raise(corrupt):
    with pytest.raises(TypeError):
        corrupt([[0.5]])
    with pytest.raises(ValueError):
        corrupt(torch.rand(3, 4, 5))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        corrupt(torch.ones(3, 4, dtype=torch.int64))
    with pytest.raises(TypeError):
        corrupt(torch.rand(3, 4), generator=0)
    with pytest.raises(ValueError):  # a CPU generator for x on another device
        corrupt(torch.rand(3, 4, device="meta"), generator=torch.Generator())


@pytest.mark.parametrize("fn, bad", [(additive_gaussian, -0.1), (masking, 1.5), (masking, -0.1),
                                     (salt_and_pepper, 2.0)])
def test_bad_levels_raise(fn, bad):
    with pytest.raises(ValueError):
        fn(torch.rand(3, 4), bad)
    with pytest.raises(TypeError):
        fn(torch.rand(3, 4), "0.5")


@pytest.mark.parametrize("fn, name", [(additive_gaussian, "sigma"), (masking, "p"), (salt_and_pepper, "p")])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_and_infinite_levels_raise(fn, name, bad):
    """A NaN level used to pass: Gaussian noise then returned all NaN, masking and salt-and-pepper
    corrupted nothing; sigma = inf gave +-3.4e38."""
    with pytest.raises(ValueError, match=f"{name} must be in"):
        fn(torch.rand(3, 4), bad)


def test_nan_in_x_stays_nan_as_documented():
    x = torch.rand(3, 4)
    x[0, 0] = float("nan")
    assert torch.isnan(additive_gaussian(x, 0.1)[0, 0]) and torch.isnan(masking(x, 0.0)[0, 0])


# --- denoising_loss ----------------------------------------------------------------------------

def test_denoising_loss_scores_the_clean_x_from_the_corrupted_input():
    model = nn.Sequential(nn.Linear(6, 6), nn.Sigmoid())
    x = _x(8, 6)
    corrupt = functools.partial(masking, p=0.5)
    loss = denoising_loss(corrupt, generator=torch.Generator().manual_seed(8))
    x_tilde = corrupt(x, generator=torch.Generator().manual_seed(8))
    r = model(x_tilde)
    expected = ((r - x) ** 2).sum(1).mean()  # sum over pixels, mean over the batch, target clean x
    torch.testing.assert_close(loss(model, x), expected)
    assert not torch.allclose(expected, ((r - x_tilde) ** 2).sum(1).mean())


def test_denoising_loss_with_a_bernoulli_decoder_and_without_noise():
    model = nn.Linear(5, 5)
    x = _x(7, 5)
    loss = denoising_loss(functools.partial(additive_gaussian, sigma=0.0), recon=bce_logits)
    logits = model(x)
    ref = -(x * torch.log(torch.sigmoid(logits)) + (1 - x) * torch.log(1 - torch.sigmoid(logits))).sum(1).mean()
    torch.testing.assert_close(loss(model, x), ref)
    plain = denoising_loss(functools.partial(masking, p=0.0))
    torch.testing.assert_close(plain(model, x), sum_squared_error(model(x), x))


def test_denoising_loss_draws_fresh_noise_each_call_and_trains():
    torch.manual_seed(0)
    model = nn.Linear(4, 4)
    x = _x(16, 4)
    loss = denoising_loss(functools.partial(additive_gaussian, sigma=0.1))
    assert not torch.equal(loss(model, x), loss(model, x))
    loss(model, x).backward()
    assert model.weight.grad is not None and model.weight.grad.abs().sum() > 0


def test_denoising_loss_bad_inputs():
    with pytest.raises(TypeError):
        denoising_loss("masking")
    with pytest.raises(TypeError):
        denoising_loss(masking, recon=None)
    with pytest.raises(TypeError):
        denoising_loss(masking, generator=1)
    shrink = denoising_loss(lambda x, generator=None: x[:, :2])
    with pytest.raises(ValueError):
        shrink(nn.Identity(), torch.rand(3, 4))
