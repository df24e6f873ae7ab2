"""The book's interactive explorers (DLB §14.1-14.7), each a `View` (aebook.views), with
`show` for the live widget and `plot_sweep` for the static fallback the site shows.

Nothing is trained on a slider move: a knob that changes a penalty or a noise level picks a model
the chapter trained once, and everything a view shows is computed when it is built or in one small
forward pass.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor, nn

from .models import eval_mode
from .plotting import tile_images
from .views import DPI, SHARP, Fn, View, apply, plot_sweep, show, sweep

__all__ = ["View", "show", "sweep", "plot_sweep", "latent_view", "interpolation_view", "noise_view",
           "penalty_view", "point_view"]


def _check_images(x: Tensor, name: str = "x") -> None:
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != 784:
        raise ValueError(f"{name} must be a (n, 784) tensor of images, got {getattr(x, 'shape', type(x).__name__)}")


def _image_axes(ax: Axes, mosaic: np.ndarray) -> Any:
    ax.set_axis_off()
    return ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)


def _scatter_image(x: Tensor, y: Tensor, colours: np.ndarray | None, xlim: tuple[float, float],
                   ylim: tuple[float, float], size_px: tuple[float, float]) -> np.ndarray:
    """A scatter plot of (x, y) over xlim x ylim rendered once, as an (H, W, 4) image of size_px
    at SHARP times its pixels (sharp in the widget's PNG; smoothed down in the static sweep)."""
    fig = Figure(figsize=(size_px[0] / DPI, size_px[1] / DPI), dpi=DPI * SHARP)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set(xlim=xlim, ylim=ylim)
    ax.scatter(x.numpy(), y.numpy(), s=1 / SHARP, c=colours)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def latent_view(decode: Fn, codes: Tensor, labels: Tensor | None = None, dims: tuple[int, int] = (0, 1),
                base: Tensor | None = None, steps: int = 21) -> View:
    """Sliders over two code dimensions decode to an image (DLB §14, §14.4). ``codes`` (N, k) are
    the test set's codes, drawn as the map and used for the sliders' range (2nd to 98th
    percentile); the other k - 2 dimensions stay at ``base`` (default: the codes' median)."""
    if not isinstance(codes, Tensor) or codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(f"codes must be an (N, k) tensor with k >= 2, got {getattr(codes, 'shape', codes)}")
    d1, d2 = dims
    if not (0 <= d1 < codes.shape[1] and 0 <= d2 < codes.shape[1] and d1 != d2):
        raise ValueError(f"dims must be two different code dimensions below {codes.shape[1]}, got {dims}")
    codes = codes.detach().cpu().float()
    base = codes.median(0).values if base is None else base.detach().cpu().float().clone()
    q = torch.tensor([0.02, 0.98], device=codes.device)
    lo, hi = torch.quantile(codes[:, [d1, d2]], q, dim=0)  # (2,), (2,)
    grids = [np.round(np.linspace(float(lo[j]), float(hi[j]), steps), 2).tolist() for j in range(2)]
    names = (f"h{d1 + 1}", f"h{d2 + 1}")

    fig = Figure(figsize=(6.4, 3.0))
    ax_map, ax_img = fig.subplots(1, 2)
    xlim, ylim = (grids[0][0], grids[0][-1]), (grids[1][0], grids[1][-1])
    ax_map.set(xlabel=f"${names[0][0]}_{{{d1 + 1}}}$", ylabel=f"${names[1][0]}_{{{d2 + 1}}}$", xlim=xlim, ylim=ylim)
    ax_map.set_title("codes of test digits", fontsize="small")
    marker = ax_map.scatter([0], [0], s=120, marker="+", color="k", linewidths=2, zorder=3)
    image = _image_axes(ax_img, np.zeros((28, 28)))
    fig.tight_layout()
    colours = None if labels is None else plt.cm.tab10(labels.cpu().numpy() % 10)
    box = ax_map.get_position()  # the map's scatter, drawn once as an image: a cheap redraw
    size = (box.width * fig.get_figwidth() * DPI, box.height * fig.get_figheight() * DPI)
    ax_map.imshow(_scatter_image(codes[:, d1], codes[:, d2], colours, xlim, ylim, size),
                  extent=(*xlim, *ylim), aspect="auto", zorder=1)

    def update(**v: float) -> dict[str, Any]:
        h = base.clone()
        h[d1], h[d2] = v[names[0]], v[names[1]]
        x = apply(decode, h[None])[0]  # (784,)
        marker.set_offsets([[h[d1], h[d2]]])
        image.set_data(x.reshape(28, 28).numpy())
        ax_img.set_title(f"decoded: g(h), h = ({float(h[d1]):.2f}, {float(h[d2]):.2f})", fontsize="small")
        return {"h": h, "image": x}

    mid = steps // 2
    source = {"kind": "latent", "decode": decode, "base": base, "dims": (d1, d2),
              "panels": {"map": ax_map, "image": ax_img}, "hide": [marker, image],
              "texts": {"title": ax_img.title}}
    return View(fig, update, {names[0]: grids[0], names[1]: grids[1]},
                {names[0]: grids[0][mid], names[1]: grids[1][mid]}, source)


def interpolation_view(encode: Fn, decode: Fn, x_a: Tensor, x_b: Tensor, steps: int = 11,
                       n_samples: int = 6, seeds: int = 10) -> View:
    """A VAE's code space (DLB §14.4): t moves the code on the line from f(x_a) to f(x_b) and
    decodes it; seed draws ``n_samples`` codes from the prior N(0, I) and decodes them."""
    for name, x in (("x_a", x_a), ("x_b", x_b)):
        if not isinstance(x, Tensor) or x.shape != (784,):
            raise ValueError(f"{name} must be one image, a (784,) tensor, got {getattr(x, 'shape', x)}")
    h_a, h_b = apply(encode, torch.stack([x_a, x_b])).unbind(0)  # (k,), (k,)
    fig = Figure(figsize=(6.4, 2.6))
    ax_line, ax_prior = fig.subplots(2, 1, height_ratios=[1, 1])
    line = _image_axes(ax_line, tile_images(np.zeros((3, 784)), 3))
    prior = _image_axes(ax_prior, tile_images(np.zeros((n_samples, 784)), n_samples))
    ax_prior.set_title("decoded draws from the prior, h ~ N(0, I)", fontsize="small")

    def update(t: float, seed: int) -> dict[str, Any]:
        x_t = apply(decode, ((1 - t) * h_a + t * h_b)[None])[0]
        g = torch.Generator().manual_seed(seed)  # cpu: apply moves h to the decoder's device
        h = torch.randn(n_samples, h_a.numel(), generator=g)  # cpu: from g, as above
        samples = apply(decode, h)
        line.set_data(tile_images(torch.stack([x_a.cpu(), x_t, x_b.cpu()]), 3))
        prior.set_data(tile_images(samples, n_samples))
        ax_line.set_title(f"x_a, g((1 − t) f(x_a) + t f(x_b)) at t = {t:g}, x_b", fontsize="small")
        return {"interpolated": x_t, "samples": samples}

    source = {"kind": "interpolation", "decode": decode, "x": (x_a, x_b), "h": (h_a, h_b),
              "n_samples": n_samples, "panels": {"line": ax_line, "prior": ax_prior},
              "hide": [line, prior], "texts": {"title": ax_line.title}}
    return View(fig, update, {"t": np.round(np.linspace(0, 1, steps), 3).tolist(), "seed": list(range(seeds))},
                source=source)


def noise_view(daes: Mapping[str, tuple[Fn, Callable[..., Tensor]]], x: Tensor, plain: Fn | None = None,
               output: Fn = torch.sigmoid, levels: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
               seed: int = 0) -> View:
    """Denoising (DLB §14.2.2): a corruption and its level give the noisy input, the reconstruction
    of the DAE trained on that corruption (and of ``plain``, an autoencoder trained on clean data),
    and each one's squared error to the clean x, summed over pixels and averaged over the images.
    ``daes`` maps a name to (model, corrupt), corrupt(x, level, generator=...) as in
    `aebook.corruption`; ``output`` maps the models' outputs to pixels (sigmoid for logits)."""
    _check_images(x)
    if not daes:
        raise ValueError("daes must name at least one (model, corrupt) pair")
    x = x.detach().cpu()
    rows = ["corrupted", "DAE"] + (["plain AE"] if plain is not None else [])
    fig = Figure(figsize=(0.55 * len(x) + 0.9, 0.62 * len(rows) + 0.7))
    axes = fig.subplots(len(rows), 1)
    images = {}
    for ax, row in zip(axes, rows):
        images[row] = _image_axes(ax, tile_images(x, len(x)))
        ax.text(-0.01, 0.5, row, transform=ax.transAxes, ha="right", va="center", fontsize="small")
    fig.subplots_adjust(left=0.15, right=0.99, top=0.78, bottom=0.02, hspace=0.08)
    title = fig.suptitle("", fontsize="small")

    def update(corruption: str, level: float) -> dict[str, Any]:
        model, corrupt = daes[corruption]
        g = torch.Generator().manual_seed(seed)  # cpu: x is a CPU copy here
        x_tilde = corrupt(x, level, generator=g) if level > 0 else x
        out = {"corrupted": x_tilde, "DAE": output(apply(model, x_tilde))}
        if plain is not None:
            out["plain AE"] = output(apply(plain, x_tilde))
        errors = {k: float(((r - x) ** 2).sum(1).mean()) for k, r in out.items()}
        for row, r in out.items():
            images[row].set_data(tile_images(r, len(x)))
        title.set_text(f"{corruption}, level {level:g}\nerror to the clean digits: "
                       + " · ".join(f"{k} {e:.1f}" for k, e in errors.items()))
        return {**out, "errors": errors}

    source = {"kind": "noise", "daes": daes, "plain": plain, "output": output, "x": x, "rows": rows,
              "panels": dict(zip(rows, axes)), "hide": list(images.values()), "texts": {"title": title}}
    return View(fig, update, {"corruption": list(daes), "level": [float(v) for v in levels]},
                {"level": float(levels[len(levels) // 2])}, source)


def penalty_view(models: Mapping[float, nn.Module], x: Tensor, filters: Callable[[nn.Module], Tensor],
                 output: Fn = lambda r: r, spectrum: bool = False, n_filters: int = 16,
                 threshold: float = 1e-3) -> View:
    """A regularised autoencoder's penalty weight (DLB §14.2.1, §14.7): lam picks one of ``models``
    (trained once each), digit one of the images x (n, 784). Shows the input and its reconstruction
    with the squared error, the code h = f(x) with the fraction of units below ``threshold``, the
    ``filters(model)`` (k, 784) of up to ``n_filters`` most active units (those above ``threshold``), and with ``spectrum`` the singular values
    of the encoder's Jacobian at x, which a contractive penalty pushes down."""
    from .jacobian import jacobian_singular_values  # a topic module: imported where it is used

    _check_images(x)
    if not models:
        raise ValueError("models must map at least one lam to a trained model")
    x, lams = x.detach().cpu(), sorted(models)
    table = {}  # everything the view can show, computed once: lam -> name -> tensor
    for lam in lams:
        m = models[lam]
        h = apply(m.encode, x)  # (n, k)
        r = output(apply(m, x))  # (n, 784)
        entry = {"h": h, "r": r, "error": ((r - x) ** 2).sum(1), "filters": filters(m).detach().cpu()}
        if spectrum:
            device = next(m.parameters()).device
            with eval_mode(m):
                entry["spectrum"] = jacobian_singular_values(m.encoder, x.to(device)).cpu()  # (n, k)
        table[lam] = entry
    h_max = max(float(e["h"].abs().max()) for e in table.values())
    k = table[lams[0]]["h"].shape[1]

    panels = 3 + spectrum
    fig = Figure(figsize=(2.3 * panels, 2.4))
    axes = fig.subplots(1, panels, width_ratios=[1, 1.6, 1] + [1.2] * spectrum)
    pair = _image_axes(axes[0], tile_images(x[:2], 2))
    code, = axes[1].plot(np.arange(k), np.zeros(k), lw=0.8)
    axes[1].set(ylim=(-0.05 * h_max, 1.05 * h_max), xlabel="code unit", xlim=(0, k - 1))
    tiles = axes[2].imshow(np.zeros((2, 2)), cmap="RdBu_r")
    axes[2].set_axis_off()
    if spectrum:
        s_max = max(float(e["spectrum"].max()) for e in table.values())
        line, = axes[3].plot(np.arange(1, min(k, 784) + 1), np.zeros(min(k, 784)), ".-", ms=2, lw=0.8)
        axes[3].set(xscale="log", ylim=(0, 1.05 * s_max), xlabel="index", title="singular values of ∂f/∂x")
        axes[3].title.set_fontsize("small")
    fig.subplots_adjust(left=0.03, right=0.98, top=0.78, bottom=0.2, wspace=0.35)

    def update(lam: float, digit: int) -> dict[str, Any]:
        e = table[lam]
        h, r = e["h"][digit], e["r"][digit]
        pair.set_data(tile_images(torch.stack([x[digit], r]), 2))
        axes[0].set_title(f"x and r, error {float(e['error'][digit]):.1f}", fontsize="small")
        code.set_ydata(h.numpy())
        axes[1].set_title(f"code h: {float((h.abs() < threshold).float().mean()):.0%} of {k} units ≈ 0",
                          fontsize="small")
        top = h.argsort(descending=True)[:n_filters]
        top = top[h[top].abs() >= threshold]  # active units only
        mosaic = tile_images(e["filters"][top], int(np.ceil(np.sqrt(n_filters)))) if len(top) else np.full((28, 28), np.nan)
        lim = float(np.nanmax(np.abs(mosaic))) if len(top) else 1.0
        tiles.set_data(mosaic)
        tiles.set_clim(-lim, lim)
        tiles.set_extent((0, mosaic.shape[1], mosaic.shape[0], 0))
        axes[2].set_title(f"filters of the {len(top)} most active units", fontsize="small")
        if spectrum:
            line.set_ydata(e["spectrum"][digit].numpy())
        fig.suptitle(f"λ = {lam:g}", fontsize="medium")
        return {"h": h, "r": r, "filters": e["filters"][top], **({"spectrum": e["spectrum"][digit]} if spectrum else {})}

    return View(fig, update, {"lam": [float(v) for v in lams], "digit": list(range(len(x)))})


def point_view(settings: Mapping[str, Mapping[str, Callable[[Tensor], Tensor]]], background: Callable[[Axes], Any],
               lim: tuple[float, float], steps: int = 29, scale: float = 1.0,
               start: tuple[float, float] | None = None, zero: float = 1e-4) -> View:
    """Vector fields at one point of the plane (DLB §14.5, §14.6): x1 and x2 move the point, and
    each field, a function (M, 2) -> (M, 2), draws its vector there as an arrow ``scale`` times its
    length. ``settings`` maps a setting's name (e.g. a noise level) to its fields, with the same
    field names in every setting; the title gives the cosine between the first two fields,
    "undefined" where either is shorter than ``zero``. ``background(ax)`` draws what the fields
    live on (a density, data points, a curve). The point starts at the slider values nearest to
    ``start`` (default: the centre), which should be a point where the fields are not zero."""
    names = [list(f) for f in settings.values()]
    if not settings or any(n != names[0] for n in names) or not names[0]:
        raise ValueError(f"every setting must name the same non-empty fields, got {names}")
    ticks = np.round(np.linspace(lim[0], lim[1], steps), 3).tolist()
    nearest = lambda c: min(ticks, key=lambda t: abs(t - c))  # noqa: E731
    x0 = (ticks[steps // 2],) * 2 if start is None else tuple(map(nearest, start))
    fig = Figure(figsize=(4.2, 4.4))
    ax = fig.subplots()
    background(ax)
    ax.set(xlim=lim, ylim=lim, aspect="equal")
    n = len(names[0])  # the first field on top, thinnest and opaque: none hides another
    arrows = [ax.quiver([0], [0], [0], [0], color=f"C{i}", angles="xy", scale_units="xy", scale=1,
                        width=0.008 + 0.006 * i, alpha=1.0 if i == 0 else 0.6, label=name, zorder=3 + n - i)
              for i, name in enumerate(names[0])]
    point, = ax.plot([0], [0], "ko", ms=4, zorder=4 + n)
    ax.legend(loc="lower left", fontsize="x-small", framealpha=0.9)
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.1)

    def update(setting: str, x1: float, x2: float) -> dict[str, Any]:
        p = torch.tensor([[x1, x2]], dtype=torch.float32)  # cpu: apply moves it to each fn's model
        vectors = {name: apply(fn, p)[0] for name, fn in settings[setting].items()}  # name -> (2,)
        for arrow, v in zip(arrows, vectors.values()):
            arrow.set_offsets([[x1, x2]])
            arrow.set_UVC(scale * float(v[0]), scale * float(v[1]))
        point.set_data([x1], [x2])
        title = f"{setting}, x = ({x1:.2f}, {x2:.2f})"
        if len(vectors) > 1:
            u, v = list(vectors.values())[:2]
            defined = min(float(u.norm()), float(v.norm())) >= zero
            cosine = float(torch.cosine_similarity(u, v, dim=0)) if defined else None
            title += ": cosine " + ("undefined" if cosine is None else f"{cosine:.2f}")
        ax.set_title(title, fontsize="small")
        return vectors

    source = {"kind": "point", "settings": settings, "scale": scale, "zero": zero, "lim": lim,
              "arrows": arrows, "panels": {"plane": ax}, "hide": [*arrows, point],
              "texts": {"title": ax.title}}
    return View(fig, update, {"setting": list(settings), "x1": ticks, "x2": ticks},
                {"x1": x0[0], "x2": x0[1]}, source)
