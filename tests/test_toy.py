"""aebook.toy: the Gaussian mixture's density and score, and the manifolds with their tangents."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from aebook.toy import GaussianMixture2D, gaussian_mixture, noisy_circle, spiral, swiss_roll


@pytest.fixture
def mixture():
    """Three unequal components, in float64 so the checks below can be tight."""
    return GaussianMixture2D(means=torch.tensor([[0.0, 0.0], [3.0, 1.0], [-2.0, 2.5]], dtype=torch.float64),
                             stds=torch.tensor([0.5, 1.0, 0.3], dtype=torch.float64),
                             weights=torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64))


# --- GaussianMixture2D -----------------------------------------------------------------------

def test_log_prob_matches_scipy(mixture):
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2
    p = sum(float(w) * multivariate_normal(m.numpy(), float(s) ** 2 * np.eye(2)).pdf(x.numpy())
            for m, s, w in zip(mixture.means, mixture.stds, mixture.weights))
    lp = mixture.log_prob(x)
    assert lp.shape == (50,)
    np.testing.assert_allclose(lp.numpy(), np.log(p), rtol=1e-10)


def test_log_prob_integrates_to_one(mixture):
    step = 0.02
    g = torch.arange(-7, 7, step, dtype=torch.float64) + step / 2
    grid = torch.cartesian_prod(g, g)
    assert float(mixture.log_prob(grid).exp().sum() * step ** 2) == pytest.approx(1.0, abs=1e-4)


def test_score_is_the_gradient_of_log_prob(mixture):
    x = (torch.randn(40, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2).requires_grad_()
    (grad,) = torch.autograd.grad(mixture.log_prob(x).sum(), x)
    score = mixture.score(x.detach())
    assert score.shape == (40, 2)
    torch.testing.assert_close(score, grad, rtol=1e-9, atol=1e-12)


def test_sample_shape_seed_and_weights():
    # Components ten units apart, stds at most 1: the nearest mean tells the component.
    mixture = GaussianMixture2D(torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]),
                                torch.tensor([0.5, 1.0, 0.3]), torch.tensor([0.5, 0.3, 0.2]))
    x = mixture.sample(20000, seed=0)
    assert x.shape == (20000, 2)
    assert torch.equal(x, mixture.sample(20000, seed=0))
    assert not torch.equal(x, mixture.sample(20000, seed=1))
    nearest = torch.cdist(x, mixture.means).argmin(1)
    freq = torch.bincount(nearest, minlength=3).float() / len(x)
    torch.testing.assert_close(freq, mixture.weights, atol=0.015, rtol=0)
    for k in range(3):  # each component's spread is its std
        assert float((x[nearest == k] - mixture.means[k]).std()) == pytest.approx(float(mixture.stds[k]), rel=0.1)


def test_sample_bad_n(mixture):
    with pytest.raises(ValueError):
        mixture.sample(0)


def test_gaussian_mixture_layout():
    gm = gaussian_mixture(n_components=4, radius=3.0, std=0.2)
    torch.testing.assert_close(gm.means.norm(dim=1), torch.full((4,), 3.0))
    torch.testing.assert_close(gm.weights.sum(), torch.tensor(1.0))
    assert torch.all(gm.stds == 0.2)
    with pytest.raises(ValueError):
        gaussian_mixture(n_components=0)


@pytest.mark.parametrize("means, stds, weights", [
    ([[0, 0], [1, 1]], [1, 1], [0.5, 0.4]),           # weights do not sum to 1
    ([[0, 0], [1, 1]], [1, -1], [0.5, 0.5]),          # negative std
    ([[0, 0], [1, 1]], [1, 0], [0.5, 0.5]),           # zero std
    ([[0, 0], [1, 1]], [1, 1], [1.5, -0.5]),          # negative weight
    ([[0, 0], [1, 1]], [1, 1, 1], [0.5, 0.5]),        # stds of the wrong length
    ([[0, 0, 0], [1, 1, 1]], [1, 1], [0.5, 0.5]),     # 3-D means
    ([[0, 0], [1, 1]], [1, float("nan")], [0.5, 0.5]),  # NaN std: used to pass
    ([[0, float("nan")], [1, 1]], [1, 1], [0.5, 0.5]),  # NaN mean
])
def test_bad_mixture_raises_value_error(means, stds, weights):
    with pytest.raises(ValueError):
        GaussianMixture2D(torch.tensor(means, dtype=torch.float32), torch.tensor(stds, dtype=torch.float32),
                          torch.tensor(weights, dtype=torch.float32))


def test_mixture_of_lists_raises_type_error():
    with pytest.raises(TypeError):
        GaussianMixture2D([[0.0, 0.0]], [1.0], [1.0])


@pytest.mark.parametrize("method", ["log_prob", "score"])
def test_bad_points(mixture, method):
    f = getattr(mixture, method)
    for x in (torch.zeros(5, 3), torch.zeros(5), torch.zeros(2, 5, 2)):
        with pytest.raises(ValueError):
            f(x)
    with pytest.raises(TypeError):
        f(np.zeros((5, 2)))
    with pytest.raises(TypeError, match="floating-point"):
        f(torch.zeros(5, 2, dtype=torch.long))


@pytest.mark.parametrize("method", ["log_prob", "score"])
def test_density_follows_the_points_device(mixture, method):
    """The mixture's CPU parameters used to meet x on x's device (a GPU): a device mismatch."""
    out = getattr(mixture, method)(torch.empty(5, 2, device="meta", dtype=mixture.means.dtype))
    assert out.device.type == "meta"


@pytest.mark.parametrize("kwargs", [dict(std=float("nan")), dict(radius=float("inf")), dict(std=0.0),
                                    dict(n_components=2.0)])
def test_gaussian_mixture_bad_numbers(kwargs):
    with pytest.raises(ValueError):
        gaussian_mixture(**kwargs)


# --- manifolds -------------------------------------------------------------------------------

def circle_curve(t, radius=1.0):
    return radius * torch.stack([torch.cos(t), torch.sin(t)], 1)


def spiral_curve(t, turns=1.5):
    r = t / (2 * math.pi * turns)
    return torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)


def roll_surface(t, y):
    return torch.stack([t * torch.cos(t), y, t * torch.sin(t)], 1)


def fd_tangent(curve, t, eps=1e-5):
    """Unit central difference of a curve, in float64."""
    t = t.double()
    d = (curve(t + eps) - curve(t - eps)) / (2 * eps)
    return d / d.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize("make, curve, kwargs", [
    (noisy_circle, lambda t: circle_curve(t, 2.0), dict(radius=2.0)),
    (spiral, lambda t: spiral_curve(t, 2.0), dict(turns=2.0)),
])
def test_curve_points_and_tangents(make, curve, kwargs):
    s = make(300, noise=0.05, seed=0, **kwargs)
    assert s.x.shape == s.clean.shape == s.tangent.shape == (300, 2) and s.t.shape == (300,)
    torch.testing.assert_close(s.clean.double(), curve(s.t.double()), atol=1e-5, rtol=0)  # clean is on the curve
    torch.testing.assert_close(s.tangent.norm(dim=1), torch.ones(300))
    torch.testing.assert_close(s.tangent.double(), fd_tangent(curve, s.t), atol=1e-4, rtol=0)
    assert float((s.x - s.clean).std()) == pytest.approx(0.05, rel=0.15)


def test_circle_radius():
    s = noisy_circle(200, radius=1.5, noise=0.0, seed=0)
    torch.testing.assert_close(s.clean.norm(dim=1), torch.full((200,), 1.5))
    assert torch.equal(s.x, s.clean)
    assert float(s.t.min()) >= 0 and float(s.t.max()) <= 2 * math.pi


def test_spiral_parameter_range():
    s = spiral(500, turns=1.5, noise=0.0)
    assert float(s.t.min()) >= math.pi / 2 and float(s.t.max()) <= 3 * math.pi
    assert float(s.clean.norm(dim=1).max()) <= 1.0 + 1e-6


def test_swiss_roll_points_and_tangents():
    s = swiss_roll(300, noise=0.05, height=4.0, seed=0)
    assert s.x.shape == s.clean.shape == (300, 3) and s.t.shape == (300, 2) and s.tangent.shape == (300, 2, 3)
    t, y = s.t[:, 0].double(), s.t[:, 1].double()
    assert float(t.min()) >= 1.5 * math.pi and float(t.max()) <= 4.5 * math.pi
    assert float(y.min()) >= 0 and float(y.max()) <= 4.0
    torch.testing.assert_close(s.clean.double(), roll_surface(t, y), atol=1e-5, rtol=0)
    torch.testing.assert_close(s.tangent.norm(dim=2), torch.ones(300, 2))
    torch.testing.assert_close(s.tangent[:, 0].double(), fd_tangent(lambda u: roll_surface(u, y), t), atol=1e-4, rtol=0)
    torch.testing.assert_close(s.tangent[:, 1].double(), fd_tangent(lambda v: roll_surface(t, v), y), atol=1e-4, rtol=0)
    assert float((s.x - s.clean).std()) == pytest.approx(0.05, rel=0.15)


@pytest.mark.parametrize("make", [noisy_circle, spiral, swiss_roll])
def test_manifold_seeding(make):
    a, b, c = make(50, seed=0), make(50, seed=0), make(50, seed=1)
    assert torch.equal(a.x, b.x) and torch.equal(a.t, b.t)
    assert not torch.equal(a.x, c.x)


@pytest.mark.parametrize("make, kwargs", [
    (noisy_circle, dict(n=0)), (noisy_circle, dict(n=10, noise=-0.1)),
    (spiral, dict(n=0)), (spiral, dict(n=10, noise=-0.1)), (spiral, dict(n=10, turns=0)),
    (swiss_roll, dict(n=-1)), (swiss_roll, dict(n=10, noise=-0.1)),
    (noisy_circle, dict(n=10, noise=float("nan"))), (spiral, dict(n=10, turns=float("nan"))),
    (swiss_roll, dict(n=10, height=float("nan"))), (swiss_roll, dict(n=2.5)),
])
def test_manifold_bad_args(make, kwargs):
    with pytest.raises(ValueError):
        make(**kwargs)


@pytest.mark.parametrize("radius", [0.0, -1.0])
def test_circle_bad_radius(radius):
    # radius 0 is a point, not a circle; a negative radius flips the tangents against d(clean)/dt.
    with pytest.raises(ValueError):
        noisy_circle(10, radius=radius)
