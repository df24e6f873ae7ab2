"""Tangent planes of the data estimated from the data alone: local PCA.

DLB §14.6 and Figure 14.10 (Goodfellow et al. 2016, key ``goodfellow2016deep``) compare the
tangent directions a contractive autoencoder reads off its Jacobian (``aebook.jacobian.
tangent_directions``; Rifai et al. 2011, key ``rifai2011manifold``) with those of local PCA: the
leading principal directions of the training examples nearest to a point, a nonparametric
estimate of the tangent plane of the data manifold at that point.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _check_matrix(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2 or min(x.shape) == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) tensor, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {x.dtype}")


@torch.no_grad()
def local_pca(x: Tensor, reference: Tensor, n_neighbours: int = 50, n_directions: int = 5,
              batch_size: int = 256) -> Tensor:
    """The leading principal directions of each row's nearest neighbours: (N, D) -> (N, p, D).

    DLB §14.6, Figure 14.10. For each x_n, the ``n_neighbours`` rows of ``reference`` (M, D)
    nearest to it in Euclidean distance are centred on their own mean, and their top
    ``n_directions`` right singular vectors (orthonormal rows, in order of decreasing variance) are
    returned: the same layout as ``aebook.jacobian.tangent_directions``. A row of x that is also
    in ``reference`` counts as its own neighbour. Results on x's device, in x's dtype."""
    _check_matrix(x, "x")
    _check_matrix(reference, "reference")
    if x.shape[1] != reference.shape[1]:
        raise ValueError(f"x and reference must have the same number of columns, got {x.shape[1]} "
                         f"and {reference.shape[1]}")
    if isinstance(n_neighbours, bool) or not isinstance(n_neighbours, int) \
            or not 2 <= n_neighbours <= len(reference):
        raise ValueError(f"n_neighbours must be an int in 2..{len(reference)}, got {n_neighbours!r}")
    if isinstance(n_directions, bool) or not isinstance(n_directions, int) \
            or not 1 <= n_directions < min(n_neighbours, x.shape[1] + 1):
        raise ValueError(f"n_directions must be an int in 1..{min(n_neighbours - 1, x.shape[1])}, "
                         f"got {n_directions!r}")
    reference = reference.to(device=x.device, dtype=x.dtype)
    out = []
    for xb in x.split(batch_size):
        idx = torch.cdist(xb, reference).topk(n_neighbours, largest=False).indices  # (n, K)
        nbrs = reference[idx]  # (n, K, D)
        centred = nbrs - nbrs.mean(1, keepdim=True)
        _, _, vh = torch.linalg.svd(centred.double(), full_matrices=False)  # (n, K, D)
        out.append(vh[:, :n_directions].to(x.dtype))
    return torch.cat(out)
