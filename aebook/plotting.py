"""Figures used across the book. Each takes ``ax=None`` (a new figure when None), draws only what
it is given, and returns the axes it drew on."""
from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor

from .data import IMAGE_SHAPE
from .training import History


def _to_numpy(x: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().cpu().float().numpy()
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"expected a tensor or an array, got {type(x).__name__}")


def _check_images(x: Tensor | np.ndarray) -> None:
    """Floating pixels in [0, 1] are the book's images: integers (0..255) would show saturated."""
    if isinstance(x, Tensor) and not x.is_floating_point() or isinstance(x, np.ndarray) and x.dtype.kind != "f":
        raise TypeError(f"images must hold floating-point pixels (pixel / 255), got {x.dtype}")


def tile_images(images: Tensor | np.ndarray, ncols: int, shape: tuple[int, int] = IMAGE_SHAPE,
                pad: int = 1) -> np.ndarray:
    """Arrange (N, H*W) rows, N >= 1, as one (rows*(H+pad)-pad, ncols*(W+pad)-pad) mosaic; gaps
    are NaN, so images must be finite and floating. Returns CPU numpy (tensors on any device are
    copied)."""
    _check_images(images)
    x = _to_numpy(images)
    h, w = shape
    if x.ndim != 2 or x.shape[1] != h * w or len(x) == 0:
        raise ValueError(f"expected images of shape (N, {h * w}) with N >= 1, got {x.shape}")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    if not np.isfinite(x).all():  # NaN marks the gaps between tiles
        raise ValueError("images hold NaN or infinite values")
    nrows = math.ceil(len(x) / ncols)
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), np.nan)
    for i, img in enumerate(x.reshape(-1, h, w)):
        r, c = divmod(i, ncols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = img
    return out


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def image_grid(images: Tensor | np.ndarray, ncols: int = 10, ax: Axes | None = None, title: str | None = None,
               shape: tuple[int, int] = IMAGE_SHAPE, cmap: str = "gray", symmetric: bool = False) -> Axes:
    """Show (N, H*W) images in a grid. ``symmetric`` centres a diverging colour map on 0 (for filters)."""
    mosaic = tile_images(images, ncols, shape)
    nrows = mosaic.shape[0] / (shape[0] + 1)
    ax = _axes(ax, (ncols * 0.8, max(nrows, 1) * 0.8))
    if symmetric:
        lim = np.nanmax(np.abs(mosaic))
        ax.imshow(mosaic, cmap="RdBu_r", vmin=-lim, vmax=lim)
    else:
        ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_reconstructions(x: Tensor, rows: dict[str, Tensor], n: int = 10, ax: Axes | None = None) -> Axes:
    """Originals on the top row and one row per model's reconstructions of the same n images.

    ``rows`` maps a label (e.g. "PCA, k=32") to reconstructions of ``x``, each (N, 784)."""
    if not isinstance(rows, dict) or not all(isinstance(v, Tensor) for v in [x, *rows.values()]):
        raise TypeError("x must be a tensor and rows a dict of tensors")
    if not rows:
        raise ValueError("rows must name at least one set of reconstructions")
    for label, r in rows.items():
        if r.shape != x.shape:
            raise ValueError(f"reconstructions {label!r} have shape {tuple(r.shape)}, x has {tuple(x.shape)}")
    stack = torch.cat([x[:n].detach().cpu()] + [r[:n].detach().cpu().clamp(0, 1) for r in rows.values()])
    ax = _axes(ax, (n * 0.8, (len(rows) + 1) * 0.85))
    image_grid(stack, ncols=n, ax=ax)
    labels = ["original", *rows]
    ax.set_axis_on()
    ax.set_xticks([])
    ax.set_yticks([(i + 0.5) * (IMAGE_SHAPE[0] + 1) for i in range(len(labels))], labels)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def plot_history(histories: dict[str, History] | History, ax: Axes | None = None, log: bool = True,
                 ylabel: str = "loss per example") -> Axes:
    """Train (dashed) and test (solid) loss per epoch for one or several named runs."""
    if isinstance(histories, History):
        histories = {"": histories}
    if not isinstance(histories, dict) or not all(isinstance(h, History) for h in histories.values()):
        raise TypeError("expected a History or a dict of them")
    ax = _axes(ax, (5, 3.2))
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        epochs = np.arange(1, len(h.train) + 1)
        ax.plot(epochs, h.train, "--", color=color, label=f"{name} train".strip())
        if h.test:
            ax.plot(epochs, h.test, "-", color=color, label=f"{name} test".strip())
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_codes(h: Tensor | np.ndarray, labels: Tensor | np.ndarray, ax: Axes | None = None,
               classes: Sequence[str] | None = None, s: float = 2.0) -> Axes:
    """Scatter finite 2-D codes (N, 2) coloured by integer label, with a legend of class names.

    ``labels`` (N,) must be integers: with ``classes`` in 0..len(classes) - 1; without, any int,
    negative ones (e.g. -1 for "unlabelled") drawn in grey."""
    h = _to_numpy(h)
    labels = labels.detach().cpu().numpy() if isinstance(labels, Tensor) else labels
    if h.ndim != 2 or h.shape[1] != 2:
        raise ValueError(f"expected 2-D codes of shape (N, 2), got {h.shape}")
    if not np.isfinite(h).all():
        raise ValueError("h holds NaN or infinite values, which would not be drawn")
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise TypeError(f"labels must be a 1-D integer array or tensor (class indices), got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)}")
    if len(labels) != len(h):
        raise ValueError(f"{len(h)} codes but {len(labels)} labels")
    if classes is not None and len(labels) and not 0 <= labels.min() <= labels.max() < len(classes):
        raise ValueError(f"labels must lie in 0..{len(classes) - 1} to name one of the {len(classes)} classes, "
                         f"got {labels.min()}..{labels.max()}")
    ax = _axes(ax, (5, 5))
    for c in np.unique(labels):
        m = labels == c
        name = classes[int(c)] if classes is not None else str(int(c))
        color = plt.cm.tab10(int(c) % 10) if c >= 0 else "0.6"
        ax.scatter(h[m, 0], h[m, 1], s=s, color=color, label=name, rasterized=True)
    ax.legend(markerscale=4, frameon=False, fontsize="small", loc="center left",
              bbox_to_anchor=(1, 0.5))
    ax.set_xlabel("$h_1$")
    ax.set_ylabel("$h_2$")
    return ax
