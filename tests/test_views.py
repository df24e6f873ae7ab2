"""aebook.views: a View's settings and rendering, the static sweep, the widget's callback, apply."""
import io

import numpy as np
import PIL.Image
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from aebook import views


def line_view():
    """y = a x on a fixed axis: update draws the line for a and returns its y."""
    fig = Figure(figsize=(2, 1.5))
    ax = fig.subplots()
    ax.set(xlim=(0, 1), ylim=(-2, 2))
    line, = ax.plot([0, 1], [0, 0])
    xs = np.array([0.0, 1.0])

    def update(a: float, colour: str) -> dict:
        line.set_ydata(a * xs)
        line.set_color(colour)
        return {"y": a * xs}

    return views.View(fig, update, {"a": [-1.0, 0.0, 2.0], "colour": ["red", "blue"]}, {"a": 2.0})


def test_view_starts_at_initial_and_checks_settings():
    view = line_view()
    assert view.values == {"a": 2.0, "colour": "red"} and list(view.drawn["y"]) == [0.0, 2.0]
    assert list(view.set(a=-1.0)["y"]) == [0.0, -1.0] and view.values["colour"] == "red"
    with pytest.raises(ValueError, match="unknown control"):
        view.set(b=1.0)
    with pytest.raises(ValueError, match="not one of its options"):
        view.set(a=0.5)
    with pytest.raises(ValueError, match="non-empty lists"):
        views.View(Figure(), lambda: {}, {"a": []})


def test_png_and_rgba_are_the_figure_at_the_views_dpi():
    view = line_view()
    rgba = view.rgba()
    assert rgba.shape == (1.5 * views.DPI, 2 * views.DPI, 4) and rgba.dtype == np.uint8
    decoded = np.asarray(PIL.Image.open(io.BytesIO(view.png())))
    assert np.array_equal(decoded, rgba)
    red = view.rgba()
    view.set(colour="blue")
    assert not np.array_equal(red, view.rgba())  # the redraw changed the pixels


def test_response_ms_reduces_over_changes_and_restores_the_setting():
    view = line_view()
    view.set(a=0.0, colour="blue")
    assert view.response_ms(changes=4, reduce=len) == 4  # one time per change, then reduced
    assert view.response_ms(changes=4, reduce=min) > 0
    ticks = iter(range(100))  # a clock that advances 1 s a reading: each change reads 1000 ms
    assert view.response_ms(changes=3, reduce=max, clock=lambda: next(ticks)) == 1000
    assert view.values == {"a": 0.0, "colour": "blue"}


def test_sweep_tiles_frames_and_restores_the_setting():
    view = line_view()
    frame = view.rgba()
    mosaic = views.sweep(view, ncols=2, a=[-1.0, 0.0, 2.0], colour=["red", "blue", "red"])
    h, w = frame.shape[:2]
    assert mosaic.shape == (2 * h, 2 * w, 4)
    assert (mosaic[h:, w:] == 255).all()  # the unused cell is blank
    assert not np.array_equal(mosaic[:h, :w], mosaic[:h, w:])
    assert view.values == {"a": 2.0, "colour": "red"}
    with pytest.raises(ValueError, match="one length"):
        views.sweep(view, a=[0.0], colour=["red", "blue"])
    with pytest.raises(ValueError, match="ncols"):
        views.sweep(view, ncols=0, a=[0.0])
    ax = views.plot_sweep(view, a=[-1.0, 2.0])
    assert ax.images[0].get_array().shape[:2] == (2 * h, w)


def test_show_redraws_when_a_control_changes():
    widgets = pytest.importorskip("ipywidgets", reason="the live explorer needs ipywidgets (requirements.txt)")
    view = line_view()
    box = views.show(view)
    controls, image, status = box.children[0].children, box.children[1], box.children[2]
    assert [type(c) for c in controls] == [widgets.SelectionSlider, widgets.Dropdown]
    before = image.value
    controls[0].value = -1.0
    assert view.values["a"] == -1.0 and image.value != before and status.value.startswith("redrawn in")


def test_show_keeps_the_image_at_its_natural_size_sharp_and_unstretched():
    """The figure shows at View.size CSS pixels from a PNG of SHARP times the pixels, aligned to the
    start of the box: a flex box's default (align-items: stretch) widens it to the output area."""
    pytest.importorskip("ipywidgets", reason="the live explorer needs ipywidgets (requirements.txt)")
    view = line_view()
    assert view.size == (2 * views.DPI, 1.5 * views.DPI)
    box = views.show(view)
    row, image = box.children[0], box.children[1]
    layout = image.layout
    assert layout.align_self == "flex-start" and layout.width == f"{view.size[0]}px"
    assert layout.height == "auto" and layout.max_width == "100%"  # narrower outputs: scaled, same aspect
    assert PIL.Image.open(io.BytesIO(image.value)).size == tuple(views.SHARP * n for n in view.size)
    assert row.layout.flex_flow == "row wrap"  # controls wrap, never widen the output
    row.children[0].value = -1.0
    assert PIL.Image.open(io.BytesIO(image.value)).size == tuple(views.SHARP * n for n in view.size)
    assert view.rgba().shape[:2] == view.size[::-1]  # the static sweep stays at DPI
    with pytest.raises(ValueError, match="scale"):
        view.rgba(0)


def test_show_leaves_out_controls_with_one_option():
    pytest.importorskip("ipywidgets", reason="the live explorer needs ipywidgets (requirements.txt)")
    fig = Figure()
    view = views.View(fig, lambda a, fixed: {}, {"a": [1.0, 2.0], "fixed": ["only"]})
    assert len(views.show(view).children[0].children) == 1


def test_apply_runs_without_gradients_in_eval_mode_and_restores_the_mode():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.9))
    x = torch.ones(2, 3)
    out = views.apply(model, x)
    assert not out.requires_grad and model.training
    torch.testing.assert_close(out, model[0](x).detach())  # dropout off in eval mode
    torch.testing.assert_close(views.apply(lambda t: 2 * t, x), 2 * x)
