"""aebook.tangents: local PCA against numpy's SVD, on a plane with known tangents, bad inputs."""
import numpy as np
import pytest
import torch

from aebook.tangents import local_pca


def test_local_pca_against_numpy():
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(60, 6, generator=g, dtype=torch.float64)
    x = torch.rand(4, 6, generator=g, dtype=torch.float64)
    v = local_pca(x, ref, n_neighbours=10, n_directions=3)
    assert v.shape == (4, 3, 6) and v.dtype == x.dtype
    for xn, vn in zip(x.numpy(), v.numpy()):
        nbrs = ref.numpy()[np.argsort(((ref.numpy() - xn) ** 2).sum(1))[:10]]
        _, _, vt = np.linalg.svd(nbrs - nbrs.mean(0))
        np.testing.assert_allclose(np.abs(vn @ vt[:3].T), np.eye(3), atol=1e-8)  # up to sign
    torch.testing.assert_close(v @ v.transpose(1, 2), torch.eye(3, dtype=x.dtype).expand(4, 3, 3))
    torch.testing.assert_close(local_pca(x, ref, 10, 3, batch_size=1).abs(), v.abs())


def test_local_pca_finds_the_plane_of_planar_data():
    g = torch.Generator().manual_seed(1)
    basis = torch.linalg.qr(torch.randn(8, 2, generator=g))[0]  # (8, 2): a plane in 8-D
    ref = torch.randn(300, 2, generator=g) @ basis.T + 0.001 * torch.randn(300, 8, generator=g)
    v = local_pca(ref[:5], ref, n_neighbours=30, n_directions=2)  # (5, 2, 8)
    inside = (v @ basis).pow(2).sum(2)  # squared length of each direction's part in the plane
    torch.testing.assert_close(inside, torch.ones(5, 2), atol=1e-3, rtol=0)


def test_local_pca_bad_inputs():
    ref, x = torch.rand(20, 5), torch.rand(3, 5)
    for kwargs in (dict(n_neighbours=1), dict(n_neighbours=21), dict(n_directions=0),
                   dict(n_neighbours=4, n_directions=4), dict(n_directions=True)):
        with pytest.raises(ValueError):
            local_pca(x, ref, **kwargs)
    with pytest.raises(ValueError):
        local_pca(torch.rand(3, 4), ref)
    with pytest.raises(ValueError):
        local_pca(x[0], ref)
    with pytest.raises(TypeError):
        local_pca(x.numpy(), ref)
    with pytest.raises(TypeError):
        local_pca(torch.ones(3, 5, dtype=torch.long), ref)
