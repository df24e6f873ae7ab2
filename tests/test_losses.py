"""aebook.losses: sum over features, mean over the batch, against torch.nn.functional and numpy."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aebook.losses import bce_logits, bernoulli_nll, squared_error, sum_squared_error


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 10, generator=g, dtype=torch.float64)       # grey pixels in [0, 1]
    out = 3 * torch.randn(6, 10, generator=g, dtype=torch.float64)  # reconstructions or logits
    return out, x


def test_sum_squared_error_references(batch):
    r, x = batch
    loss = sum_squared_error(r, x)
    assert loss.ndim == 0
    torch.testing.assert_close(loss, F.mse_loss(r, x, reduction="sum") / len(x))
    rn, xn = r.numpy(), x.numpy()
    assert float(loss) == pytest.approx(np.mean([np.sum((a - b) ** 2) for a, b in zip(rn, xn)]), rel=1e-12)


def test_bce_logits_references(batch):
    logits, x = batch
    loss = bce_logits(logits, x)
    assert loss.ndim == 0
    torch.testing.assert_close(loss, F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / len(x))
    p = 1 / (1 + np.exp(-logits.numpy()))
    xn = x.numpy()
    nll = -(xn * np.log(p) + (1 - xn) * np.log(1 - p)).sum(1).mean()
    assert float(loss) == pytest.approx(nll, rel=1e-10)


def test_reduction_is_sum_over_features_mean_over_batch():
    x = torch.zeros(4, 784)
    r = torch.full((4, 784), 0.1)
    assert float(sum_squared_error(r, x)) == pytest.approx(784 * 0.01, rel=1e-5)  # not 0.01
    double = sum_squared_error(torch.cat([r, r]), torch.cat([x, x]))
    torch.testing.assert_close(double, sum_squared_error(r, x))  # independent of the batch size


def test_bce_logits_is_stable_for_large_logits():
    x = torch.tensor([[1.0, 0.0]])
    loss = bce_logits(torch.tensor([[200.0, -200.0]]), x)
    assert torch.isfinite(loss) and float(loss) == pytest.approx(0.0, abs=1e-6)
    assert float(bce_logits(torch.tensor([[-200.0, 200.0]]), x)) == pytest.approx(400.0, rel=1e-6)


@pytest.mark.parametrize("loss", [sum_squared_error, bce_logits])
def test_bad_shapes(loss):
    with pytest.raises(ValueError):
        loss(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(ValueError):
        loss(torch.zeros(3, 4), torch.zeros(4, 3))
    with pytest.raises(ValueError):
        loss(torch.zeros(4), torch.zeros(4))  # no silent (D,) as a batch
    with pytest.raises(ValueError):
        loss(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))


@pytest.mark.parametrize("loss", [sum_squared_error, bce_logits])
def test_bad_types(loss):
    with pytest.raises(TypeError):
        loss(np.zeros((3, 4)), torch.zeros(3, 4))
    with pytest.raises(TypeError):
        loss(torch.zeros(3, 4), [[0.0] * 4] * 3)


def test_model_losses(batch):
    _, x = batch
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 3), nn.Linear(3, 10)).double()
    loss = squared_error(model, x)
    torch.testing.assert_close(loss, ((model(x) - x) ** 2).sum(1).mean())
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    nll = bernoulli_nll(model, x)
    torch.testing.assert_close(nll, F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / len(x))


@pytest.mark.parametrize("loss", [sum_squared_error, bce_logits])
def test_integers_and_devices_are_named(loss):
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        loss(torch.zeros(3, 4), torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="x on meta"):
        loss(torch.zeros(3, 4), torch.zeros(3, 4, device="meta"))


@pytest.mark.parametrize("target", [3.0, -0.5, float("nan")])
def test_bce_rejects_targets_outside_the_unit_interval(target):
    """x = 3 used to give a plausible 2.08: a cross-entropy against a 'probability' of 3."""
    x = torch.full((2, 4), 0.5)
    x[1, 2] = target
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        bce_logits(torch.zeros(2, 4), x)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        bernoulli_nll(nn.Linear(4, 4), x)


def test_bce_target_check_costs_no_device_sync():
    """On an accelerator the per-batch range check would stall every batch: it is skipped there
    (meta stands in for a GPU here), and fit's data are checked for NaN once."""
    x = torch.full((2, 4), 3.0, device="meta")
    assert bce_logits(torch.zeros(2, 4, device="meta"), x).device.type == "meta"


def test_nan_propagates_to_the_loss_as_documented():
    r = torch.zeros(2, 3)
    r[0, 0] = float("nan")
    assert torch.isnan(sum_squared_error(r, torch.zeros(2, 3)))
