"""A linear probe: how linearly separable the classes are in a representation.

Fit a multinomial logistic regression on training codes h (labels never reach the autoencoder) and
report its accuracy on test codes. Vincent et al. (2008, key ``vincent2008extracting``; 2010, key
``vincent2010stacked``) judge denoising autoencoders by how well such supervised models do on their
codes; DLB §14.2.2 and §15.1 discuss codes as features. The probe is scikit-learn's
``LogisticRegression`` on standardised codes (each feature shifted and scaled by its training mean
and std), so the regularisation strength ``C`` means the same thing for every representation.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor


def _as_numpy(a: Tensor | np.ndarray, name: str, ndim: int) -> np.ndarray:
    if isinstance(a, Tensor):
        a = a.detach().cpu().numpy()
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a torch.Tensor or a numpy array, got {type(a).__name__}")
    if a.ndim != ndim or len(a) == 0:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array, got shape {a.shape}")
    return a


def probe_accuracy(h_train: Tensor | np.ndarray, y_train: Tensor | np.ndarray,
                   h_test: Tensor | np.ndarray, y_test: Tensor | np.ndarray,
                   C: float = 1.0, max_iter: int = 500) -> float:
    """Test accuracy in [0, 1] of a logistic regression fit on (h_train (N, k), y_train (N,)) and
    scored on (h_test (M, k), y_test (M,)); codes standardised with the training statistics.

    A linear probe of learned features, as in Vincent et al. 2010 (``vincent2010stacked``).
    ``C`` is the inverse L2 penalty (scikit-learn's convention: the penalty is 1/(2C) ||W||^2
    added to the SUM over examples of the cross-entropy)."""
    h_train, h_test = _as_numpy(h_train, "h_train", 2), _as_numpy(h_test, "h_test", 2)
    y_train, y_test = _as_numpy(y_train, "y_train", 1), _as_numpy(y_test, "y_test", 1)
    if len(h_train) != len(y_train) or len(h_test) != len(y_test):
        raise ValueError(f"codes and labels must pair up: {len(h_train)} vs {len(y_train)} (train), "
                         f"{len(h_test)} vs {len(y_test)} (test)")
    if h_train.shape[1] != h_test.shape[1]:
        raise ValueError(f"train and test codes differ in width: {h_train.shape[1]} vs {h_test.shape[1]}")
    if len(np.unique(y_train)) < 2:
        raise ValueError("y_train must hold at least two classes")
    if not C > 0 or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"need C > 0 and a positive int max_iter, got C={C!r}, max_iter={max_iter!r}")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    clf.fit(h_train.astype(np.float64), y_train)
    return float(clf.score(h_test.astype(np.float64), y_test))
