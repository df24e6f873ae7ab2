"""aebook.sparsity: penalties against numpy, torch.distributions and autograd; the model pieces and
the measurements against closed forms."""
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Bernoulli, Laplace, kl_divergence

from aebook.losses import sum_squared_error
from aebook.models import Autoencoder
from aebook.metrics import encode
from aebook.sparsity import (UnitNormLinear, bernoulli_kl, decoder_filters, filter_spread,
                             fraction_inactive, kl_loss, kl_sparsity_penalty, l1_loss,
                             l1_penalty, laplace_neg_log_prior, mean_activation, sparse_autoencoder)


@pytest.fixture
def h():
    return torch.randn(7, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


@pytest.fixture
def h01():  # sigmoid-like codes in (0, 1)
    return torch.rand(9, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 0.9 + 0.05


def test_l1_penalty_reference_and_reduction(h):
    value = l1_penalty(h, 0.3)
    assert value.ndim == 0
    assert float(value) == pytest.approx(0.3 * np.abs(h.numpy()).sum(1).mean(), rel=1e-12)
    torch.testing.assert_close(l1_penalty(torch.cat([h, h]), 0.3), value)  # a mean over the batch
    assert float(l1_penalty(torch.ones(2, 784), 1.0)) == pytest.approx(784.0)  # a sum over units
    assert float(l1_penalty(h, 0.0)) == 0.0


def test_laplace_prior_is_l1_plus_constant(h):
    lam = 0.7
    reference = -Laplace(0.0, 1.0 / lam).log_prob(h).sum(1).mean()  # scale b = 1/lam
    torch.testing.assert_close(laplace_neg_log_prior(h, lam), reference)
    const = laplace_neg_log_prior(h, lam) - l1_penalty(h, lam)
    assert float(const) == pytest.approx(-h.shape[1] * math.log(lam / 2))
    h2 = 3 * h + 1
    torch.testing.assert_close(laplace_neg_log_prior(h2, lam) - l1_penalty(h2, lam), const)


def test_bernoulli_kl_matches_torch():
    rho_hat = torch.tensor([0.01, 0.05, 0.3, 0.99], dtype=torch.float64)
    reference = kl_divergence(Bernoulli(probs=torch.full_like(rho_hat, 0.05)), Bernoulli(probs=rho_hat))
    torch.testing.assert_close(bernoulli_kl(0.05, rho_hat), reference)
    assert float(bernoulli_kl(0.05, torch.tensor([0.05]))) == pytest.approx(0.0, abs=1e-12)


def test_kl_penalty_reference_and_gradient(h01):
    rho, beta = 0.1, 2.5
    rho_hat = h01.numpy().mean(0)
    expected = beta * np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat)))
    hh = h01.clone().requires_grad_(True)
    value = kl_sparsity_penalty(hh, rho, beta)
    assert float(value.detach()) == pytest.approx(expected, rel=1e-12)
    value.backward()
    analytic = beta / len(h01) * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))  # (k,), the same for every n
    np.testing.assert_allclose(hh.grad.numpy(), np.broadcast_to(analytic, h01.shape), rtol=1e-10)
    # A batch statistic: duplicating the batch leaves it unchanged; at rho_hat = rho it is zero.
    torch.testing.assert_close(kl_sparsity_penalty(torch.cat([h01, h01]), rho, beta), value.detach())
    assert float(kl_sparsity_penalty(torch.full((3, 4), 0.2), 0.2)) == pytest.approx(0.0, abs=1e-6)


def test_kl_penalty_stays_finite_at_saturation():
    assert torch.isfinite(kl_sparsity_penalty(torch.zeros(4, 3), 0.05))
    assert torch.isfinite(kl_sparsity_penalty(torch.ones(4, 3), 0.05))


def test_penalty_input_errors(h, h01):
    with pytest.raises(ValueError):
        l1_penalty(h[0], 0.1)  # (k,) is not a batch
    with pytest.raises(TypeError):
        l1_penalty(h.numpy(), 0.1)
    with pytest.raises(ValueError):
        l1_penalty(h, -0.1)
    with pytest.raises(TypeError):
        l1_penalty(h, "0.1")
    with pytest.raises(TypeError):
        l1_penalty(h, True)
    with pytest.raises(ValueError):
        laplace_neg_log_prior(h, 0.0)  # no Laplace density with lam = 0
    for rho in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError):
            kl_sparsity_penalty(h01, rho)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        kl_sparsity_penalty(h, 0.05)  # codes outside [0, 1]
    with pytest.raises(ValueError):
        bernoulli_kl(0.05, torch.tensor([0.0, 0.5]))
    with pytest.raises(TypeError):
        bernoulli_kl(0.05, [0.5])
    with pytest.raises(TypeError, match="h must be a floating-point tensor"):
        l1_penalty(h.long(), 0.1)
    with pytest.raises(ValueError, match="lam"):
        l1_penalty(h, float("nan"))
    h_nan = h01.clone()
    h_nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        kl_sparsity_penalty(h_nan, 0.05)


def test_kl_penalty_reads_no_values_off_the_cpu(h01):
    """The range check on h was a device sync per batch; on an accelerator (meta here) it is skipped."""
    assert kl_sparsity_penalty(h01.to("meta"), 0.05).device.type == "meta"


def small_model(code_activation=nn.ReLU, unit_norm=True):
    torch.manual_seed(0)
    return sparse_autoencoder(6, 4, code_activation=code_activation, unit_norm_decoder=unit_norm).double()


def test_training_losses_compose_error_and_penalty(h01):
    x = h01[:, :3].repeat(1, 2)  # (9, 6) in (0, 1)
    model = small_model()
    hh = model.encode(x)
    torch.testing.assert_close(l1_loss(0.2)(model, x), sum_squared_error(model(x), x) + 0.2 * hh.abs().sum(1).mean())
    sig = small_model(nn.Sigmoid)
    hs = sig.encode(x)
    torch.testing.assert_close(kl_loss(0.1, 3.0)(sig, x), sum_squared_error(sig(x), x) + kl_sparsity_penalty(hs, 0.1, 3.0))
    l1_loss(0.2)(model, x).backward()
    assert model.encoder[0].weight.grad.abs().sum() > 0


def test_training_loss_errors(h01):
    with pytest.raises(ValueError):
        l1_loss(-1.0)
    with pytest.raises(ValueError):
        kl_loss(1.2)
    with pytest.raises(TypeError, match="Autoencoder"):
        l1_loss(0.1)(nn.Linear(4, 4).double(), h01)


def test_unit_norm_linear():
    torch.manual_seed(0)
    layer = UnitNormLinear(4, 6).double()
    w = layer.normalized_weight()
    torch.testing.assert_close(w.norm(dim=0), torch.ones(4, dtype=torch.float64))
    h = torch.randn(5, 4, dtype=torch.float64)
    wn = layer.weight.detach().numpy()
    expected = h.numpy() @ (wn / np.linalg.norm(wn, axis=0)).T + layer.bias.detach().numpy()
    np.testing.assert_allclose(layer(h).detach().numpy(), expected, rtol=1e-12)
    before = layer(h).detach()
    with torch.no_grad():
        layer.weight.mul_(torch.tensor([2.0, 0.5, 3.0, 1.0], dtype=torch.float64))  # rescale columns
    torch.testing.assert_close(layer(h), before)


def test_sparse_autoencoder_structure_and_homogeneity():
    plain, unit = small_model(unit_norm=False), small_model(unit_norm=True)
    assert isinstance(plain.decoder, nn.Linear) and not isinstance(plain.decoder, UnitNormLinear)
    assert isinstance(unit.decoder, UnitNormLinear)
    assert isinstance(unit.encoder[1], nn.ReLU) and isinstance(small_model(nn.Sigmoid).encoder[1], nn.Sigmoid)
    # Any plain ReLU model is a unit-norm one with the column norms moved into the encoder.
    norms = plain.decoder.weight.detach().norm(dim=0)  # (k,)
    with torch.no_grad():
        unit.decoder.weight.copy_(plain.decoder.weight)
        unit.decoder.bias.copy_(plain.decoder.bias)
        unit.encoder[0].weight.copy_(plain.encoder[0].weight * norms[:, None])
        unit.encoder[0].bias.copy_(plain.encoder[0].bias * norms)
    x = torch.rand(8, 6, dtype=torch.float64)
    torch.testing.assert_close(unit(x), plain(x))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError):
            sparse_autoencoder(bad, 4)


def test_decoder_filters():
    plain, unit = small_model(unit_norm=False), small_model()
    torch.testing.assert_close(decoder_filters(plain), plain.decoder.weight.detach().T)
    filters = decoder_filters(unit)
    assert filters.shape == (4, 6)
    torch.testing.assert_close(filters.norm(dim=1), torch.ones(4, dtype=torch.float64))
    with pytest.raises(TypeError):
        decoder_filters(Autoencoder(nn.Linear(6, 4), nn.Sequential(nn.Linear(4, 6), nn.Sigmoid())))
    with pytest.raises(TypeError):
        decoder_filters(nn.Linear(4, 6))
    assert decoder_filters(small_model().to("meta")).device.type == "meta"  # was copied to the CPU


def test_fraction_inactive_mean_activation():
    model = small_model()
    model.train()
    x = torch.rand(11, 6, dtype=torch.float64)
    h = encode(model, x, batch_size=4)
    torch.testing.assert_close(h, model.encode(x).detach())
    assert model.training  # mode restored
    hn = h.numpy()
    assert fraction_inactive(h, 0.05) == pytest.approx(np.mean(np.abs(hn) <= 0.05))
    assert fraction_inactive(torch.tensor([[0.0, 1.0], [-0.001, 0.5]]), 0.01) == 0.5
    np.testing.assert_allclose(mean_activation(h).numpy(), hn.mean(0))
    with pytest.raises(ValueError):
        fraction_inactive(h, -0.1)
    with pytest.raises(ValueError, match="h holds NaN"):
        fraction_inactive(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError):
        mean_activation(torch.zeros(0, 3))


def test_filter_spread_closed_forms():
    d = 400
    flat, spike = torch.ones(1, d), torch.zeros(1, d)
    spike[0, 7] = 3.0
    assert float(filter_spread(flat)) == pytest.approx(1.0)
    assert float(filter_spread(spike)) == pytest.approx(1 / d)
    noise = torch.randn(200, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert float(filter_spread(noise).mean()) == pytest.approx(1 / 3, rel=0.05)  # E x^4 = 3 sigma^4
    w = noise[:3].numpy()
    np.testing.assert_allclose(filter_spread(noise[:3]).numpy(), (w**2).sum(1) ** 2 / (d * (w**4).sum(1)))
    with pytest.raises(ValueError):
        filter_spread(torch.ones(d))
