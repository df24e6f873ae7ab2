"""aebook.plotting: the mosaic, and each figure function's axes, ``ax=`` and input checks."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.axes import Axes

from aebook.plotting import image_grid, plot_codes, plot_history, plot_reconstructions, tile_images
from aebook.training import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def images():
    return torch.rand(12, 784, generator=torch.Generator().manual_seed(0))


# --- tile_images -----------------------------------------------------------------------------

def test_tile_images_shape_and_placement():
    x = np.arange(5 * 6, dtype=float).reshape(5, 6)  # five 2x3 images
    out = tile_images(x, ncols=3, shape=(2, 3), pad=1)
    assert out.shape == (2 * 3 - 1, 3 * 4 - 1)
    for i in range(5):
        r, c = divmod(i, 3)
        np.testing.assert_array_equal(out[3 * r: 3 * r + 2, 4 * c: 4 * c + 3], x[i].reshape(2, 3))
    assert np.isnan(out[2]).all() and np.isnan(out[:, 3]).all()  # the gaps
    assert np.isnan(out[3:, 8:]).all()                           # the empty sixth cell
    assert np.count_nonzero(~np.isnan(out)) == x.size


def test_tile_images_tensor_and_pad(images):
    out = tile_images(images[:4], ncols=2, pad=0)
    assert out.shape == (56, 56)
    np.testing.assert_allclose(out[28:, 28:], images[3].reshape(28, 28).numpy())


def test_tile_images_bad_input(images):
    with pytest.raises(ValueError):
        tile_images(images[:, :700], ncols=3)
    with pytest.raises(ValueError):
        tile_images(images.reshape(12, 28, 28), ncols=3)  # no silent reshape
    with pytest.raises(ValueError):
        tile_images(images, ncols=0)
    with pytest.raises(TypeError):
        tile_images(images.tolist(), ncols=3)
    with pytest.raises(ValueError, match="N >= 1"):  # was numpy's "negative dimensions"
        tile_images(images[:0], ncols=3)
    with pytest.raises(ValueError, match="ncols"):
        tile_images(images, ncols=2.5)


# --- image_grid ------------------------------------------------------------------------------

def test_image_grid(images):
    ax = image_grid(images, ncols=4, title="twelve")
    assert isinstance(ax, Axes) and ax.get_title() == "twelve"
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(np.ma.filled(shown, np.nan), tile_images(images, 4))
    _, given = plt.subplots()
    assert image_grid(images, ax=given, symmetric=True) is given
    lo, hi = given.images[0].get_clim()
    assert lo == -hi  # a diverging map centred on zero


def test_image_grid_bad_input(images):
    with pytest.raises(ValueError):
        image_grid(images[:, :100])
    with pytest.raises(TypeError):
        image_grid(images.tolist())


# --- plot_reconstructions --------------------------------------------------------------------

def test_plot_reconstructions(images):
    rows = {"PCA, k=8": images.flip(0), "AE": 1 - images}
    ax = plot_reconstructions(images, rows, n=5)
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["original", "PCA, k=8", "AE"]
    np.testing.assert_allclose(np.ma.filled(ax.images[0].get_array(), np.nan),
                               tile_images(torch.cat([images[:5], images.flip(0)[:5], 1 - images[:5]]), 5))
    _, given = plt.subplots()
    assert plot_reconstructions(images, rows, n=3, ax=given) is given


def test_plot_reconstructions_bad_input(images):
    with pytest.raises(ValueError):
        plot_reconstructions(images, {})
    with pytest.raises(ValueError):
        plot_reconstructions(images, {"AE": images[:5]})
    with pytest.raises(ValueError):
        plot_reconstructions(images[:, :100], {"AE": images[:, :100]})


def test_plot_reconstructions_bad_types(images):
    with pytest.raises(TypeError):
        plot_reconstructions(images.tolist(), {"AE": images.tolist()})
    with pytest.raises(TypeError):
        plot_reconstructions(images, [("AE", images)])


# --- plot_history ----------------------------------------------------------------------------

def test_plot_history():
    run = History(train=[4.0, 2.0, 1.0], test=[5.0, 3.0, 2.5], seconds=[0.1] * 3)
    ax = plot_history(run)
    assert isinstance(ax, Axes) and ax.get_yscale() == "log"
    (train, test) = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(train.get_ydata(), run.train)
    np.testing.assert_array_equal(test.get_ydata(), run.test)
    _, given = plt.subplots()
    ax = plot_history({"a": run, "b": History(train=[3.0, 1.0])}, ax=given, log=False)
    assert ax is given and ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a train", "a test", "b train"]


def test_plot_history_bad_input():
    with pytest.raises(ValueError):
        plot_history(History(train=[1.0, 2.0, 3.0], test=[1.0]))


def test_plot_history_bad_types():
    with pytest.raises(TypeError):
        plot_history([1.0, 2.0])
    with pytest.raises(TypeError):
        plot_history({"a": [1.0, 2.0]})


# --- plot_codes ------------------------------------------------------------------------------

def test_plot_codes():
    g = torch.Generator().manual_seed(0)
    h, labels = torch.randn(30, 2, generator=g), torch.arange(30) % 3
    ax = plot_codes(h, labels, classes=["zero", "one", "two"])
    assert isinstance(ax, Axes)
    assert len(ax.collections) == 3
    np.testing.assert_allclose(ax.collections[1].get_offsets(), h[labels == 1].numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["zero", "one", "two"]
    _, given = plt.subplots()
    assert plot_codes(h.numpy(), labels.numpy(), ax=given) is given
    assert [t.get_text() for t in given.get_legend().get_texts()] == ["0", "1", "2"]


def test_plot_codes_bad_input():
    h, labels = torch.zeros(10, 2), torch.zeros(10, dtype=torch.long)
    with pytest.raises(ValueError):
        plot_codes(torch.zeros(10, 3), labels)
    with pytest.raises(ValueError):
        plot_codes(torch.zeros(20), labels)
    with pytest.raises(ValueError):
        plot_codes(h, labels[:9])
    with pytest.raises(TypeError):
        plot_codes(h.tolist(), labels)
    with pytest.raises(ValueError, match="h holds NaN"):
        plot_codes(torch.full((10, 2), float("nan")), labels)


def test_plot_codes_rejects_float_labels():
    """Labels 0.5 and 0.7 were both truncated to class "0"."""
    with pytest.raises(TypeError, match="labels must be a 1-D integer"):
        plot_codes(torch.zeros(2, 2), torch.tensor([0.5, 0.7]))


def test_plot_codes_label_minus_one_is_not_the_last_class():
    """classes[int(-1)] used to name label -1 after the last class."""
    h, labels = torch.zeros(3, 2), torch.tensor([0, 1, -1])
    with pytest.raises(ValueError, match=r"labels must lie in 0..1"):
        plot_codes(h, labels, classes=["a", "b"])
    ax = plot_codes(h, labels)  # without classes: its own grey group
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["-1", "0", "1"]
    assert ax.collections[0].get_facecolor()[0][:3].tolist() == [0.6, 0.6, 0.6]
