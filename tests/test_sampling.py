"""aebook.sampling: the generalized-DAE chain, the reconstruction std, and the MMD."""
import math

import pytest
import torch
from torch import nn

from aebook.sampling import denoising_chain, mmd2, reconstruction_std


class Shrink(nn.Module):
    """r(x) = a x: the optimal DAE for p = N(0, s^2 I) and noise sigma has a = s^2 / (s^2 + sigma^2)."""

    def __init__(self, a: float):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float64))

    def forward(self, x):
        return self.a * x


def test_chain_with_the_exact_posterior_samples_the_data_density():
    # p = N(0, s^2), C = N(x, sigma^2): the posterior is N(a x_tilde, a sigma^2), a = s^2/(s^2+sigma^2),
    # so the chain with sigma_r^2 = a sigma^2 is a Gibbs sampler whose stationary law is p.
    s, sigma = 0.5, 0.4
    a = s ** 2 / (s ** 2 + sigma ** 2)
    x0 = torch.full((20000, 1), 3.0, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    x = denoising_chain(Shrink(a), x0, sigma, steps=60, sigma_r=math.sqrt(a) * sigma, generator=g)
    assert x.shape == x0.shape and x.dtype == torch.float64
    assert float(x.mean()) == pytest.approx(0.0, abs=0.02)
    assert float(x.std()) == pytest.approx(s, rel=0.03)
    # a point-mass reconstruction (sigma_r = 0) shrinks the spread instead
    y = denoising_chain(Shrink(a), x0, sigma, steps=60, sigma_r=0.0, generator=g)
    assert float(y.std()) < 0.8 * s


def test_chain_uses_the_generator_and_leaves_x0_and_mode_alone():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.train()
    x0 = torch.randn(5, 2)
    runs = [denoising_chain(model, x0, 0.1, 3, generator=torch.Generator().manual_seed(1))
            for _ in range(2)]
    torch.testing.assert_close(runs[0], runs[1])
    assert model.training and not runs[0].requires_grad
    torch.testing.assert_close(denoising_chain(model, x0, 0.1, 0), x0)


def test_reconstruction_std_is_the_rms_residual_per_coordinate():
    # the identity map: residual = sigma * eps, so sigma_r = sigma
    x = torch.randn(4000, 3, dtype=torch.float64)
    ident = Shrink(1.0)
    got = reconstruction_std(ident, x, 0.3, n_draws=3, generator=torch.Generator().manual_seed(0))
    assert got == pytest.approx(0.3, rel=0.02)
    # the optimal shrinkage for p = N(0, I): the posterior std sqrt(a) sigma
    a = 1 / (1 + 0.3 ** 2)
    assert reconstruction_std(Shrink(a), x, 0.3, n_draws=3) == pytest.approx(math.sqrt(a) * 0.3, rel=0.03)


def test_mmd2_is_near_zero_for_one_distribution_and_large_for_two():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(800, 2, generator=g), torch.randn(800, 2, generator=g)
    same, shifted = mmd2(a, b, 0.5), mmd2(a, b + 2.0, 0.5)
    assert abs(same) < 0.01 < shifted
    assert mmd2(a, b + 2.0, 0.5) == pytest.approx(mmd2(b + 2.0, a, 0.5))


def test_mmd2_matches_a_direct_double_loop():
    g = torch.Generator().manual_seed(1)
    a, b, h = torch.randn(6, 2, generator=g), torch.randn(5, 2, generator=g), 0.7

    def k(u, v):
        return math.exp(-float(((u - v) ** 2).sum()) / (2 * h * h))

    kaa = sum(k(a[i], a[j]) for i in range(6) for j in range(6) if i != j) / 30
    kbb = sum(k(b[i], b[j]) for i in range(5) for j in range(5) if i != j) / 20
    kab = sum(k(a[i], b[j]) for i in range(6) for j in range(5)) / 30
    assert mmd2(a, b, h) == pytest.approx(kaa + kbb - 2 * kab, rel=1e-6)


def test_bad_inputs_raise():
    model, x = nn.Linear(2, 2), torch.zeros(4, 2)
    with pytest.raises(TypeError):
        denoising_chain(lambda z: z, x, 0.1, 3)
    with pytest.raises(ValueError):
        denoising_chain(model, torch.zeros(4), 0.1, 3)
    with pytest.raises(ValueError):
        denoising_chain(model, torch.zeros(4, 2, dtype=torch.long), 0.1, 3)
    with pytest.raises(ValueError):
        denoising_chain(model, x, -0.1, 3)
    with pytest.raises(ValueError):
        denoising_chain(model, x, 0.1, -1)
    with pytest.raises(ValueError):
        denoising_chain(model, x, 0.1, 3, sigma_r=-1.0)
    with pytest.raises(ValueError):
        denoising_chain(nn.Linear(2, 3), x, 0.1, 1)
    with pytest.raises(ValueError):
        denoising_chain(model.to("meta"), x, 0.1, 1)  # the model on another device than x0
    with pytest.raises(ValueError):
        reconstruction_std(nn.Linear(2, 2), x, 0.1, n_draws=0)
    with pytest.raises(ValueError):
        mmd2(x, torch.zeros(4, 3), 0.5)
    with pytest.raises(ValueError):
        mmd2(x[:1], x, 0.5)
    with pytest.raises(ValueError):
        mmd2(x, x, 0.0)
    with pytest.raises(TypeError):
        mmd2(x, x, float("nan"))


def test_chain_runs_on_meta_tensors():
    model = nn.Linear(2, 2).to("meta")
    x = denoising_chain(model, torch.zeros(4, 2, device="meta"), 0.1, 2)
    assert x.device.type == "meta" and x.shape == (4, 2)
