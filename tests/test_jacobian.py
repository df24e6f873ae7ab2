"""aebook.jacobian: closed form against autograd against finite differences, reductions, no_grad."""
import numpy as np
import pytest
import torch
from torch import nn

import aebook
from aebook import jacobian as jac
from aebook.models import tied_autoencoder

D, K = 7, 4


def finite_difference_jacobian(fn, x, h=1e-6):
    """Central differences, one input coordinate at a time: (N, D) -> (N, K, D). Independent of autograd."""
    cols = []
    with torch.no_grad():
        for i in range(x.shape[1]):
            e = torch.zeros_like(x)
            e[:, i] = h
            cols.append((fn(x + e) - fn(x - e)) / (2 * h))  # (N, K)
    return torch.stack(cols, dim=2)


@pytest.fixture
def x():
    return torch.rand(5, D, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def encoder(act):
    torch.manual_seed(0)
    layers = [nn.Linear(D, K)] + ([act()] if act is not None else [])
    return nn.Sequential(*layers).double()


@pytest.mark.parametrize("act", [nn.Sigmoid, nn.Tanh, nn.ReLU, None])
def test_closed_form_matches_autograd_and_finite_differences(act, x):
    f = encoder(act)
    closed = jac.closed_form_sq_norm(f, x)
    assert closed.shape == (5,)
    torch.testing.assert_close(closed, jac.jacobian_sq_norm(f, x))
    fd = finite_difference_jacobian(f, x).pow(2).sum((1, 2))
    torch.testing.assert_close(closed, fd, rtol=1e-6, atol=1e-8)


def test_sigmoid_formula_against_numpy(x):
    f = encoder(nn.Sigmoid)
    h = f(x).detach()
    w = f[0].weight.detach().numpy()
    hn = h.numpy()
    expected = np.array([np.sum((hj * (1 - hj))[:, None] ** 2 * w ** 2) for hj in hn])  # sum_j sum_i
    np.testing.assert_allclose(jac.sigmoid_jacobian_sq_norm(h, f[0].weight).detach().numpy(), expected, rtol=1e-12)
    torch.testing.assert_close(jac.sigmoid_jacobian_sq_norm(h, f[0].weight), jac.closed_form_sq_norm(f, x))


def test_jacobian_against_finite_differences_and_shape(x):
    f = nn.Sequential(nn.Linear(D, 6), nn.Tanh(), nn.Linear(6, 3), nn.Sigmoid()).double()
    j = jac.jacobian(f, x)
    assert j.shape == (5, 3, D)
    torch.testing.assert_close(j, finite_difference_jacobian(f, x), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(jac.jacobian(f, x, chunk_size=2), j)


def test_penalty_reduction_sum_over_entries_mean_over_batch(x):
    model = tied_autoencoder(D, K).double()
    per_example = finite_difference_jacobian(model.encoder, x).pow(2).sum((1, 2))
    for method in ("closed", "autograd", "auto"):
        p = jac.contractive_penalty(model, x, method)
        assert p.ndim == 0
        torch.testing.assert_close(p, per_example.mean(), rtol=1e-6, atol=0)
    doubled = jac.contractive_penalty(model, torch.cat([x, x]))
    torch.testing.assert_close(doubled, jac.contractive_penalty(model, x))  # a mean, not a sum


def test_autograd_penalty_works_under_no_grad_and_in_evaluate(x):
    model = tied_autoencoder(D, K).double()
    expected = jac.contractive_penalty(model, x, "closed").detach()
    with torch.no_grad():
        torch.testing.assert_close(jac.contractive_penalty(model, x, "autograd"), expected)
    lam = 0.7
    value = aebook.evaluate(model, x, jac.contractive_loss(lam, method="autograd"))
    with torch.no_grad():
        reference = float(aebook.squared_error(model, x) + lam * expected)
    assert lam * float(expected) > 1e-3 * reference  # the penalty is visible in the sum
    assert value == pytest.approx(reference, rel=1e-6)  # evaluate accumulates in float32


def test_autograd_penalty_gradients_match_closed_form(x):
    model = tied_autoencoder(D, K).double()
    params = list(model.encoder.parameters())
    g_auto = torch.autograd.grad(jac.contractive_penalty(model, x, "autograd"), params)
    g_closed = torch.autograd.grad(jac.contractive_penalty(model, x, "closed"), params)
    for a, b in zip(g_auto, g_closed):
        assert b.abs().max() > 0
        torch.testing.assert_close(a, b)


def test_contractive_loss_and_training_contracts():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(256, 20, generator=g)
    loss0, loss1 = jac.contractive_loss(0.0), jac.contractive_loss(2.0)
    torch.manual_seed(0)
    model = tied_autoencoder(20, 8)
    torch.testing.assert_close(loss0(model, x), aebook.squared_error(model, x))
    torch.testing.assert_close(loss1(model, x), aebook.squared_error(model, x) + 2.0 * jac.contractive_penalty(model, x))
    norms = []
    for loss in (loss0, loss1):
        torch.manual_seed(0)
        m = tied_autoencoder(20, 8)
        aebook.fit(m, x, loss=loss, epochs=20, batch_size=64, lr=1e-2, progress=False)
        norms.append(float(jac.contractive_penalty(m, x).detach()))
    assert norms[1] < 0.5 * norms[0], norms


def test_contractive_loss_bad_inputs(x):
    for lam in (-1.0, "1", None, True):
        with pytest.raises(ValueError):
            jac.contractive_loss(lam)
    with pytest.raises(TypeError):
        jac.contractive_loss(1.0, reconstruction="mse")
    with pytest.raises(ValueError):
        jac.contractive_loss(1.0, method="exact")
    model = tied_autoencoder(D, K).double()
    with pytest.raises(ValueError):
        jac.contractive_penalty(model, x, method="exact")
    with pytest.raises(TypeError):
        jac.contractive_penalty(nn.Linear(D, K), x)
    deep = aebook.mlp_autoencoder(D, [5], K).double()
    with pytest.raises(TypeError, match="closed form"):
        jac.contractive_penalty(deep, x, method="closed")
    torch.testing.assert_close(jac.contractive_penalty(deep, x),  # auto falls back to autograd
                               finite_difference_jacobian(deep.encoder, x).pow(2).sum((1, 2)).mean())


def test_bad_batches():
    f = encoder(nn.Sigmoid)
    for bad in (torch.zeros(D), torch.zeros(0, D), torch.zeros(2, 3, D)):
        with pytest.raises(ValueError):
            jac.closed_form_sq_norm(f, bad)
        with pytest.raises(ValueError):
            jac.jacobian(f, bad)
    with pytest.raises(TypeError):
        jac.jacobian(f, np.zeros((2, D)))
    with pytest.raises(TypeError):
        jac.jacobian("f", torch.zeros(2, D))
    with pytest.raises(ValueError, match="units"):
        jac.sigmoid_jacobian_sq_norm(torch.rand(2, K), torch.rand(K + 1, D))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        jac.jacobian(f, torch.zeros(2, D, dtype=torch.long))


def test_singular_values_and_tangent_directions_against_numpy(x):
    f = nn.Sequential(nn.Linear(D, K), nn.Sigmoid()).double()
    s = jac.jacobian_singular_values(f, x, chunk_size=2)
    j = finite_difference_jacobian(f, x).numpy()
    ref = np.stack([np.linalg.svd(m, compute_uv=False) for m in j])
    np.testing.assert_allclose(s.numpy(), ref, rtol=1e-6, atol=1e-9)
    wide = nn.Linear(3, 6).double()  # K > D: the Gram matrix J^T J is the smaller one
    s_wide = jac.jacobian_singular_values(wide, x[:, :3])
    assert s_wide.shape == (5, 3)
    np.testing.assert_allclose(s_wide[0].numpy(), np.linalg.svd(wide.weight.detach().numpy(), compute_uv=False))
    v, s2 = jac.tangent_directions(f, x, 2)
    assert v.shape == (5, 2, D) and s2.shape == (5, 2)
    torch.testing.assert_close(s2, s[:, :2])
    torch.testing.assert_close(v @ v.transpose(1, 2), torch.eye(2, dtype=v.dtype).expand(5, 2, 2))
    jv = torch.einsum("nkd,npd->npk", torch.from_numpy(j), v).norm(dim=2)  # ||J v_p|| = s_p
    torch.testing.assert_close(jv, s2, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError):
        jac.tangent_directions(f, x, K + 1)
    with pytest.raises(ValueError):
        jac.tangent_directions(f, x, 0)
    with pytest.raises(ValueError):
        jac.jacobian_singular_values(f, x, chunk_size=0)


def test_contraction_ratio_of_a_linear_map(x):
    a = torch.randn(3, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x2 = x.flip(0) + 0.1
    ratio = jac.contraction_ratio(lambda z: z @ a.T, x, x2)
    expected = ((x - x2) @ a.T).norm(dim=1) / (x - x2).norm(dim=1)
    torch.testing.assert_close(ratio, expected)
    s = np.linalg.svd(a.numpy(), compute_uv=False)
    assert (ratio.numpy() <= s[0] + 1e-12).all()  # never more than the largest singular value
    with pytest.raises(ValueError, match="differ"):
        jac.contraction_ratio(lambda z: z, x, x.clone())
    with pytest.raises(ValueError):
        jac.contraction_ratio(lambda z: z, x, x[:, :3])
    x_nan = x2.clone()
    x_nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="x2 holds NaN"):
        jac.contraction_ratio(lambda z: z, x, x_nan)
    with pytest.raises(ValueError, match="x1 on cpu, x2 on meta"):
        jac.contraction_ratio(lambda z: z, x, x2.to("meta"))


def test_noisy_reconstruction_error_is_exact_in_expectation_for_a_linear_model(x):
    # For r(x) = A x + b the expansion E||r(x+eps)-x||^2 = ||r(x)-x||^2 + sigma^2 ||A||_F^2 is exact.
    torch.manual_seed(0)
    model = nn.Linear(D, D).double()
    sigma = 0.3
    g = torch.Generator().manual_seed(3)
    mc = jac.noisy_reconstruction_error(model, x, sigma, n_samples=4000, generator=g)
    with torch.no_grad():
        clean = ((model(x) - x) ** 2).sum(1)
        a2 = model.weight.pow(2).sum()
    torch.testing.assert_close(mc, clean + sigma ** 2 * a2, rtol=0.03, atol=0)
    sens = jac.noisy_reconstruction_error(model, x, sigma, n_samples=4000, generator=g, target=model(x).detach())
    torch.testing.assert_close(sens, (sigma ** 2 * a2).expand(5), rtol=0.03, atol=0)
    torch.testing.assert_close(jac.noisy_reconstruction_error(model, x, 0.0, n_samples=1), clean)
    for bad in (dict(sigma=-0.1), dict(sigma=0.1, n_samples=0), dict(sigma=0.1, target=x[:2]),
                dict(sigma=float("nan")), dict(sigma=float("inf")), dict(sigma=0.1, n_samples=True),
                dict(sigma=0.1, target=x.to("meta"))):
        with pytest.raises(ValueError):
            jac.noisy_reconstruction_error(model, x, **bad)


def test_singular_values_in_float64_on_a_cpu_copy_where_the_device_has_none(x, monkeypatch):
    """MPS has no float64: there the float64 step runs on a CPU copy (simulated here by declaring
    the CPU float64-less) and the result comes back in x's dtype."""
    from aebook import devices
    f = nn.Sequential(nn.Linear(D, K), nn.Sigmoid())
    reference = jac.jacobian_singular_values(f, x.float())
    monkeypatch.setattr(devices, "NO_FLOAT64", ("cpu",))
    s = jac.jacobian_singular_values(f, x.float())
    assert s.dtype == torch.float32
    torch.testing.assert_close(s, reference)


def test_tied_autoencoder_shares_its_weight(x):
    torch.manual_seed(0)
    model = tied_autoencoder(D, K).double()
    assert aebook.count_parameters(model) == D * K + K + D  # W once, two biases
    w, b = model.encoder[0].weight, model.encoder[0].bias
    h = torch.sigmoid(x @ w.T + b)
    torch.testing.assert_close(model.encode(x), h)
    torch.testing.assert_close(model(x), torch.sigmoid(h @ w + model.decoder.bias))
    model(x).sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    linear = tied_autoencoder(D, K, activation=None, out_activation=None).double()
    wl = linear.encoder[0].weight
    torch.testing.assert_close(linear(x), (x @ wl.T + linear.encoder[0].bias) @ wl + linear.decoder.bias)
    with pytest.raises(ValueError):
        tied_autoencoder(D, 0)
    with pytest.raises(TypeError):
        aebook.TiedDecoder(nn.Sigmoid())


def quadratic_map(d, seed=4):
    """r(x) = A x + 1/2 [x^T B_i x]_i + c with symmetric B_i: the Hessian of r_i is B_i."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64) / d ** 0.5
    b = torch.randn(d, d, d, generator=g, dtype=torch.float64) / d
    b = (b + b.transpose(1, 2)) / 2  # (D, D, D): H_i = b[i], symmetric
    c = torch.randn(d, generator=g, dtype=torch.float64)

    def r(x):  # (N, D) -> (N, D)
        return x @ a.T + 0.5 * torch.einsum("...j,ijk,...k->...i", x, b, x) + c
    return r, b


def test_residual_laplacian_exact_against_closed_form_and_finite_differences(x):
    r, b = quadratic_map(D)
    e = (r(x) - x).detach()
    expected = e @ torch.einsum("ijj->i", b)  # sum_i e_i tr H_i, (N,)
    exact = jac.residual_laplacian(r, x, n_probes=None)
    assert exact.shape == (5,)
    torch.testing.assert_close(exact, expected)
    f = nn.Sequential(nn.Linear(D, 6), nn.Tanh(), nn.Linear(6, D), nn.Sigmoid()).double()
    h = 1e-3  # second differences of phi(z) = e . f(z) along each axis, e held fixed
    with torch.no_grad():
        e = f(x) - x
        phi = lambda z: (e * f(z)).sum(1)  # noqa: E731
        eye = torch.eye(D, dtype=x.dtype)
        fd = sum((phi(x + h * eye[i]) - 2 * phi(x) + phi(x - h * eye[i])) / h ** 2 for i in range(D))
    torch.testing.assert_close(jac.residual_laplacian(f, x, n_probes=None), fd, rtol=1e-5, atol=1e-7)
    target = torch.zeros_like(x)  # another target: e = f(x) - 0
    with torch.no_grad():
        e0 = f(x)
        fd0 = sum(((e0 * f(x + h * eye[i])).sum(1) - 2 * (e0 * f(x)).sum(1)
                   + (e0 * f(x - h * eye[i])).sum(1)) / h ** 2 for i in range(D))
    torch.testing.assert_close(jac.residual_laplacian(f, x, target, n_probes=None), fd0,
                               rtol=1e-5, atol=1e-7)


def test_residual_laplacian_hutchinson():
    x = torch.rand(40, D, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    tanh = torch.tanh  # diagonal Hessians: one Rademacher probe is already exact
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(jac.residual_laplacian(tanh, x, n_probes=1, generator=g),
                               jac.residual_laplacian(tanh, x, n_probes=None))
    r, _ = quadratic_map(D)
    exact = jac.residual_laplacian(r, x, n_probes=None)
    est = jac.residual_laplacian(r, x, n_probes=4000, generator=g)
    one = jac.residual_laplacian(r, x, n_probes=1, generator=g)
    assert not torch.allclose(one, exact)  # a single probe is noisy for a full Hessian
    spread = (est - exact).abs().mean() / exact.abs().mean()
    assert spread < 0.1, spread  # unbiased: many probes approach the exact value
    assert abs(float(est.mean() - exact.mean())) < 0.05 * float(exact.abs().mean())
    torch.manual_seed(1)
    a1 = jac.residual_laplacian(r, x, n_probes=3)
    torch.manual_seed(1)
    torch.testing.assert_close(jac.residual_laplacian(r, x, n_probes=3), a1)  # global generator


def test_residual_laplacian_of_a_linear_map_is_zero_and_bad_inputs(x):
    lin = nn.Linear(D, D).double()
    torch.testing.assert_close(jac.residual_laplacian(lin, x, n_probes=None), torch.zeros(5, dtype=x.dtype))
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError):
            jac.residual_laplacian(lin, x, n_probes=bad)
    with pytest.raises(ValueError):
        jac.residual_laplacian(lin, x[0])
    with pytest.raises(ValueError):
        jac.residual_laplacian(lin, x, target=x[:2])
    with pytest.raises(ValueError, match="shape"):
        jac.residual_laplacian(nn.Linear(D, 3).double(), x)
    with pytest.raises(TypeError):
        jac.residual_laplacian("f", x)


def test_noise_terms_split_the_noisy_error_exactly(x):
    f = nn.Sequential(nn.Linear(D, 6), nn.Tanh(), nn.Linear(6, D), nn.Sigmoid()).double()
    sigma, n = 0.2, 50
    noisy = jac.noisy_reconstruction_error(f, x, sigma, n, torch.Generator().manual_seed(7))
    sens, cross = jac.noise_terms(f, x, sigma, n, torch.Generator().manual_seed(7))
    assert sens.shape == cross.shape == (5,)
    with torch.no_grad():
        clean = ((f(x) - x) ** 2).sum(1)
        same = jac.noisy_reconstruction_error(f, x, sigma, n, torch.Generator().manual_seed(7),
                                              target=f(x))
    torch.testing.assert_close(clean + sens + cross, noisy)  # the split of step 1, same draws
    torch.testing.assert_close(sens, same)
    lin = nn.Linear(D, D).double()  # linear: antithetic pairs cancel the cross term exactly
    s_lin, c_lin = jac.noise_terms(lin, x, sigma, 3)
    torch.testing.assert_close(c_lin, torch.zeros(5, dtype=x.dtype))
    zero = jac.noise_terms(f, x, 0.0, 1)
    torch.testing.assert_close(zero[0], torch.zeros(5, dtype=x.dtype))
    for bad in (dict(sigma=-0.1), dict(sigma=0.1, n_samples=0), dict(sigma=True)):
        with pytest.raises(ValueError):
            jac.noise_terms(f, x, **bad)


def test_noise_adds_sigma2_times_penalty_plus_curvature_term():
    # The expansion of the module docstring: for a quadratic r, E[2 e . delta] = sigma^2 sum_i e_i
    # tr H_i holds exactly, and E||delta||^2 = sigma^2 ||J_r||_F^2 + O(sigma^4).
    x = torch.rand(20, D, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    r, _ = quadratic_map(D)
    sigma = 0.01
    sens, cross = jac.noise_terms(r, x, sigma, 2000, torch.Generator().manual_seed(8))
    lap = jac.residual_laplacian(r, x, n_probes=None)
    j2 = jac.jacobian_sq_norm(r, x)
    torch.testing.assert_close(sens.mean() / sigma ** 2, j2.mean(), rtol=0.02, atol=0)
    torch.testing.assert_close(cross.mean() / sigma ** 2, lap.mean(), rtol=0.05, atol=0)
    first_order_error = abs(float((sens + cross).mean() / sigma ** 2 / j2.mean()) - 1)
    assert first_order_error > 0.1  # this r's curvature term is not small: sigma^2 ||J||^2 alone misses


def test_laplacian_and_noise_terms_stay_on_the_input_device():
    # meta tensors stand in for a GPU: every tensor made inside must follow x's device
    f = nn.Sequential(nn.Linear(D, 6), nn.Tanh(), nn.Linear(6, D)).to("meta")
    x = torch.rand(5, D, device="meta")
    assert jac.residual_laplacian(f, x).device.type == "meta"
    assert jac.residual_laplacian(f, x, n_probes=None).device.type == "meta"
    assert all(t.device.type == "meta" for t in jac.noise_terms(f, x, 0.1, 2))
