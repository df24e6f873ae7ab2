"""aebook.psd and aebook.sparse_coding (re-exported by psd): ISTA/FISTA against optimality
conditions and scikit-learn, PSD parts against numpy."""
import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from aebook import psd

N, n, k, LAM = 6, 8, 12, 0.1  # an overcomplete dictionary: k > n


@pytest.fixture
def problem():
    """x (N, n) and a coherent unit-column D (n, k), float64."""
    g = torch.Generator().manual_seed(0)
    D = torch.randn(n, k, generator=g, dtype=torch.float64) + 0.8  # shared component: coherent atoms
    D = D / D.norm(dim=0, keepdim=True)
    x = torch.randn(N, n, generator=g, dtype=torch.float64)
    return x, D


def numpy_kkt(x, D, h, lam, gamma=0.0, c=None):
    """Largest violation of 0 in the subdifferential of F at h, computed in numpy."""
    x, D, h = x.numpy(), D.numpy(), h.numpy()
    r = (x - h @ D.T) @ D - (gamma * (h - c.numpy()) if gamma else 0.0)
    on = np.abs(r - lam * np.sign(h))
    off = np.maximum(np.abs(r) - lam, 0.0)
    return np.where(h != 0, on, off).max()


def sklearn_codes(x, D, lam):
    """The Lasso optimum by scikit-learn's coordinate descent to a tight tolerance, row by row.
    (sparse_encode's own tolerance differs between versions: 1.6.1 stops ~1e-4 from the optimum.)
    Lasso minimises 1/(2 n) ||x - D h||^2 + alpha ||h||_1, so alpha = lam / n."""
    lasso = Lasso(alpha=lam / D.shape[0], fit_intercept=False, tol=1e-12, max_iter=100_000)
    return np.stack([lasso.fit(D.numpy(), row).coef_.copy() for row in x.numpy()])


def test_soft_threshold_matches_numpy():
    z = torch.linspace(-2, 2, 41, dtype=torch.float64)
    expected = np.sign(z.numpy()) * np.maximum(np.abs(z.numpy()) - 0.5, 0)
    np.testing.assert_allclose(psd.soft_threshold(z, 0.5).numpy(), expected)
    theta = torch.rand(41, dtype=torch.float64)
    np.testing.assert_allclose(psd.soft_threshold(z, theta).numpy(),
                               np.sign(z.numpy()) * np.maximum(np.abs(z.numpy()) - theta.numpy(), 0))
    with pytest.raises(ValueError):
        psd.soft_threshold(z, -0.1)
    with pytest.raises(TypeError):
        psd.soft_threshold([1.0], 0.1)


def test_normalize_columns_and_lipschitz(problem):
    _, D = problem
    A = D * torch.arange(1, k + 1)
    np.testing.assert_allclose(psd.normalize_columns(A).norm(dim=0).numpy(), np.ones(k))
    np.testing.assert_allclose(psd.lipschitz(D, gamma=0.5), np.linalg.eigvalsh((D.T @ D).numpy()).max() + 0.5)
    for f in (psd.normalize_columns, psd.lipschitz, psd.orient_atoms):
        with pytest.raises(ValueError):
            f(torch.ones(3))


def test_objective_matches_numpy(problem):
    x, D = problem
    h, c = torch.randn(N, k, dtype=torch.float64), torch.randn(N, k, dtype=torch.float64)
    X, A, H, C = x.numpy(), D.numpy(), h.numpy(), c.numpy()
    expected = (0.5 * ((X - H @ A.T) ** 2).sum(1) + LAM * np.abs(H).sum(1) + 0.5 * 2.0 * ((H - C) ** 2).sum(1))
    np.testing.assert_allclose(psd.objective(x, D, h, LAM, 2.0, c).numpy(), expected)
    with pytest.raises(ValueError):
        psd.objective(x, D, h[:, :3], LAM)
    with pytest.raises(ValueError):
        psd.objective(x, D.T, h, LAM)
    with pytest.raises(TypeError):
        psd.objective(x, D, h, LAM, gamma=1.0)


@pytest.mark.parametrize("method", ["ista", "fista"])
def test_sparse_code_reaches_the_lasso_optimum(problem, method):
    x, D = problem
    res = psd.sparse_code(x, D, LAM, method=method, n_iter=50_000, tol=1e-9)
    assert res.converged and res.n_iter < 50_000
    assert numpy_kkt(x, D, res.h, LAM) < 1e-6
    assert (res.h == 0).any(), "the l1 penalty should zero some coefficients"
    np.testing.assert_allclose(res.h.numpy(), sklearn_codes(x, D, LAM), atol=1e-5)


def test_scaling_convention_matches_sklearn_lasso(problem):
    """Lasso minimises 1/(2 n) ||x - D h||^2 + alpha ||h||_1; alpha = lam / n gives our 1/2 scaling."""
    x, D = problem
    h = psd.sparse_code(x, D, LAM, n_iter=50_000, tol=1e-10).h
    for i in range(N):
        lasso = Lasso(alpha=LAM / n, fit_intercept=False, tol=1e-12, max_iter=100_000)
        np.testing.assert_allclose(h[i].numpy(), lasso.fit(D.numpy(), x[i].numpy()).coef_, atol=1e-5)


def test_psd_code_step_optimum_with_gamma(problem):
    """With gamma > 0, F is a Lasso on the augmented dictionary [D; sqrt(gamma) I], target [x; sqrt(gamma) c]."""
    x, D = problem
    gamma, c = 0.7, torch.randn(N, k, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    res = psd.sparse_code(x, D, LAM, gamma=gamma, c=c, n_iter=50_000, tol=1e-9)
    assert numpy_kkt(x, D, res.h, LAM, gamma, c) < 1e-6
    x_aug = torch.cat([x, gamma ** 0.5 * c], dim=1)
    D_aug = torch.cat([D, gamma ** 0.5 * torch.eye(k, dtype=torch.float64)], dim=0)
    np.testing.assert_allclose(res.h.numpy(), sklearn_codes(x_aug, D_aug, LAM), atol=1e-5)


def test_fista_converges_faster_than_ista_per_iteration(problem):
    x, D = problem
    f_star = psd.objective(x, D, psd.sparse_code(x, D, LAM, n_iter=50_000, tol=1e-12).h, LAM).mean().item()
    ista = np.array(psd.sparse_code(x, D, LAM, method="ista", n_iter=100, trace=True).objective) - f_star
    fista = np.array(psd.sparse_code(x, D, LAM, method="fista", n_iter=100, trace=True).objective) - f_star
    assert len(ista) == len(fista) == 100
    assert np.all(np.diff(ista) <= 1e-12), "ISTA with step 1/L is a descent method"
    assert fista[-1] < ista[-1] / 10, f"gap after 100 iterations: FISTA {fista[-1]:.2e}, ISTA {ista[-1]:.2e}"


def test_sparse_code_stopping_and_warm_start(problem):
    x, D = problem
    fixed = psd.sparse_code(x, D, LAM, n_iter=7)
    assert fixed.n_iter == 7 and not fixed.converged and fixed.objective == []
    h_star = torch.from_numpy(sklearn_codes(x, D, LAM))
    warm = psd.sparse_code(x, D, LAM, n_iter=1, method="ista", h0=h_star)  # a fixed point barely moves
    np.testing.assert_allclose(warm.h.numpy(), h_star.numpy(), atol=1e-4)
    stopped = psd.sparse_code(x, D, LAM, n_iter=10_000, tol=1e-3, check_every=5)
    assert stopped.converged and stopped.n_iter % 5 == 0 and stopped.n_iter < 10_000


def test_sparse_code_rejects_bad_input(problem):
    x, D = problem
    bad = [dict(method="lars"), dict(n_iter=0), dict(tol=-1.0), dict(check_every=0),
           dict(gamma=-1.0, c=torch.zeros(N, k)), dict(gamma=1.0, c=torch.zeros(N, 3)), dict(h0=torch.zeros(2, k))]
    for kwargs in bad:
        with pytest.raises(ValueError):
            psd.sparse_code(x, D, LAM, **kwargs)
    with pytest.raises(ValueError):
        psd.sparse_code(x, D, -1.0)
    with pytest.raises(ValueError):
        psd.sparse_code(x[:, :3], D, LAM)
    with pytest.raises(TypeError):
        psd.sparse_code(x.numpy(), D, LAM)
    with pytest.raises(TypeError):  # the PSD term needs the encoder's codes c
        psd.sparse_code(x, D, LAM, gamma=1.0)


@pytest.mark.parametrize("L", [-1.0, 0.0, float("nan"), float("inf")])
def test_sparse_code_rejects_a_step_size_that_is_not_positive(problem, L):
    """L < 0 gave NaN codes, L = 0 a ZeroDivisionError."""
    x, D = problem
    with pytest.raises(ValueError, match="L must be a finite number > 0"):
        psd.sparse_code(x, D, LAM, L=L)


@pytest.mark.parametrize("kwargs, name", [(dict(tol=float("nan")), "tol"), (dict(lam=float("nan")), "lam"),
                                          (dict(n_iter=True), "n_iter"),
                                          (dict(gamma=float("inf"), c=torch.zeros(N, k, dtype=torch.float64)), "gamma")])
def test_sparse_code_rejects_nan_settings(problem, kwargs, name):
    x, D = problem
    with pytest.raises(ValueError, match=name):
        psd.sparse_code(x, D, **{"lam": LAM, **kwargs})


def test_sparse_coding_names_integer_and_misplaced_tensors(problem):
    x, D = problem
    with pytest.raises(TypeError, match="D must be a floating-point tensor"):
        psd.objective(x, D.long(), torch.zeros(N, k, dtype=torch.float64), LAM)
    with pytest.raises(ValueError, match="x on cpu, D on meta"):
        psd.kkt_violation(x, D.to("meta"), torch.zeros(N, k, dtype=torch.float64), LAM)
    with pytest.raises(ValueError, match="D holds NaN"):
        psd.lipschitz(torch.full((3, 2), float("nan")))


def test_kkt_violation_matches_numpy(problem):
    x, D = problem
    h_star = torch.from_numpy(sklearn_codes(x, D, LAM))
    assert psd.kkt_violation(x, D, h_star, LAM).max() < 1e-6
    h = torch.randn(N, k, dtype=torch.float64) * (torch.rand(N, k) < 0.5)
    v = psd.kkt_violation(x, D, h, LAM)
    assert v.shape == (N,)
    np.testing.assert_allclose(v.max().item(), numpy_kkt(x, D, h, LAM))


def test_shrinkage_encoder_starts_as_one_ista_step(problem):
    x, D = problem
    f = psd.ShrinkageEncoder(n, k).double().init_from(D, LAM)
    with torch.no_grad():
        np.testing.assert_allclose(f(x).numpy(), psd.sparse_code(x, D, LAM, method="ista", n_iter=1).h.numpy())
    assert (f.theta >= 0).all()
    f.raw_theta.data.fill_(-0.3)  # the threshold is |raw_theta|, never negative
    z = f.linear(x).detach().numpy()
    np.testing.assert_allclose(f(x).detach().numpy(), np.sign(z) * np.maximum(np.abs(z) - 0.3, 0))


def test_psd_model_and_loss_gradient(problem):
    x, _ = problem
    x = x.float()
    model = psd.psd_model(x.repeat(3, 1), k=10, lam=LAM, seed=0)
    D = model.decoder.weight  # (n, 10)
    assert D.shape == (n, 10)
    np.testing.assert_allclose(D.detach().norm(dim=0).numpy(), np.ones(10), rtol=1e-6)
    h = torch.randn(N, 10)
    loss = psd.psd_loss(model, x, h, gamma=2.0)
    with torch.no_grad():
        r, fx = (h @ D.T).numpy(), model.encode(x).numpy()
    X, H = x.numpy(), h.numpy()
    expected = 0.5 * ((X - r) ** 2).sum(1).mean() + 0.5 * 2.0 * ((H - fx) ** 2).sum(1).mean()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)
    loss.backward()  # d/dD of 1/2 mean ||x - D h||^2 is -(x - D h)^T h / N
    np.testing.assert_allclose(D.grad.numpy(), -((X - r).T @ H) / N, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError):
        psd.psd_model(x, k=N + 1, lam=LAM)
    with pytest.raises(TypeError):
        psd.psd_model(x.numpy(), k=2, lam=LAM)
    with pytest.raises(ValueError):
        psd.psd_loss(model, x, h[:, :3], gamma=1.0)
    with pytest.raises(TypeError):
        psd.psd_loss(torch.nn.Linear(2, 2), x, h, gamma=1.0)


def test_psd_model_is_built_on_x_device_and_dtype(problem, monkeypatch):
    """psd_model used to build on the CPU in float32 whatever x was, so PSD trained on the CPU."""
    x, _ = problem
    model = psd.psd_model(x.repeat(3, 1), k=10, lam=LAM, seed=0)  # float64 x
    assert {p.dtype for p in model.parameters()} == {torch.float64}
    rows = torch.randperm(18, generator=torch.Generator().manual_seed(0))[:10]  # seeded on the CPU
    torch.testing.assert_close(model.decoder.weight, psd.normalize_columns(x.repeat(3, 1)[rows].T))
    # meta stands in for a GPU; L (a float read from D) is the one step that needs values
    monkeypatch.setattr(psd, "lipschitz", lambda D, gamma=0.0: 1.0)
    meta = psd.psd_model(x.repeat(3, 1).float().to("meta"), k=10, lam=LAM, seed=0)
    assert {p.device.type for p in meta.parameters()} == {"meta"}


def test_shrinkage_encoder_forward_does_not_read_values(problem):
    """soft_threshold checked theta >= 0 with bool((theta < 0).any()): a device sync per forward."""
    f = psd.ShrinkageEncoder(n, k).to("meta")
    assert f(torch.empty(N, n, device="meta")).device.type == "meta"


def test_train_psd_lowers_the_objective_and_keeps_unit_atoms():
    g = torch.Generator().manual_seed(0)
    atoms = torch.randn(16, 24, generator=g)
    codes = torch.randn(400, 24, generator=g) * (torch.rand(400, 24, generator=g) < 0.1)
    x = codes @ atoms.T + 0.01 * torch.randn(400, 16, generator=g)  # truly sparse data
    model = psd.psd_model(x, k=24, lam=0.1, seed=0)
    hist = psd.train_psd(model, x, lam=0.1, gamma=1.0, epochs=6, batch_size=50, lr=1e-2, n_iter=10, progress=False)
    assert len(hist.objective) == len(hist.prediction_error) == len(hist.seconds) == 6
    assert hist.objective[-1] < 0.9 * hist.objective[0]
    assert hist.prediction_error[-1] < hist.prediction_error[0]
    np.testing.assert_allclose(model.decoder.weight.detach().norm(dim=0).numpy(), np.ones(24), rtol=1e-5)
    for kwargs in (dict(lam=-1.0, gamma=1.0), dict(lam=0.1, gamma=0.0), dict(lam=0.1, gamma=1.0, epochs=0)):
        with pytest.raises(ValueError):
            psd.train_psd(model, x, **kwargs)
    with pytest.raises(ValueError):
        psd.train_psd(model, x[0], lam=0.1, gamma=1.0)
    with pytest.raises(TypeError):
        psd.train_psd(model, x.numpy(), lam=0.1, gamma=1.0)
    x_nan = x.clone()
    x_nan[3, 3] = float("nan")
    with pytest.raises(ValueError, match="x_train holds NaN"):
        psd.train_psd(model, x_nan, lam=0.1, gamma=1.0)
    with pytest.raises(ValueError, match=r"x_train must be a non-empty \(N, 16\)"):
        psd.train_psd(model, x[:, :5], lam=0.1, gamma=1.0)


def test_random_patches_are_crops_with_ink():
    images = torch.rand(5, 784, generator=torch.Generator().manual_seed(0))
    images[:, :392] = 0  # top half blank: patches there have no ink
    p = psd.random_patches(images, 6, 40, min_std=0.05, seed=3)
    assert p.shape == (40, 36) and (p.std(dim=1) > 0.05).all()
    crops = images.reshape(-1, 28, 28).unfold(1, 6, 1).unfold(2, 6, 1).reshape(-1, 36)  # every crop
    for patch in p[:5]:
        assert ((crops - patch).abs().amax(dim=1) == 0).any()
    assert torch.equal(p, psd.random_patches(images, 6, 40, min_std=0.05, seed=3))
    for kwargs in (dict(size=0, n=3), dict(size=29, n=3), dict(size=5, n=0)):
        with pytest.raises(ValueError):
            psd.random_patches(images, **kwargs)
    with pytest.raises(ValueError):
        psd.random_patches(images[:, :100], 5, 3)
    with pytest.raises(TypeError):
        psd.random_patches(images.numpy(), 5, 3)


def test_orient_atoms_flips_signs_only(problem):
    _, D = problem
    A = D * torch.tensor([-1.0, 1.0] * (k // 2), dtype=torch.float64)
    out = psd.orient_atoms(A)
    peak = out.numpy()[np.abs(out.numpy()).argmax(0), np.arange(k)]
    assert (peak > 0).all()
    np.testing.assert_allclose(np.abs(out.numpy()), np.abs(A.numpy()))


def test_relative_error_and_median_seconds(monkeypatch):
    a, b = torch.tensor([[3.0, 4.0]]), torch.tensor([[0.0, 4.0]])
    assert psd.relative_error(a, b) == pytest.approx(3.0 / 4.0)
    with pytest.raises(ValueError):
        psd.relative_error(a, b.T)
    with pytest.raises(TypeError):
        psd.relative_error(a, b.numpy())
    clock = iter([0.0, 1.0, 10.0, 13.0, 20.0, 22.0])  # durations 1, 3, 2 -> median 2
    monkeypatch.setattr(psd.time, "perf_counter", lambda: next(clock))
    calls = []
    assert psd.median_seconds(lambda: calls.append(1), repeats=3, warmup=2) == 2.0
    assert len(calls) == 5
    with pytest.raises(ValueError):
        psd.median_seconds(lambda: None, repeats=0)
    with pytest.raises(TypeError):
        psd.median_seconds(3.0)
