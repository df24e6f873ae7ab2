"""aebook.probe: the linear probe and the encoding helper."""
import numpy as np
import pytest
import torch

from aebook.probe import probe_accuracy


def _blobs(n, k=3, dim=5, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = 3 * np.eye(k, dim)
    y = rng.integers(0, k, size=n)
    return centres[y] + spread * rng.normal(size=(n, dim)), y


def test_probe_separates_linearly_separable_classes():
    h, y = _blobs(300)
    h_test, y_test = _blobs(200, seed=1)
    assert probe_accuracy(h, y, h_test, y_test) == 1.0
    # Tensors work as well as arrays.
    assert probe_accuracy(torch.tensor(h), torch.tensor(y), torch.tensor(h_test), torch.tensor(y_test)) == 1.0


def test_probe_is_at_chance_without_information():
    rng = np.random.default_rng(2)
    h, y = rng.normal(size=(2000, 4)), rng.integers(0, 2, size=2000)
    h_test, y_test = rng.normal(size=(2000, 4)), rng.integers(0, 2, size=2000)
    assert probe_accuracy(h, y, h_test, y_test) == pytest.approx(0.5, abs=0.05)


def test_probe_is_linear_and_scale_invariant():
    """XOR is not linearly separable: a linear probe fails on it; rescaling features changes nothing."""
    rng = np.random.default_rng(3)
    h = rng.uniform(-1, 1, size=(2000, 2))
    y = (h[:, 0] * h[:, 1] > 0).astype(int)
    assert probe_accuracy(h[:1000], y[:1000], h[1000:], y[1000:]) < 0.65
    hb, yb = _blobs(300, spread=1.5, seed=4)
    hb_test, yb_test = _blobs(300, spread=1.5, seed=5)
    scale = np.array([1e-3, 1.0, 1e3, 1.0, 10.0])
    a = probe_accuracy(hb, yb, hb_test, yb_test)
    assert 0.6 < a < 1.0
    assert probe_accuracy(hb * scale, yb, hb_test * scale, yb_test) == pytest.approx(a, abs=0.005)


@pytest.mark.parametrize("args", [
    (np.ones((5, 2)), np.arange(4) % 2, np.ones((3, 2)), np.zeros(3)),   # train lengths differ
    (np.ones((4, 2)), np.arange(4) % 2, np.ones((3, 3)), np.zeros(3)),   # widths differ
    (np.ones((4, 2)), np.zeros(4), np.ones((3, 2)), np.zeros(3)),        # one class only
    (np.ones(4), np.arange(4) % 2, np.ones((3, 2)), np.zeros(3)),        # 1-D codes
])
def test_probe_bad_inputs(args):
    with pytest.raises(ValueError):
        probe_accuracy(*args)


def test_probe_bad_types_and_options():
    h, y = _blobs(20)
    with pytest.raises(TypeError):
        probe_accuracy(h.tolist(), y, h, y)
    with pytest.raises(ValueError):
        probe_accuracy(h, y, h, y, C=0.0)
