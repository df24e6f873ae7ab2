"""aebook.fields: grid, DAE field, smoothed mixture (checked by quadrature), cosine, the range of
sigma below an error level, Jacobian and curl of a field, quiver plots."""
import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

from aebook.fields import (antisymmetric_fraction, curl, field_jacobian, grid_2d,  # noqa: E402
                           plot_field, plot_fields, range_below, reconstruction_field,
                           smoothed_mixture, weighted_mean_cosine, weighted_relative_error)
from aebook.toy import GaussianMixture2D, gaussian_mixture  # noqa: E402


@pytest.fixture
def mixture():
    return GaussianMixture2D(means=torch.tensor([[0.0, 0.0], [2.0, 1.0]], dtype=torch.float64),
                             stds=torch.tensor([0.4, 0.7], dtype=torch.float64),
                             weights=torch.tensor([0.6, 0.4], dtype=torch.float64))


# --- grid_2d -------------------------------------------------------------------------------------

def test_grid_order_bounds_and_meshgrid_layout():
    pts = grid_2d((-1.0, 2.0), (0.0, 1.0), n=4)
    assert pts.shape == (16, 2)
    xs, ys = np.meshgrid(np.linspace(-1, 2, 4), np.linspace(0, 1, 4))  # numpy's "xy" layout
    np.testing.assert_allclose(pts[:, 0].reshape(4, 4).numpy(), xs, atol=1e-6)
    np.testing.assert_allclose(pts[:, 1].reshape(4, 4).numpy(), ys, atol=1e-6)
    assert not (grid_2d(n=24) == 0).all(1).any()  # an even n keeps the origin off the grid


@pytest.mark.parametrize("kwargs", [dict(xlim=(1.0, 0.0)), dict(ylim=(0.0,)), dict(n=1), dict(n=2.5),
                                    dict(xlim=(0.0, float("inf"))), dict(ylim=(float("nan"), 1.0))])
def test_grid_bad_inputs(kwargs):
    with pytest.raises(ValueError):
        grid_2d(**kwargs)


# --- reconstruction_field ------------------------------------------------------------------------

def test_reconstruction_field_of_a_linear_map_and_mode_restored():
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5, 0.2], [-0.1, 0.9]]))
        lin.bias.copy_(torch.tensor([0.3, -0.2]))
    model = nn.Sequential(lin, nn.Dropout(0.5))  # dropout would randomise r if not in eval mode
    model.train()
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    field = reconstruction_field(model, x)
    expected = x @ (lin.weight.detach() - torch.eye(2)).T + lin.bias.detach()
    torch.testing.assert_close(field, expected)
    assert model.training and not field.requires_grad


def test_reconstruction_field_stays_on_x_device():
    """It used to return model(x).cpu() - x: a device mismatch for x on a GPU (here: meta)."""
    field = reconstruction_field(nn.Linear(2, 2).to("meta"), torch.empty(5, 2, device="meta"))
    assert field.device.type == "meta" and field.shape == (5, 2)


def test_reconstruction_field_bad_inputs():
    with pytest.raises(TypeError):
        reconstruction_field(lambda x: x, torch.zeros(3, 2))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        reconstruction_field(nn.Linear(2, 2), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="no parameters"):
        reconstruction_field(nn.Identity(), torch.zeros(3, 2))
    with pytest.raises(ValueError):
        reconstruction_field(nn.Linear(3, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError):
        reconstruction_field(nn.Linear(2, 3), torch.zeros(3, 2))


# --- smoothed_mixture: p_sigma = p * N(0, sigma^2 I), and Tweedie's formula ------------------------

def _quadrature(mixture, x0, sigma):
    """p_sigma(x0) and E[x | x_tilde = x0] by brute-force 2-D quadrature over the clean x, on the
    square x0 +- 7 sigma where the noise kernel lives."""
    step = sigma / 25
    g = torch.arange(-7 * sigma, 7 * sigma, step, dtype=torch.float64) + step / 2
    y = torch.cartesian_prod(g, g) + x0                                   # candidate clean points
    kernel = torch.exp(-((y - x0) ** 2).sum(1) / (2 * sigma ** 2)) / (2 * math.pi * sigma ** 2)
    joint = mixture.log_prob(y).exp() * kernel * step ** 2
    return joint.sum(), (joint[:, None] * y).sum(0) / joint.sum()


@pytest.mark.parametrize("sigma", [0.3, 1.0])
def test_smoothed_mixture_is_the_convolution_and_satisfies_tweedie(mixture, sigma):
    smooth = smoothed_mixture(mixture, sigma)
    torch.testing.assert_close(smooth.means, mixture.means)
    torch.testing.assert_close(smooth.weights, mixture.weights)
    for x0 in torch.tensor([[0.5, 0.2], [2.5, 0.0], [-1.0, 1.5]], dtype=torch.float64):
        density, posterior_mean = _quadrature(mixture, x0, sigma)
        assert float(smooth.log_prob(x0[None]).exp()) == pytest.approx(float(density), rel=1e-4)
        # The optimal DAE for Gaussian noise: E[x | x_tilde] - x_tilde = sigma^2 grad log p_sigma(x_tilde).
        torch.testing.assert_close(posterior_mean - x0, sigma ** 2 * smooth.score(x0[None])[0], rtol=1e-4, atol=1e-6)


def test_smoothed_mixture_sigma_zero_and_bad_inputs(mixture):
    torch.testing.assert_close(smoothed_mixture(mixture, 0.0).stds, mixture.stds)
    with pytest.raises(TypeError):
        smoothed_mixture("mixture", 0.1)
    for sigma in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="sigma"):
            smoothed_mixture(mixture, sigma)


# --- weighted_mean_cosine ------------------------------------------------------------------------

def test_weighted_mean_cosine_matches_numpy():
    rng = np.random.default_rng(0)
    u, v, w = rng.normal(size=(30, 2)), rng.normal(size=(30, 2)), rng.uniform(size=30)
    cos = (u * v).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    got = weighted_mean_cosine(torch.tensor(u), torch.tensor(v), torch.tensor(w))
    assert got == pytest.approx(float((w * cos).sum() / w.sum()), rel=1e-12)


def test_weighted_mean_cosine_ignores_magnitude_and_zero_weights():
    u = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    assert weighted_mean_cosine(u, 5 * u, torch.ones(3)) == pytest.approx(1.0)
    assert weighted_mean_cosine(u, -u, torch.ones(3)) == pytest.approx(-1.0)
    v = torch.tensor([[3.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])  # last point disagrees, weight 0
    assert weighted_mean_cosine(u, v, torch.tensor([1.0, 1.0, 0.0])) == pytest.approx(1.0)
    assert weighted_mean_cosine(u, torch.zeros(3, 2), torch.ones(3)) == 0.0


@pytest.mark.parametrize("u, v, w", [(torch.ones(3, 2), torch.ones(4, 2), torch.ones(3)),
                                     (torch.ones(3, 3), torch.ones(3, 3), torch.ones(3)),
                                     (torch.ones(3, 2), torch.ones(3, 2), torch.ones(2)),
                                     (torch.ones(3, 2), torch.ones(3, 2), -torch.ones(3)),
                                     (torch.ones(3, 2), torch.ones(3, 2), torch.zeros(3))])
def test_weighted_mean_cosine_bad_inputs(u, v, w):
    with pytest.raises(ValueError):
        weighted_mean_cosine(u, v, w)


def test_weighted_mean_cosine_type_error():
    with pytest.raises(TypeError):
        weighted_mean_cosine(np.ones((3, 2)), torch.ones(3, 2), torch.ones(3))
    with pytest.raises(TypeError, match="u must be a floating-point tensor"):
        weighted_mean_cosine(torch.ones(3, 2, dtype=torch.long), torch.ones(3, 2), torch.ones(3))


@pytest.mark.parametrize("measure", [weighted_mean_cosine, weighted_relative_error])
@pytest.mark.parametrize("bad", ["u", "v", "weights"])
def test_field_comparisons_reject_nan(measure, bad):
    """A field that is half NaN used to score a cosine of 0.5: NaN vectors counted as cosine 0."""
    args = {"u": torch.ones(4, 2), "v": torch.ones(4, 2), "weights": torch.ones(4)}
    args[bad] = args[bad].clone()
    args[bad][:2] = float("nan")
    with pytest.raises(ValueError, match=f"{bad} holds NaN"):
        measure(**args)


def test_field_comparisons_reject_a_device_mismatch():
    with pytest.raises(ValueError, match="u on cpu, v on meta"):
        weighted_mean_cosine(torch.ones(3, 2), torch.ones(3, 2, device="meta"), torch.ones(3))


# --- weighted_relative_error ---------------------------------------------------------------------

def test_weighted_relative_error_matches_numpy_and_sees_lengths():
    rng = np.random.default_rng(1)
    u, v, w = rng.normal(size=(25, 2)), rng.normal(size=(25, 2)), rng.uniform(size=25)
    ref = np.sqrt((w * ((u - v) ** 2).sum(1)).sum() / (w * (v ** 2).sum(1)).sum())
    assert weighted_relative_error(torch.tensor(u), torch.tensor(v), torch.tensor(w)) == pytest.approx(ref, rel=1e-12)
    v = torch.tensor(v)
    assert weighted_relative_error(v, v, torch.ones(25)) == 0.0
    assert weighted_relative_error(0.5 * v, v, torch.ones(25)) == pytest.approx(0.5)  # cosine would say 1


@pytest.mark.parametrize("u, v, w", [(torch.ones(3, 2), torch.ones(4, 2), torch.ones(3)),
                                     (torch.ones(3, 2), torch.ones(3, 2), torch.ones(2)),
                                     (torch.ones(3, 2), torch.ones(3, 2), -torch.ones(3)),
                                     (torch.ones(3, 2), torch.zeros(3, 2), torch.ones(3))])
def test_weighted_relative_error_bad_inputs(u, v, w):
    with pytest.raises(ValueError):
        weighted_relative_error(u, v, w)


# --- range_below ---------------------------------------------------------------------------------

def test_range_below_interpolates_both_crossings_in_log_log():
    sigmas, errors = [0.1, 0.2, 0.4, 0.8], [4.0, 1.0, 0.25, 1.0]
    low, high = range_below(sigmas, errors, 0.5)
    # log error falls by log 4 per doubling from 0.2 to 0.4: 0.5 is reached half way, at 0.2 * 2**0.5
    assert low == pytest.approx(0.2 * 2 ** 0.5)
    assert high == pytest.approx(0.4 * 2 ** 0.5)
    assert range_below(sigmas, errors, 10.0) == (0.1, 0.8)  # below everywhere: the grid's ends
    assert range_below(sigmas, [0.1, 0.2, 2.0, 3.0], 1.0)[0] == 0.1


@pytest.mark.parametrize("sigmas, errors, level", [([0.1], [1.0], 1.0),
                                                   ([0.1, 0.2], [1.0], 1.0),
                                                   ([0.2, 0.1], [1.0, 1.0], 2.0),
                                                   ([0.1, 0.2], [1.0, float("nan")], 2.0),
                                                   ([0.1, 0.2], [1.0, 2.0], 0.5),
                                                   ([0.1, 0.2], [1.0, 2.0], -1.0)])
def test_range_below_bad_inputs(sigmas, errors, level):
    with pytest.raises(ValueError):
        range_below(sigmas, errors, level)


# --- field_jacobian, curl, antisymmetric_fraction -------------------------------------------------

def test_field_jacobian_matches_finite_differences_for_a_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).double()
    x = torch.randn(7, 2, dtype=torch.float64)
    jac = field_jacobian(lambda z: model(z) - z, x)
    assert jac.shape == (7, 2, 2) and jac.dtype == torch.float64 and not jac.requires_grad
    h = 1e-6
    for j in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[j] = h
        with torch.no_grad():
            fd = ((model(x + e) - (x + e)) - (model(x - e) - (x - e))) / (2 * h)  # (7, 2)
        torch.testing.assert_close(jac[:, :, j], fd, rtol=1e-6, atol=1e-8)


def test_a_score_has_zero_curl_and_a_rotation_does_not(mixture):
    x = grid_2d(n=6).double()
    jac = field_jacobian(mixture.score, x)  # the Hessian of log p: symmetric
    assert curl(jac).abs().max() < 1e-12
    assert antisymmetric_fraction(jac, torch.ones(len(x))) < 1e-12
    rotation = field_jacobian(lambda z: torch.stack([-z[:, 1], z[:, 0]], 1), x)
    torch.testing.assert_close(curl(rotation), torch.full((len(x),), 2.0, dtype=torch.float64))
    assert antisymmetric_fraction(rotation, torch.ones(len(x))) == pytest.approx(1.0)


def test_antisymmetric_fraction_of_a_mixed_field_and_its_weights():
    jac = torch.tensor([[[1.0, 0.0], [0.0, 1.0]],     # symmetric: ||J||^2 = 2, ||A||^2 = 0
                        [[0.0, -1.0], [1.0, 0.0]]])   # rotation: ||J||^2 = 2, ||A||^2 = 2
    assert antisymmetric_fraction(jac, torch.tensor([1.0, 1.0])) == pytest.approx(0.5 ** 0.5)
    assert antisymmetric_fraction(jac, torch.tensor([1.0, 0.0])) == 0.0


def test_jacobian_and_curl_bad_inputs():
    with pytest.raises(TypeError):
        field_jacobian("score", torch.zeros(3, 2))
    with pytest.raises(ValueError):
        field_jacobian(lambda z: z, torch.zeros(3, 3))
    with pytest.raises(ValueError):
        field_jacobian(lambda z: z.sum(1, keepdim=True), torch.zeros(3, 2))
    with pytest.raises(ValueError):
        curl(torch.zeros(3, 3, 3))
    with pytest.raises(ValueError):
        antisymmetric_fraction(torch.ones(3, 2, 2), torch.ones(2))
    with pytest.raises(ValueError):
        antisymmetric_fraction(torch.ones(3, 2, 2), -torch.ones(3))
    with pytest.raises(ValueError):
        antisymmetric_fraction(torch.zeros(3, 2, 2), torch.ones(3))


# --- plot_field / plot_fields --------------------------------------------------------------------

def test_plot_fields_draws_every_arrow_to_one_scale():
    pts = grid_2d(n=6)
    mix = gaussian_mixture()
    score = mix.score(pts)
    axes = plot_fields(pts, {"a": score, "b": 0.5 * score}, log_density=mix.log_prob(pts))
    assert len(axes) == 2 and [ax.get_title() for ax in axes] == ["a", "b"]
    quivers = [next(c for c in ax.collections if isinstance(c, matplotlib.quiver.Quiver)) for ax in axes]
    assert quivers[0].U.size == 36
    np.testing.assert_allclose(quivers[1].U, 0.5 * quivers[0].U, rtol=1e-6)  # shared scale
    step = 7 / 5
    lengths = np.hypot(quivers[0].U, quivers[0].V)
    assert lengths.max() == pytest.approx(1.5 * step, rel=1e-6)
    plt.close("all")


def test_plot_field_on_given_axes_and_bad_inputs():
    pts = grid_2d(n=4)
    fig, ax = plt.subplots()
    assert plot_field(pts, torch.ones(16, 2), ax=ax, title="t") is ax
    with pytest.raises(ValueError):
        plot_field(pts, torch.ones(15, 2))
    with pytest.raises(ValueError, match="n x n grid"):
        plot_field(pts[:15], torch.ones(15, 2), log_density=torch.ones(15))  # values need the grid
    with pytest.raises(ValueError):
        plot_field(pts, torch.ones(16, 2), log_density=torch.ones(3))
    with pytest.raises(ValueError):
        plot_field(pts, torch.ones(16, 2), log_density=lambda x: x)  # (M, 2), not (M,)
    with pytest.raises(ValueError):
        plot_fields(pts, {})
    with pytest.raises(ValueError):
        plot_fields(pts, {"a": torch.ones(16, 2)}, axes=[ax, ax])
    plt.close("all")


def test_plot_field_at_scattered_points_over_a_curve():
    """The one plot_field of the book also draws DLB §14.6's fields near a manifold curve."""
    g = torch.Generator().manual_seed(0)
    points, field = torch.rand(12, 2, generator=g), torch.randn(12, 2, generator=g)
    ax = plot_field(points, field, curve=torch.rand(50, 2, generator=g), scale=1.0)
    q = ax.collections[-1]
    assert isinstance(q, matplotlib.quiver.Quiver) and len(q.U) == 12
    np.testing.assert_allclose(q.U, field[:, 0].numpy(), rtol=1e-6)  # true lengths
    assert len(ax.collections[0].get_offsets()) == 50  # the curve's dots
    q = plot_field(points, field).collections[-1]  # default: longest arrow 1.5 x the spacing
    p = points.double().numpy()
    d = np.linalg.norm(p[:, None] - p[None], axis=-1) + np.diag(np.full(12, np.inf))
    assert np.hypot(q.U, q.V).max() == pytest.approx(1.5 * np.median(d.min(1)), rel=1e-6)
    with pytest.raises(ValueError):
        plot_field(torch.rand(4, 3), torch.rand(4, 3))
    plt.close("all")


def test_plot_field_contours_a_log_density_function_on_a_fine_grid():
    mix = gaussian_mixture()
    pts = grid_2d(n=4)
    seen = []

    def log_p(x):
        seen.append(x.shape)
        return mix.log_prob(x)

    ax = plot_field(pts, mix.score(pts), log_density=log_p)
    assert seen == [(120 * 120, 2)]
    filled = [c for c in ax.collections if not isinstance(c, matplotlib.quiver.Quiver)]
    assert filled, "no density contours drawn"
    plt.close("all")


def test_plot_density_contours_the_square():
    from aebook.fields import plot_density
    seen = []

    def log_p(x):
        seen.append((x.shape, float(x.min()), float(x.max())))
        return gaussian_mixture().log_prob(x)

    ax = plot_density(log_p, lim=(-2.0, 3.0))
    assert seen == [((120 * 120, 2), -2.0, 3.0)]
    assert ax.collections, "no density contours drawn"
    with pytest.raises(TypeError, match="function"):
        plot_density(torch.zeros(4))
    plt.close("all")
