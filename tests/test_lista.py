"""aebook.lista: untrained LISTA is truncated ISTA exactly; training brings it closer to h*."""
import numpy as np
import pytest
import torch

from aebook import psd
from aebook.lista import LISTA, lista_loss, train_lista

N, n, k, LAM = 6, 8, 12, 0.1  # an overcomplete dictionary: k > n


@pytest.fixture
def problem():
    """x (N, n) and a coherent unit-column D (n, k), float64."""
    g = torch.Generator().manual_seed(0)
    D = psd.normalize_columns(torch.randn(n, k, generator=g, dtype=torch.float64) + 0.8)
    return torch.randn(N, n, generator=g, dtype=torch.float64), D


@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_untrained_lista_is_truncated_ista(problem, steps):
    x, D = problem
    net = LISTA(n, k, steps).double().init_from(D, LAM)
    ista = psd.sparse_code(x, D, LAM, method="ista", n_iter=steps + 1).h
    with torch.no_grad():
        h = net(x)
    torch.testing.assert_close(h, ista, rtol=0, atol=1e-12)
    assert (h == 0).any() and (h != 0).any()  # the threshold acts: a real test of S_theta


def test_init_from_sets_ista_weights(problem):
    _, D = problem
    net = LISTA(n, k, 2).double().init_from(D, LAM)
    L = np.linalg.eigvalsh((D.T @ D).numpy()).max()
    np.testing.assert_allclose(net.W_e.weight.detach().numpy(), D.T.numpy() / L)
    np.testing.assert_allclose(net.W_s.weight.detach().numpy(), np.eye(k) - (D.T @ D).numpy() / L)
    np.testing.assert_allclose(net.theta.detach().numpy(), np.full(k, LAM / L))
    assert net.init_from(D.float(), LAM).W_e.weight.dtype == torch.float64  # keeps its dtype


def test_shapes_parameters_and_theta():
    net = LISTA(n, k, 3)
    assert net(torch.randn(5, n)).shape == (5, k)
    assert sum(p.numel() for p in net.parameters()) == k * n + k * k + k  # shared by all steps
    with torch.no_grad():
        net.raw_theta.fill_(-0.3)
    assert torch.equal(net.theta, torch.full((k,), 0.3))  # |raw_theta| >= 0


def test_forward_stays_on_the_input_device_and_dtype():
    net = LISTA(n, k, 2).to("meta")
    h = net(torch.empty(4, n, device="meta"))
    assert h.device.type == "meta" and h.shape == (4, k)
    h = LISTA(n, k, 1).double()(torch.randn(3, n, dtype=torch.float64))
    assert h.dtype == torch.float64


def test_lista_loss_sums_over_units_and_averages_over_the_batch(problem):
    x, D = problem
    net = LISTA(n, k, 1).double().init_from(D, LAM)
    h_star = torch.randn(N, k, dtype=torch.float64)
    with torch.no_grad():
        expected = 0.5 * ((net(x) - h_star) ** 2).numpy().sum(1).mean()
    loss = lista_loss(net, x, h_star)
    np.testing.assert_allclose(loss.item(), expected)
    loss.backward()
    for p in net.parameters():  # gradients reach W_e, W_s and theta through the unrolled steps
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_train_lista_beats_truncated_ista():
    g = torch.Generator().manual_seed(1)
    D = psd.normalize_columns(torch.randn(n, k, generator=g))
    codes = torch.randn(600, k, generator=g) * (torch.rand(600, k, generator=g) < 0.2)
    x = codes @ D.T + 0.05 * torch.randn(600, n, generator=g)  # sparse combinations of atoms
    h_star = psd.sparse_code(x, D, LAM, n_iter=5_000, tol=1e-6).h
    net, untrained = LISTA(n, k, 1).init_from(D, LAM), LISTA(n, k, 1).init_from(D, LAM)
    torch.manual_seed(0)
    history = train_lista(net, x[:500], h_star[:500], epochs=30, lr=1e-2, batch_size=50,
                          progress=False)
    assert history.train[-1] < history.train[0]
    with torch.no_grad():
        trained_error = psd.relative_error(net(x[500:]), h_star[500:])
        ista_error = psd.relative_error(untrained(x[500:]), h_star[500:])
    assert trained_error < 0.7 * ista_error, (trained_error, ista_error)


@pytest.mark.parametrize("args", [(0, k, 1), (n, 0, 1), (n, k, -1), (n, k, 1.5), (True, k, 1)])
def test_lista_rejects_bad_sizes(args):
    with pytest.raises(ValueError):
        LISTA(*args)


def test_lista_rejects_bad_input(problem):
    x, D = problem
    net = LISTA(n, k, 1).double()
    with pytest.raises(TypeError):
        net(x.numpy())
    for bad in (x[0], x[:, :-1], x.long(), torch.empty(0, n + 1, dtype=torch.float64)):
        with pytest.raises(ValueError):
            net(bad)
    for bad_D in (D.T, D[:, :-1], D.numpy()):
        with pytest.raises(ValueError):
            net.init_from(bad_D, LAM)
    for bad_lam in (-0.1, float("nan"), float("inf"), True, "0.1"):
        with pytest.raises(ValueError):
            net.init_from(D, bad_lam)


def test_loss_and_training_reject_bad_input(problem):
    x, D = problem
    net = LISTA(n, k, 1).double().init_from(D, LAM)
    h_star = torch.zeros(N, k, dtype=torch.float64)
    with pytest.raises(ValueError):
        lista_loss(net, x, h_star[:, :-1])
    with pytest.raises(TypeError):
        lista_loss(torch.nn.Linear(n, k), x, h_star)
    with pytest.raises(TypeError):
        lista_loss(net, x, h_star.numpy())
    with pytest.raises(TypeError):
        train_lista(torch.nn.Linear(n, k), x, h_star)
    with pytest.raises(TypeError):
        train_lista(net, x.numpy(), h_star)
    for bad_x, bad_h in ((x, h_star[:-1]), (x[:, :-1], h_star), (x[:0], h_star[:0])):
        with pytest.raises(ValueError):
            train_lista(net, bad_x, bad_h, progress=False)
