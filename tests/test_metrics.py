"""aebook.metrics: PCA against scikit-learn, principal angles against scipy and known geometry,
and the per-example reconstruction error by hand."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.decomposition import PCA as SkPCA
from torch import nn

from aebook import mlp_autoencoder
from aebook.metrics import encode, fit_pca, pass_through, per_example_squared_error, principal_angles


@pytest.fixture
def x():
    g = torch.Generator().manual_seed(0)
    return torch.randn(200, 6, generator=g, dtype=torch.float64) * torch.tensor([5.0, 3, 2, 1, 0.5, 0.1]) + 4


# --- fit_pca ---------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 3, 6])
def test_fit_pca_against_sklearn(x, k):
    pca = fit_pca(x, k)
    sk = SkPCA(n_components=k).fit(x.numpy())
    assert pca.components.shape == (6, k) and pca.variances.shape == (k,)
    np.testing.assert_allclose(pca.mean.numpy(), sk.mean_, rtol=1e-12)
    np.testing.assert_allclose(pca.variances.numpy(), sk.explained_variance_, rtol=1e-10)
    signs = np.sign(np.sum(pca.components.numpy() * sk.components_.T, axis=0))  # up to sign
    np.testing.assert_allclose(pca.components.numpy() * signs, sk.components_.T, atol=1e-10)
    np.testing.assert_allclose(pca.reconstruct(x).numpy(), sk.inverse_transform(sk.transform(x.numpy())), atol=1e-10)
    np.testing.assert_allclose(np.abs(pca.encode(x).numpy()), np.abs(sk.transform(x.numpy())), atol=1e-10)


def test_fit_pca_keeps_dtype_and_is_orthonormal(x):
    pca = fit_pca(x.float(), 3)
    assert pca.components.dtype == pca.mean.dtype == pca.variances.dtype == torch.float32
    torch.testing.assert_close(pca.components.T @ pca.components, torch.eye(3), atol=1e-6, rtol=0)
    assert torch.all(pca.variances[:-1] >= pca.variances[1:])


def test_pca_reconstruction_is_a_projection(x):
    pca = fit_pca(x, 2)
    r = pca.reconstruct(x)
    torch.testing.assert_close(pca.reconstruct(r), r)  # projecting twice changes nothing
    torch.testing.assert_close(pca.decode(pca.encode(x)), r)
    torch.testing.assert_close((x - r) @ pca.components, torch.zeros(200, 2, dtype=x.dtype), atol=1e-10, rtol=0)


@pytest.mark.parametrize("k", [0, 7, 2.0, None])
def test_fit_pca_bad_k(x, k):
    with pytest.raises(ValueError):
        fit_pca(x, k)


def test_fit_pca_bad_x():
    with pytest.raises(TypeError):
        fit_pca(np.zeros((5, 3)), 1)
    for bad in (torch.zeros(5), torch.zeros(0, 3), torch.zeros(2, 3, 4)):
        with pytest.raises(ValueError):
            fit_pca(bad, 1)
    with pytest.raises(ValueError, match="x holds NaN"):
        fit_pca(torch.tensor([[0.0, 1.0], [float("nan"), 2.0], [1.0, 1.0]]), 1)


def test_fit_pca_rejects_integer_input(x):
    """Integer pixels used to come back as integer components: all zeros, and a reconstruction
    error of 195 where the same data as floats give 102."""
    pixels = (x * 10).round().long()
    with pytest.raises(TypeError, match=r"x must be a floating-point tensor, got torch.int64.*x.float\(\)"):
        fit_pca(pixels, 2)
    pca = fit_pca(pixels.double(), 2)  # what the message says to do
    assert pca.components.abs().sum() > 0


@pytest.mark.parametrize("n, d, k", [(3, 5, 3), (5, 5, 5), (2, 4, 2)])
def test_fit_pca_k_is_bounded_by_the_rank_of_the_centred_data(n, d, k):
    """N centred points span at most N - 1 directions: a k-th component beyond them had variance
    ~1e-17 and an arbitrary direction."""
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ValueError, match=rf"k must be an int in 1..{min(n - 1, d)}"):
        fit_pca(x, k)
    assert fit_pca(x, min(n - 1, d)).variances.min() > 1e-3


def test_fit_pca_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):  # was "ill-conditioned"
        fit_pca(torch.ones(1, 3), 1)


def test_pca_methods_check_their_input(x):
    pca = fit_pca(x, 2)
    with pytest.raises(ValueError, match=r"x must be an \(N, 6\) tensor"):
        pca.encode(x[:, :5])
    with pytest.raises(ValueError, match=r"h must be an \(N, 2\) tensor"):
        pca.decode(x[:, :3])
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        pca.reconstruct(x.long())
    with pytest.raises(ValueError, match="x on meta, the PCA on cpu"):
        pca.encode(x.to("meta"))


# --- principal_angles ------------------------------------------------------------------------

def test_identical_spaces():
    a = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    mix = torch.randn(3, 3, generator=torch.Generator().manual_seed(1))  # another basis of the same space
    angles = principal_angles(a, a @ mix)
    assert angles.shape == (3,)
    assert float(angles.max()) < 1e-4


def test_orthogonal_spaces():
    e = torch.eye(5)
    torch.testing.assert_close(principal_angles(e[:, :2], e[:, 2:4]), torch.full((2,), 90.0))  # e's dtype


@pytest.mark.parametrize("deg", [10.0, 37.0, 80.0])
def test_known_angle(deg):
    t = math.radians(deg)
    line = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    tilted = torch.tensor([[math.cos(t)], [math.sin(t)]], dtype=torch.float64)
    assert float(principal_angles(line, tilted)[0]) == pytest.approx(deg, abs=1e-6)
    # two planes in R^3 sharing the x axis, tilted by deg about it: angles 0 and deg
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    b = torch.tensor([[2.0, 0.0], [0.0, math.cos(t)], [0.0, math.sin(t)]], dtype=torch.float64)
    np.testing.assert_allclose(principal_angles(a, b).numpy(), [0.0, deg], atol=1e-5)


@pytest.mark.parametrize("p, q", [(2, 2), (1, 3), (3, 2), (4, 4)])
def test_against_scipy(p, q):
    g = torch.Generator().manual_seed(p * 10 + q)
    a, b = (torch.randn(7, n, generator=g, dtype=torch.float64) for n in (p, q))  # scipy keeps float32 as float32
    expected = np.sort(np.rad2deg(scipy.linalg.subspace_angles(a.numpy(), b.numpy())))
    np.testing.assert_allclose(principal_angles(a, b).numpy(), expected, atol=1e-4)


def test_principal_angles_bad_inputs():
    with pytest.raises(ValueError, match="one N and D"):
        principal_angles(torch.randn(4, 2), torch.randn(5, 2))
    with pytest.raises(ValueError):
        principal_angles(torch.randn(4), torch.randn(4, 1))
    with pytest.raises(ValueError):
        principal_angles(torch.zeros(4, 0), torch.randn(4, 1))
    with pytest.raises(TypeError):
        principal_angles(np.eye(3), torch.eye(3))
    with pytest.raises(ValueError, match="p <= D"):
        principal_angles(torch.zeros(3, 2, 3), torch.zeros(3, 2, 1))  # 3 columns in 2-D
    with pytest.raises(ValueError, match="one N and D"):
        principal_angles(torch.zeros(3, 4, 1), torch.zeros(2, 4, 1))  # N differs
    with pytest.raises(ValueError, match="one N and D"):
        principal_angles(torch.zeros(3, 4, 1), torch.zeros(4, 1))  # a batch against a single pair
    with pytest.raises(TypeError, match="a must be a floating-point tensor"):
        principal_angles(torch.eye(3, dtype=torch.long), torch.eye(3))
    with pytest.raises(ValueError, match="a holds NaN"):
        principal_angles(torch.full((3, 1), float("nan")), torch.eye(3)[:, :1])
    with pytest.raises(ValueError, match="a on meta, b on cpu"):
        principal_angles(torch.eye(3, device="meta"), torch.eye(3))


def test_batched_principal_angles_match_pair_by_pair():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 6, 3, generator=g), torch.randn(5, 6, 2, generator=g)
    angles = principal_angles(a, b)
    assert angles.shape == (5, 2) and angles.dtype == torch.float32
    for i in range(5):
        torch.testing.assert_close(angles[i], principal_angles(a[i], b[i]), atol=1e-5, rtol=1e-6)


def test_principal_angles_of_lines_ignore_sign_and_length():
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    v = torch.tensor([[-3.0, 0.0], [1.0, 1.0], [1.0, -1.0]])
    torch.testing.assert_close(principal_angles(u[..., None], v[..., None])[:, 0],
                               torch.tensor([0.0, 45.0, 90.0]), atol=1e-4, rtol=0)


@pytest.mark.parametrize("a", [torch.zeros(4, 2), torch.tensor([[1.0, 2.0], [0, 0], [0, 0], [0, 0]])])
def test_principal_angles_rejects_rank_deficient_input(a):
    """A zero or repeated column spans less than its column count: QR then invents the missing
    directions, and the angles describe a space the caller never gave."""
    with pytest.raises(ValueError):
        principal_angles(a, torch.eye(4)[:, :2])


# --- per_example_squared_error ---------------------------------------------------------------

def test_per_example_squared_error_by_hand():
    model = nn.Linear(3, 3)
    with torch.no_grad():
        model.weight.copy_(torch.diag(torch.tensor([1.0, 2.0, 0.0])))
        model.bias.copy_(torch.tensor([0.0, 0.0, 1.0]))
    x = torch.tensor([[1.0, 1.0, 1.0], [0.0, 2.0, 3.0], [1.0, -1.0, 0.0]])
    # r = (x1, 2 x2, 1), so the error is x2^2 + (1 - x3)^2
    expected = torch.tensor([1.0 + 0.0, 4.0 + 4.0, 1.0 + 1.0])
    model.train()
    torch.testing.assert_close(per_example_squared_error(model, x, batch_size=2), expected)
    assert model.training


def test_per_example_squared_error_mean_matches_loss():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 2), nn.Linear(2, 5))
    x = torch.randn(11, 5)
    err = per_example_squared_error(model, x, batch_size=4)
    assert err.shape == (11,)
    with torch.no_grad():
        torch.testing.assert_close(err, ((model(x) - x) ** 2).sum(1))


def test_per_example_squared_error_bad_x():
    model = nn.Linear(3, 3)
    with pytest.raises(TypeError):
        per_example_squared_error(model, np.zeros((2, 3)))
    with pytest.raises(ValueError):
        per_example_squared_error(model, torch.zeros(3))


def small_model():
    torch.manual_seed(0)
    return mlp_autoencoder(6, hidden=[5], code_dim=4).double()


class Linear(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(a, requires_grad=False)

    def forward(self, x):
        return x @ self.a.T


def test_pass_through_closed_forms():
    d = 50
    x = torch.rand(40, d, dtype=torch.float64)
    assert pass_through(Linear(torch.eye(d, dtype=torch.float64)), x) == pytest.approx(1.0, rel=1e-9)
    assert pass_through(Linear(2 * torch.eye(d, dtype=torch.float64)), x) == pytest.approx(4.0, rel=1e-9)
    assert pass_through(Linear(torch.zeros(d, d, dtype=torch.float64)), x) == 0.0
    q, _ = torch.linalg.qr(torch.randn(d, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    projection = Linear(q @ q.T)  # orthogonal projection onto 10 dimensions: E = 10 / 50
    assert pass_through(projection, x, n_draws=50) == pytest.approx(10 / d, rel=0.05)
    # A nonlinear map, against its Jacobian from autograd: pi ~ mean ||J||_F^2 / D.
    model = small_model()
    xs = torch.rand(30, 6, dtype=torch.float64) + 0.5
    frob = np.mean([torch.autograd.functional.jacobian(model, xi).pow(2).sum().item() for xi in xs])
    assert pass_through(model, xs, sigma=1e-5, n_draws=400) == pytest.approx(frob / 6, rel=0.05)


def test_pass_through_errors():
    model = small_model()
    x = torch.rand(4, 6, dtype=torch.float64)
    with pytest.raises(ValueError):
        pass_through(model, x, sigma=0.0)
    with pytest.raises(ValueError):
        pass_through(model, x, n_draws=0)
    with pytest.raises(ValueError):
        pass_through(model, x[0])
    for sigma in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="sigma"):
            pass_through(model, x, sigma=sigma)
    with pytest.raises(ValueError, match="x holds NaN"):
        pass_through(model, torch.full((4, 6), float("nan"), dtype=torch.float64))


def test_encode_matches_the_encoder_in_eval_mode_and_batches():
    torch.manual_seed(0)
    model = mlp_autoencoder(6, hidden=[5], code_dim=3)
    model.encoder.insert(0, nn.Dropout(0.5))  # would randomise codes if left in train mode
    model.train()
    x = torch.rand(10, 6)
    h = encode(model, x, batch_size=3)
    model.eval()
    torch.testing.assert_close(h, model.encode(x))
    model.train()
    encode(model, x)
    assert model.training and not h.requires_grad and h.shape == (10, 3)


def test_encode_bad_inputs():
    with pytest.raises(TypeError):
        encode(nn.Linear(3, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError):
        encode(mlp_autoencoder(3, [2], 1), torch.zeros(3))
    with pytest.raises(ValueError, match="batch_size"):
        encode(mlp_autoencoder(3, [2], 1), torch.zeros(2, 3), batch_size=0)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        encode(mlp_autoencoder(3, [2], 1), torch.zeros(2, 3, dtype=torch.long))
