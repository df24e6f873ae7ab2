"""Live figures for the explorers: the `View` type, its widget, and its static fallback.

A `View` is a small matplotlib figure, the values each control offers, and a pure
``update(**values)`` that redraws the figure in place and returns the arrays it drew. The same
update drives the sliders (`show`, which imports ipywidgets only when called, so ``import aebook``
works without it), the static fallback (`plot_sweep`, the rendered figure at a few settings side by
side) and the tests. `aebook.explore` builds the book's explorers on it.

The figures are `matplotlib.figure.Figure` objects, not pyplot ones, so a notebook does not also
show them inline; `show` renders them to PNG for an ``ipywidgets.Image``, which works the same in
Jupyter, Colab and VS Code without an interactive matplotlib backend. The widget shows the figure
at its natural size (one CSS pixel per pixel at ``DPI``), never stretched to the output's width,
from a PNG of ``SHARP`` times as many pixels, so it stays sharp on high-density screens.
`aebook.webexport` exports a view to run in the reader's browser, without a kernel.
"""
from __future__ import annotations

import io
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor, nn

from .models import eval_mode

DPI = 80  # of the rendered views: small PNGs redraw fast
SHARP = 2  # PNG pixels per CSS pixel in the widget: sharp where a CSS pixel is two screen pixels
Fn = Callable[[Tensor], Tensor]


@dataclass
class View:
    """A figure, the options of each control (name -> list of values, in order), and
    ``update(**values)``, which redraws ``fig`` for one value of every control and returns what it
    drew. ``values`` holds the current setting; the first option of each control to begin with,
    unless ``initial`` says otherwise. ``source`` records what the view was built from (its kind,
    models, arrays and the artists ``update`` changes), for `aebook.webexport`."""

    fig: Figure
    update: Callable[..., dict[str, Any]]
    controls: dict[str, list]
    initial: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.controls or any(not isinstance(v, list) or not v for v in self.controls.values()):
            raise ValueError(f"controls must map names to non-empty lists, got {self.controls!r}")
        FigureCanvasAgg(self.fig)  # render without pyplot
        self.fig.set_dpi(DPI)
        self.values = {name: options[0] for name, options in self.controls.items()}
        self.drawn = self.set(**self.initial)

    def set(self, **values: Any) -> dict[str, Any]:
        """Change some controls, redraw, and return what ``update`` drew."""
        for name, value in values.items():
            if name not in self.controls:
                raise ValueError(f"unknown control {name!r}; the controls are {list(self.controls)}")
            if value not in self.controls[name]:
                raise ValueError(f"{name}={value!r} is not one of its options {self.controls[name]}")
        self.values.update(values)
        self.drawn = self.update(**self.values)
        return self.drawn

    def png(self, scale: float = 1) -> bytes:
        """The figure as PNG bytes, ``scale`` times `size` in pixels. Drawn on the canvas and
        encoded with light compression: about twice as fast as ``savefig``, which lays the figure
        out again for its own dpi."""
        buffer = io.BytesIO()
        PIL.Image.fromarray(self.rgba(scale)).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def rgba(self, scale: float = 1) -> np.ndarray:
        """The figure as an (H, W, 4) uint8 array, ``scale`` times `size` in pixels."""
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0 < scale <= 8:
            raise ValueError(f"scale must be a number in (0, 8], got {scale!r}")
        self.fig.set_dpi(DPI * scale)
        try:
            self.fig.canvas.draw()
            return np.asarray(self.fig.canvas.buffer_rgba()).copy()
        finally:
            self.fig.set_dpi(DPI)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the figure in CSS pixels, at ``DPI``: the size `show` displays."""
        w, h = self.fig.get_size_inches() * DPI
        return round(w), round(h)

    def response_ms(self, changes: int = 6, reduce: Callable[[list[float]], float] = statistics.median,
                    clock: Callable[[], float] = time.perf_counter) -> float:
        """Wall time of one change in ms (or ``clock``'s: ``time.process_time`` counts this process's
        CPU alone), ``reduce``d over ``changes`` changes (the median by default): a new value of one
        control, the redraw and the PNG the widget shows (at ``SHARP`` times the size). Steps
        through the controls in turn; restores the setting."""
        saved, times = dict(self.values), []
        names = list(self.controls)
        for i in range(changes):
            name = names[i % len(names)]
            options = self.controls[name]
            value = options[(options.index(self.values[name]) + 1) % len(options)]
            t0 = clock()
            self.set(**{name: value})
            self.png(SHARP)
            times.append(1000 * (clock() - t0))
        self.set(**saved)
        return reduce(times)


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def show(view: View) -> Any:
    """The live explorer: a widget per control with a choice, the figure, and the time of the last
    redraw. Numbers get a slider over their options, anything else a dropdown. Needs ipywidgets.

    The figure shows at its natural size (`View.size` in CSS pixels, or narrower to fit the output,
    keeping its aspect), left-aligned: a flex box would otherwise stretch it to the output's width
    and blur it. Its PNG has ``SHARP`` times the pixels. The controls wrap onto more rows when the
    output is narrow."""
    import ipywidgets as widgets  # lazily: import aebook works without it

    width, _ = view.size
    image = widgets.Image(value=view.png(SHARP), format="png", layout=widgets.Layout(
        width=f"{width}px", height="auto", max_width="100%", align_self="flex-start"))
    status = widgets.Label()
    controls = {}
    for name, options in view.controls.items():
        if len(options) == 1:
            continue  # nothing to choose
        pairs = [(_label(v), v) for v in options]
        kind = widgets.SelectionSlider if all(isinstance(v, (int, float)) for v in options) else widgets.Dropdown
        controls[name] = kind(options=pairs, value=view.values[name], description=name)

    def redraw(_change: Any = None) -> None:
        t0 = time.perf_counter()
        view.set(**{name: c.value for name, c in controls.items()})
        image.value = view.png(SHARP)
        status.value = f"redrawn in {1000 * (time.perf_counter() - t0):.0f} ms"

    for c in controls.values():
        c.observe(redraw, names="value")
    row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    return widgets.VBox([row, image, status])


def sweep(view: View, ncols: int = 1, **values: Sequence) -> np.ndarray:
    """The view rendered at several settings, tiled row by row into one (H, W, 4) image. Each
    keyword lists one control's values, all lists of one length; frame i takes the i-th of each."""
    lengths = {len(v) for v in values.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"give each swept control a non-empty list, all of one length, got {values!r}")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    saved, frames = dict(view.values), []
    for i in range(lengths.pop()):
        view.set(**{name: v[i] for name, v in values.items()})
        frames.append(view.rgba())
    view.set(**saved)
    blank = np.full_like(frames[0], 255)
    frames += [blank] * (-len(frames) % ncols)
    rows = [np.concatenate(frames[i:i + ncols], axis=1) for i in range(0, len(frames), ncols)]
    return np.concatenate(rows, axis=0)


def plot_sweep(view: View, ncols: int = 1, **values: Sequence) -> Axes:
    """The static fallback of an explorer: `sweep` drawn as one pyplot figure at the views' scale."""
    mosaic = sweep(view, ncols, **values)
    fig = plt.figure(figsize=(mosaic.shape[1] / DPI, mosaic.shape[0] / DPI), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(mosaic)
    ax.set_axis_off()
    return ax


def apply(fn: Fn, x: Tensor) -> Tensor:
    """fn(x) without gradients, on the device of fn's module (fn a model or its bound method), in
    eval mode; the result on the CPU."""
    module = fn if isinstance(fn, nn.Module) else getattr(fn, "__self__", None)
    if not isinstance(module, nn.Module):
        with torch.no_grad():
            return fn(x).cpu()
    with torch.no_grad(), eval_mode(module):
        return fn(x.to(next(module.parameters()).device)).cpu()
