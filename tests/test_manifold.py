"""aebook.manifold: the autoencoder ensemble, Jacobians and tangents, the k-NN graph, and figures,
each checked against an independent reference (per-member training, closed forms, autograd,
aebook.principal_angles, numpy, scikit-learn, scipy)."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.neighbors import NearestNeighbors
from torch import nn

import aebook
from aebook import jacobian, manifold
from aebook.metrics import principal_angles


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- AutoencoderEnsemble ---------------------------------------------------------------------

def test_members_are_copies_with_the_same_outputs():
    torch.manual_seed(0)
    ens = manifold.AutoencoderEnsemble(3, 2, [8, 6], 1, activation=nn.Tanh)
    x = torch.randn(10, 2, generator=_gen())
    r, h = ens(x), ens.encode(x)
    assert r.shape == (3, 10, 2) and h.shape == (3, 10, 1)
    for i in range(3):
        member = ens.member(i)
        assert isinstance(member, aebook.Autoencoder)
        torch.testing.assert_close(member(x), r[i])
        torch.testing.assert_close(member.encode(x), h[i])
        torch.testing.assert_close(member.decode(h[i]), ens.decode(h)[i])
    assert not torch.allclose(r[0], r[1])  # the members start from different weights


def test_members_initialised_like_nn_linear():
    torch.manual_seed(0)
    layer = manifold.StackedLinear(200, 16, 4)
    bound = 1 / math.sqrt(16)
    w = layer.weight.detach()
    assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
    assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)  # std of U(-b, b)


def test_training_the_ensemble_trains_independent_members():
    """One Adam run on the summed loss equals R separate Adam runs on each member's own loss."""
    torch.manual_seed(0)
    ens = manifold.AutoencoderEnsemble(3, 2, [8], 1)
    alone = [ens.member(i).train() for i in range(3)]
    x = torch.randn(32, 2, generator=_gen(1))
    aebook.fit(ens, x, loss=manifold.ensemble_squared_error, epochs=5, batch_size=32, lr=1e-2, progress=False)
    for i, m in enumerate(alone):
        aebook.fit(m, x, loss=aebook.squared_error, epochs=5, batch_size=32, lr=1e-2, progress=False)
        torch.testing.assert_close(ens.member(i)(x), m(x), atol=1e-5, rtol=1e-4)


def test_ensemble_loss_and_member_errors_match_per_member_references():
    torch.manual_seed(0)
    ens = manifold.AutoencoderEnsemble(4, 3, [5], 2)
    x = torch.randn(20, 3, generator=_gen())
    errors = manifold.member_errors(ens, x)
    reference = torch.stack([aebook.per_example_squared_error(ens.member(i), x).mean() for i in range(4)])
    torch.testing.assert_close(errors, reference)
    torch.testing.assert_close(manifold.ensemble_squared_error(ens, x), reference.sum())


def test_ensemble_bad_inputs():
    with pytest.raises(ValueError):
        manifold.AutoencoderEnsemble(0, 2, [8], 1)
    with pytest.raises(ValueError):
        manifold.AutoencoderEnsemble(2, 2, [0], 1)
    ens = manifold.AutoencoderEnsemble(2, 2, [8], 1)
    with pytest.raises(ValueError):
        ens(torch.zeros(5, 3))          # wrong feature count
    with pytest.raises(ValueError):
        ens(torch.zeros(3, 5, 2))       # 3 stacks for 2 members
    with pytest.raises(TypeError):
        ens(np.zeros((5, 2)))
    with pytest.raises(ValueError):
        ens.member(2)
    with pytest.raises(ValueError):
        manifold.member_errors(ens, torch.zeros(5, 3))


def test_ensemble_denoising_loss_gives_each_member_its_own_noise():
    torch.manual_seed(0)
    ens = manifold.AutoencoderEnsemble(3, 2, [8], 2, activation=nn.Tanh)
    x = torch.randn(16, 2, generator=_gen())
    torch.testing.assert_close(manifold.ensemble_denoising_loss([0, 0, 0])(ens, x),
                               manifold.ensemble_squared_error(ens, x))
    torch.manual_seed(1)
    loss = manifold.ensemble_denoising_loss([0.0, 0.5, 2.0])(ens, x)
    torch.manual_seed(1)  # the same draws, by hand: eps (3, 16, 2), member i sees x + sigma_i eps_i
    eps = torch.randn(3, 16, 2)
    reference = sum(aebook.sum_squared_error(ens.member(i)(x + s * eps[i]), x)
                    for i, s in enumerate((0.0, 0.5, 2.0)))
    torch.testing.assert_close(loss, reference)


def test_ensemble_denoising_loss_trains_members_like_separate_daes():
    """Member 0 (sigma 0) of a denoising ensemble trains exactly like a plain ensemble's member."""
    torch.manual_seed(0)
    ens = manifold.AutoencoderEnsemble(2, 2, [8], 1)
    plain = manifold.AutoencoderEnsemble(2, 2, [8], 1)
    plain.load_state_dict(ens.state_dict())
    x = torch.randn(32, 2, generator=_gen(1))
    aebook.fit(ens, x, loss=manifold.ensemble_denoising_loss([0.0, 1.0]), epochs=5, batch_size=32,
               lr=1e-2, progress=False)
    aebook.fit(plain, x, loss=manifold.ensemble_squared_error, epochs=5, batch_size=32, lr=1e-2,
               progress=False)
    torch.testing.assert_close(ens.member(0)(x), plain.member(0)(x), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(ens.member(1)(x), plain.member(1)(x), atol=1e-3)


def test_ensemble_denoising_loss_stays_on_the_device_and_rejects_bad_inputs():
    ens = manifold.AutoencoderEnsemble(2, 2, [4], 1).to("meta")
    out = manifold.ensemble_denoising_loss([0.1, 0.2])(ens, torch.zeros(5, 2, device="meta"))
    assert out.device.type == "meta" and out.shape == ()
    for bad in ([], "0.1", 0.1, None):
        with pytest.raises(TypeError):
            manifold.ensemble_denoising_loss(bad)
    for bad in ([-0.1], [float("nan")], [True]):
        with pytest.raises(ValueError):
            manifold.ensemble_denoising_loss(bad)
    ens = manifold.AutoencoderEnsemble(2, 2, [4], 1)
    with pytest.raises(ValueError):
        manifold.ensemble_denoising_loss([0.1])(ens, torch.zeros(5, 2))     # 1 sigma, 2 members
    with pytest.raises(ValueError):
        manifold.ensemble_denoising_loss([0.1, 0.2])(ens, torch.zeros(5, 3))
    with pytest.raises(TypeError):
        manifold.ensemble_denoising_loss([0.1, 0.2])(ens.member(0), torch.zeros(5, 2))


# --- Jacobians and tangents ------------------------------------------------------------------

@pytest.fixture
def linear_ae():
    """r(x) = W_d (W_e x + b_e) + b_d, so J_r = W_d W_e and dg/dh = W_d everywhere."""
    torch.manual_seed(0)
    return aebook.LinearAutoencoder(3, 2)


def test_jacobians_of_a_linear_autoencoder_in_closed_form(linear_ae):
    x = torch.randn(6, 3, generator=_gen())
    wd, we = linear_ae.decoder.weight.detach(), linear_ae.encoder.weight.detach()
    jac = manifold.reconstruction_jacobian(linear_ae, x)
    assert jac.shape == (6, 3, 3) and not jac.requires_grad
    torch.testing.assert_close(jac, (wd @ we).expand(6, 3, 3))
    torch.testing.assert_close(manifold.decoder_tangents(linear_ae, x), wd.expand(6, 3, 2))


def test_jacobians_of_a_nonlinear_autoencoder_match_autograd():
    torch.manual_seed(0)
    model = aebook.mlp_autoencoder(3, [7], 2, activation=nn.Tanh, out_activation=None)
    x = torch.randn(4, 3, generator=_gen())
    jac, tangents = manifold.reconstruction_jacobian(model, x), manifold.decoder_tangents(model, x)
    for i in range(4):
        torch.testing.assert_close(jac[i], torch.autograd.functional.jacobian(model, x[i]))
        dg = torch.autograd.functional.jacobian(model.decode, model.encode(x[i]).detach())
        torch.testing.assert_close(tangents[i], dg)


def test_jacobian_tangents_are_the_leading_right_singular_vectors(linear_ae):
    x = torch.randn(5, 3, generator=_gen())
    s, v = manifold.jacobian_tangents(linear_ae, x, dim=2)
    a = (linear_ae.decoder.weight @ linear_ae.encoder.weight).detach().double().numpy()
    _, s_np, vt_np = np.linalg.svd(a)
    assert s.shape == (5, 3) and v.shape == (5, 3, 2)
    np.testing.assert_allclose(s.numpy(), np.tile(s_np, (5, 1)), rtol=1e-4, atol=1e-6)
    assert s[0, 2] < 1e-5 * s[0, 0]  # rank 2: the code has two units
    for i in range(5):
        angles = principal_angles(v[i], torch.from_numpy(vt_np[:2].T).float())
        assert angles.max() < 0.1


def test_tangent_functions_bad_inputs(linear_ae):
    with pytest.raises(ValueError):
        manifold.jacobian_tangents(linear_ae, torch.zeros(2, 3), dim=4)
    with pytest.raises(ValueError):
        manifold.reconstruction_jacobian(linear_ae, torch.zeros(3))
    with pytest.raises(TypeError):
        manifold.decoder_tangents(nn.Linear(3, 3), torch.zeros(2, 3))


def test_encoder_jacobian_matches_vmap_autograd_and_stays_differentiable():
    torch.manual_seed(0)
    model = aebook.mlp_autoencoder(3, [8, 8], 2, activation=nn.Tanh, out_activation=None)
    x = torch.randn(6, 3, generator=_gen())
    h, jac = manifold.encoder_jacobian(model, x)
    torch.testing.assert_close(h, model.encode(x))
    torch.testing.assert_close(jac, jacobian.jacobian(model.encoder, x))  # (6, 2, 3)
    assert not h.requires_grad and not jac.requires_grad
    with torch.no_grad():  # works inside no_grad, as aebook.evaluate calls a loss
        assert manifold.encoder_jacobian(model, x)[1].shape == (6, 2, 3)
    _, jac = manifold.encoder_jacobian(model, x, create_graph=True)
    jac.pow(2).sum().backward()
    assert model.encoder[0].weight.grad is not None and model.encoder[0].weight.grad.abs().sum() > 0
    with pytest.raises(TypeError):
        manifold.encoder_jacobian(model.encoder, x)
    with pytest.raises(ValueError):
        manifold.encoder_jacobian(model, torch.zeros(3))


def test_relative_contractive_loss_in_closed_form_and_scale_invariant():
    """For a linear encoder h = W x + b, J_f = W at every x; rescaling f by eps and g by 1/eps
    leaves the relative loss unchanged, while the plain CAE penalty falls by eps^2."""
    torch.manual_seed(0)
    model = aebook.LinearAutoencoder(3, 2)
    x = torch.randn(50, 3, generator=_gen())
    w = model.encoder.weight.detach()
    h = model.encode(x).detach()
    rec = aebook.sum_squared_error(model(x), x)
    expected = rec + 0.3 * w.pow(2).sum() / h.var(0).sum()
    torch.testing.assert_close(manifold.relative_contractive_loss(0.3)(model, x), expected)
    torch.testing.assert_close(manifold.relative_contractive_loss(0)(model, x), rec)
    plain = jacobian.contractive_loss(0.3)(model, x)
    with torch.no_grad():
        model.encoder.weight.mul_(0.1)
        model.encoder.bias.mul_(0.1)
        model.decoder.weight.div_(0.1)
    torch.testing.assert_close(manifold.relative_contractive_loss(0.3)(model, x), expected)
    torch.testing.assert_close(jacobian.contractive_loss(0.3)(model, x) - rec,
                               0.01 * (plain - rec), rtol=1e-4, atol=1e-6)


def test_relative_contractive_loss_trains_and_rejects_bad_inputs():
    torch.manual_seed(0)
    model = aebook.mlp_autoencoder(2, [16], 2, activation=nn.Tanh, out_activation=None)
    x = torch.randn(64, 2, generator=_gen())
    loss = manifold.relative_contractive_loss(0.1)
    before = aebook.evaluate(model, x, loss)
    aebook.fit(model, x, loss=loss, epochs=20, batch_size=32, lr=1e-2, progress=False)
    assert aebook.evaluate(model, x, loss) < before
    for bad in (-1.0, float("inf"), True, "0.1"):
        with pytest.raises(ValueError):
            manifold.relative_contractive_loss(bad)
    with pytest.raises(ValueError):
        loss(model, x[:1])               # no variance from one row
    with pytest.raises(ValueError):
        loss(model, torch.zeros(4))      # not an (N, D) batch


# --- distances, the k-NN graph, rank correlation ---------------------------------------------

def test_nearest_on_manifold_matches_brute_force():
    g = _gen(0)
    x, clean = torch.randn(30, 2, generator=g), torch.randn(200, 2, generator=g)
    nearest, dist = manifold.nearest_on_manifold(x, clean)
    d = np.linalg.norm(x.numpy()[:, None] - clean.numpy()[None], axis=2)
    np.testing.assert_allclose(dist.numpy(), d.min(1), atol=2e-5)  # cdist in float32
    np.testing.assert_array_equal(nearest.numpy(), clean.numpy()[d.argmin(1)])
    with pytest.raises(ValueError):
        manifold.nearest_on_manifold(x, torch.zeros(5, 3))


def test_knn_edges_match_scikit_learn():
    x = torch.randn(40, 3, generator=_gen(1), dtype=torch.float64)
    edges = manifold.knn_edges(x, k=4)
    assert edges.shape == (160, 2)
    _, idx = NearestNeighbors(n_neighbors=5).fit(x.numpy()).kneighbors(x.numpy())
    for i in range(40):
        assert set(edges[edges[:, 0] == i, 1].tolist()) == set(idx[i, 1:].tolist())  # self excluded
    with pytest.raises(ValueError):
        manifold.knn_edges(x, k=40)


def test_knn_edges_live_on_x_device():
    """The row indices used to be a CPU arange, stacked with indices on x's device."""
    edges = manifold.knn_edges(torch.empty(6, 2, device="meta"), k=2)
    assert edges.device.type == "meta" and edges.shape == (12, 2)


@pytest.mark.parametrize("call", [lambda x: manifold.knn_edges(x, 2),
                                  lambda x: manifold.nearest_on_manifold(x, torch.zeros(3, 2)),
                                  lambda x: manifold.nearest_on_manifold(torch.zeros(3, 2), x),
                                  lambda x: manifold.fold_jumps(x, torch.arange(5.0), 2, 1.0)])
def test_distances_reject_nan(call):
    """A NaN point made the nearest neighbours arbitrary."""
    x = torch.rand(5, 2)
    x[1, 0] = float("nan")
    with pytest.raises(ValueError, match="holds NaN"):
        call(x)


def test_distances_reject_a_device_mismatch_and_integers():
    with pytest.raises(ValueError, match="x on meta, clean on cpu"):
        manifold.nearest_on_manifold(torch.zeros(3, 2, device="meta"), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="x on cpu, t on meta"):
        manifold.fold_jumps(torch.rand(5, 2), torch.zeros(5, device="meta"), 2, 1.0)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        manifold.knn_edges(torch.zeros(5, 2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="jump"):
        manifold.fold_jumps(torch.rand(5, 2), torch.zeros(5), 2, float("nan"))


def test_fold_jumps_counts_edges_across_folds():
    # Two parallel rows of 10 points, 1 apart along x; rows at a vertical distance `gap`. The
    # coordinate t runs along the first row then the second (a fold between them).
    def rows(gap):
        xs = torch.arange(10.0)
        x = torch.cat([torch.stack([xs, torch.zeros(10)], 1), torch.stack([xs, torch.full((10,), gap)], 1)])
        return x, torch.cat([xs, 100 + xs])
    assert manifold.fold_jumps(*rows(10.0), k=2, jump=50) == 0.0   # far rows: neighbours along the row
    x, t = rows(0.5)
    d = np.linalg.norm(x.numpy()[:, None] - x.numpy()[None], axis=2) + np.diag(np.full(20, np.inf))
    nn_idx = np.argsort(d, axis=1, kind="stable")[:, :3]
    expected = np.mean(np.abs(t.numpy()[:, None] - t.numpy()[nn_idx]) > 50)
    assert expected > 0
    assert manifold.fold_jumps(x, t, k=3, jump=50) == pytest.approx(expected)
    with pytest.raises(ValueError):
        manifold.fold_jumps(x, t[:5], k=3, jump=50)


def test_spearman_matches_scipy_and_is_invariant_to_monotone_maps():
    g = _gen(2)
    a = torch.randn(100, generator=g)
    b = a + 0.7 * torch.randn(100, generator=g)
    assert manifold.spearman(a, b) == pytest.approx(spearmanr(a.numpy(), b.numpy()).correlation, abs=1e-10)
    assert manifold.spearman(a, torch.exp(3 * a)) == pytest.approx(1.0)
    assert manifold.spearman(a.numpy(), -a ** 3) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        manifold.spearman(a, b[:50])
    with pytest.raises(ValueError):
        manifold.spearman(a[:1], b[:1])


@pytest.mark.parametrize("a, b", [([1, 1, 2, 2], [1, 2, 3, 4]), ([3, 1, 3, 2, 1], [5, 4, 4, 1, 2]),
                                  ([0.5, 0.5, 0.5, 1.0], [2.0, 1.0, 1.0, 1.0]), ([1, 2, 3, 4], [4, 3, 2, 1])])
def test_spearman_ranks_ties_like_scipy(a, b):
    """Ties used to be broken by order: [1, 1, 2, 2] vs [1, 2, 3, 4] gave 1.0 (scipy: 0.894)."""
    assert manifold.spearman(np.array(a), torch.tensor(b)) == pytest.approx(spearmanr(a, b).correlation, abs=1e-12)
    assert manifold.spearman([1, 1, 2, 2], [1, 2, 3, 4]) == pytest.approx(2 / math.sqrt(5), abs=1e-12)


def test_spearman_of_a_constant_is_nan_like_scipy():
    """A constant input used to give 1.0; its ranks do not vary, so there is no correlation."""
    assert math.isnan(manifold.spearman([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))
    assert math.isnan(manifold.spearman(torch.arange(4.0), torch.zeros(4)))


def test_spearman_bad_inputs():
    with pytest.raises(ValueError, match="a holds NaN"):
        manifold.spearman([1.0, float("nan"), 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="b must hold numbers"):
        manifold.spearman([1.0, 2.0], ["x", "y"])


# --- figures ---------------------------------------------------------------------------------

def test_plot_tangents_draws_a_segment_per_point_and_field():
    points = torch.rand(5, 2, generator=_gen())
    ax = manifold.plot_tangents(points, {"true": torch.randn(5, 2), "estimate": torch.randn(5, 2)}, length=0.2)
    segments = [line for line in ax.lines if len(line.get_xydata()) == 2]
    assert len(segments) == 10
    for line in segments:  # each segment has length 2 * 0.2, centred on its point
        (x0, y0), (x1, y1) = line.get_xydata()
        assert math.hypot(x1 - x0, y1 - y0) == pytest.approx(0.4, rel=1e-5)
    with pytest.raises(ValueError):
        manifold.plot_tangents(points, {"bad": torch.randn(4, 2)})
