"""The book's explorers in the reader's browser, without a kernel (the views of aebook.explore).

``live(view)`` exports a view of `aebook.explore` (latent, interpolation, noise or point) and
returns a display object. Its HTML is a ``<div class="aebook-explorer">`` holding the exported data
as JSON; ``_static/aebook-explorer.js``, which the book loads on every page, turns it into the same
view: the same controls and panels, drawn over a backdrop that is the Python figure itself, with
its networks run by a short forward pass in the page (`aebook.webformat` is its numpy twin). The
data sit in the cell's output, so a chapter served from the execution cache gives the same page.
Outside the book's site (Jupyter, Colab) the div shows one line of text and nothing else.

The output's metadata (under ``CHECK_KEY``), which no frontend shows, hold the Python view's
own outputs at a few settings: the browser check (tests/browser) feeds the same settings to the
page and compares. Everything comes from the view's ``source`` (see `aebook.views.View`), so the
page cannot drift from the Python view; a point view's fields are Python functions, so they are
given again as `Residual`, `MixtureScore` and `Nearest`, which are checked against the view.
"""
from __future__ import annotations

import base64
import gzip
import html
import io
import json
from typing import Any, Mapping

import numpy as np
import PIL.Image
import torch
from torch import Tensor, nn

from .models import Autoencoder
from .toy import GaussianMixture2D
from .views import DPI, SHARP, View, apply
from .webformat import CORRUPTIONS, Mulberry32, corrupt, export_net, mlp_layers, pack, run_net, unpack

FORMAT = 1  # of the exported data; the page's script refuses other formats
CHECK_KEY = "aebook-explorer-check"  # in the output's metadata: myst-nb warns of unknown MIME types
NOTE = ("A live version of this explorer runs in the browser on the book's web pages, without a "
        "kernel (it needs JavaScript).")


def _net(fn: Any) -> list[nn.Module]:
    """The layers of a decoder or model given as the view got it: a module (its forward), or a
    bound ``decode``, ``decode_mean`` (VAE: sigmoid of the logits) or ``forward`` of one."""
    module, name = (fn, "forward") if isinstance(fn, nn.Module) else (getattr(fn, "__self__", None), fn.__name__)
    if isinstance(module, Autoencoder):
        parts = {"forward": [module.encoder, module.decoder], "decode": [module.decoder],
                 "decode_mean": [module.decoder, nn.Sigmoid()]}.get(name)
        if parts is not None:
            return [layer for p in parts for layer in mlp_layers(p)]
    elif isinstance(module, nn.Module) and name == "forward":
        return mlp_layers(module)
    raise TypeError(f"cannot export {fn!r}: give a model or the bound decode/decode_mean of an Autoencoder")


def _exported(fn: Any, dtype: str, x: Tensor, output: Any = None) -> tuple[dict, float]:
    """fn's network exported in dtype (with a sigmoid after it if output is torch.sigmoid), and the
    largest difference of its page forward pass from Python's float32 fn on x: drift fails here."""
    layers = _net(fn) + ([nn.Sigmoid()] if output is torch.sigmoid else [])
    if output not in (None, torch.sigmoid):
        raise TypeError(f"the page applies sigmoid or nothing after a model, got {output!r}")
    net = export_net(layers, dtype)
    reference = apply(fn, x) if output is None else output(apply(fn, x))
    if dtype == "f32" and not np.allclose(run_net(net, x.numpy()), reference.numpy(), atol=1e-4, rtol=1e-4):
        raise ValueError(f"the exported layers of {fn!r} do not compute it")
    return net, float(np.abs(run_net(net, x.numpy()) - reference.numpy()).max())


def _arr(x: Any) -> dict:
    return pack(x, "f32")


class Residual:
    """The field scale * (model(x) - x) of a model (N, 2) -> (N, 2): r(x) - x, DLB §14.5.1."""

    def __init__(self, model: nn.Module, scale: float = 1.0) -> None:
        self.model, self.scale = model, float(scale)

    def __call__(self, x: Tensor) -> Tensor:
        return self.scale * (apply(self.model, x) - x.cpu())

    def spec(self) -> dict:
        return {"op": "residual", "scale": self.scale, "net": export_net(_net(self.model))}


class MixtureScore:
    """The exact score grad log p(x) of a `GaussianMixture2D` (DLB §14.5.1)."""

    def __init__(self, mixture: GaussianMixture2D) -> None:
        self.mixture = mixture

    def __call__(self, x: Tensor) -> Tensor:
        return self.mixture.score(x)

    def spec(self) -> dict:
        m = self.mixture
        return {"op": "mixture-score", "means": _arr(m.means), "stds": _arr(m.stds), "weights": _arr(m.weights)}


class Nearest:
    """The vector from x to the nearest of the manifold points ``points`` (M, 2) (DLB §14.6)."""

    def __init__(self, points: Tensor) -> None:
        self.points = points.detach().cpu().float()

    def __call__(self, x: Tensor) -> Tensor:
        d, i = torch.cdist(x.cpu(), self.points).min(1)
        return self.points[i] - x.cpu()

    def spec(self) -> dict:
        return {"op": "nearest", "points": _arr(self.points)}


def _backdrop(view: View) -> dict:
    """The figure without what update draws, as a PNG of SHARP times the pixels; the panels' boxes
    and limits and the texts' places, in CSS pixels from the top left."""
    src, (w, h) = view.source, view.size
    view.rgba()  # lay out: axes with a fixed aspect take their final place
    texts = {}
    for name, t in src["texts"].items():
        box = t.get_window_extent()  # display pixels at DPI, from the bottom left
        texts[name] = {"x": (box.x0 + box.x1) / 2, "top": h - box.y1, "size": t.get_fontsize() * DPI / 72,
                       "text": t.get_text()}
    hidden = list(src["hide"]) + list(src["texts"].values())
    shown = [a.get_visible() for a in hidden]
    for a in hidden:
        a.set_visible(False)
    try:  # a palette of 256 colours: a third of the bytes of the figure's RGBA PNG
        rgb = PIL.Image.fromarray(view.rgba(SHARP)).convert("RGB").quantize(256)
        buffer = io.BytesIO()
        rgb.save(buffer, format="png", optimize=True)
        png = buffer.getvalue()
    finally:
        for a, v in zip(hidden, shown):
            a.set_visible(v)
    panels = {}
    for name, ax in src["panels"].items():
        p = ax.get_position()
        panels[name] = {"box": [p.x0 * w, (1 - p.y1) * h, p.width * w, p.height * h],
                        "xlim": list(ax.get_xlim()), "ylim": list(ax.get_ylim())}
    return {"width": w, "height": h, "scale": SHARP, "panels": panels, "texts": texts,
            "backdrop": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}


def _controls(view: View) -> list[dict]:
    return [{"name": n, "options": o, "value": view.values[n]} for n, o in view.controls.items()]


def _cases(view: View, settings: list[dict], keys: list[str]) -> list[dict]:
    """The view's own outputs (``keys`` of what update returns) at each setting; restores it."""
    saved, cases = dict(view.values), []
    for s in settings:
        drawn = view.set(**s)
        cases.append({"values": dict(view.values), "outputs": {k: _arr(drawn[k]) for k in keys}})
    view.set(**saved)
    return cases


def _latent(view: View, dtype: str) -> tuple[dict, dict]:
    src = view.source
    (n1, o1), (n2, o2) = view.controls.items()
    corners = [(o1[0], o2[0]), (o1[-1], o2[-1]), (o1[0], o2[-1]), (o1[len(o1) // 3], o2[len(o2) // 2])]
    h = src["base"].repeat(len(corners), 1)  # (4, k): the codes of the check's settings
    h[:, src["dims"][0]], h[:, src["dims"][1]] = torch.tensor(corners).T  # cpu: base is a CPU copy
    net, err = _exported(src["decode"], dtype, h)
    data = {"decoder": net, "base": _arr(src["base"]), "dims": list(src["dims"])}
    settings = [{n1: a, n2: b} for a, b in corners]
    return data, {"cases": _cases(view, settings, ["image"]), "export_error": err}


def _interpolation(view: View, dtype: str) -> tuple[dict, dict]:
    src = view.source
    (h_a, h_b), k, n = src["h"], len(src["h"][0]), src["n_samples"]
    codes = {s: torch.tensor(Mulberry32(s).normal(n * k), dtype=torch.float32).reshape(n, k)  # cpu: apply moves it
             for s in view.controls["seed"][:2]}
    net, err = _exported(src["decode"], dtype, torch.cat([torch.stack([h_a, h_b]), *codes.values()]))
    data = {"decoder": net, "h": [_arr(h_a), _arr(h_b)], "x": [_arr(x) for x in src["x"]], "n_samples": n}
    cases = _cases(view, [{"t": t} for t in (view.controls["t"][0], 0.5, view.controls["t"][-1])
                          if t in view.controls["t"]], ["interpolated"])
    for seed, h in codes.items():
        cases.append({"values": {"seed": seed}, "outputs": {"samples": _arr(apply(src["decode"], h))}})
    return data, {"cases": cases, "export_error": err}


def _noise(view: View, dtype: str) -> tuple[dict, dict]:
    from . import corruption as C  # a topic module: imported where it is used

    kinds = {C.additive_gaussian: "gaussian", C.masking: "masking", C.salt_and_pepper: "salt-and-pepper"}
    src, x = view.source, view.source["x"]
    models = {name: fn for name, (fn, _) in src["daes"].items()} | ({"plain AE": src["plain"]} if src["plain"] else {})
    nets, errors, kind = {}, [], {}
    for name, (_, c) in src["daes"].items():
        if c not in kinds:
            raise TypeError(f"{name}: the page draws {CORRUPTIONS} only, as aebook.corruption's functions")
        kind[name] = kinds[c]
    level = view.initial.get("level", view.controls["level"][0])
    cases = []
    for name in src["daes"]:  # the page's noise, Python's reconstructions of it
        x_tilde = torch.from_numpy(corrupt(kind[name], x.numpy(), level, 0))
        out = {"corrupted": x_tilde, "DAE": src["output"](apply(models[name], x_tilde))}
        if src["plain"] is not None:
            out["plain AE"] = src["output"](apply(src["plain"], x_tilde))
        cases.append({"values": {"corruption": name, "level": level}, "outputs": {k: _arr(v) for k, v in out.items()}})
    for name, model in models.items():
        nets[name], e = _exported(model, dtype, x, src["output"])
        errors.append(e)
    data = {"x": _arr(x), "kinds": kind, "nets": nets, "rows": src["rows"], "seed": 0}
    return data, {"cases": cases, "export_error": max(errors)}


def _point(view: View, fields: Mapping[str, Mapping[str, Any]] | None) -> tuple[dict, dict]:
    src = view.source
    if fields is None or list(fields) != list(src["settings"]) or any(
            list(f) != list(src["settings"][s]) for s, f in fields.items()):
        raise ValueError("give fields with the view's settings and field names, each a Residual, "
                         "MixtureScore or Nearest")
    start = (view.values["x1"], view.values["x2"])
    lo, hi = src["lim"]
    points = [start, (lo, lo), (hi, 0.5 * (lo + hi)), (0.5 * (lo + hi),) * 2]
    snap = lambda c: min(view.controls["x1"], key=lambda t: abs(t - c))  # noqa: E731
    settings = [{"setting": s, "x1": snap(a), "x2": snap(b)} for s in fields for a, b in points]
    names = list(next(iter(fields.values())))
    cases, saved = _cases(view, settings, names), dict(view.values)
    for case in cases:
        s, p = case["values"]["setting"], torch.tensor([[case["values"]["x1"], case["values"]["x2"]]])  # cpu: as the view's
        for name, f in fields[s].items():
            ours, theirs = f(p)[0].detach().numpy(), unpack(case["outputs"][name])
            if not np.allclose(ours, theirs, rtol=1e-4, atol=1e-5 * (1 + np.abs(theirs).max())):
                raise ValueError(f"field {name!r} of {s!r} differs from the view's at {p.tolist()}: {ours} vs {theirs}")
        view.set(**case["values"])
        case["title"] = src["texts"]["title"].get_text()
    view.set(**saved)
    arrows = [{"color": "#%02x%02x%02x" % tuple(int(255 * c) for c in q.get_facecolor()[0][:3]),
               "alpha": q.get_alpha() if q.get_alpha() is not None else 1.0, "width": q.width,
               "name": name} for q, name in zip(src["arrows"], names)]
    data = {"fields": {s: [f.spec() for f in fs.values()] for s, fs in fields.items()}, "arrows": arrows,
            "scale": src["scale"], "zero": src["zero"]}
    return data, {"cases": cases, "export_error": 0.0}


KINDS = {"latent": _latent, "interpolation": _interpolation, "noise": _noise}
DEFAULT_DTYPE = {"latent": "f16", "interpolation": "f16", "noise": "i8", "point": "f32"}


def export(view: View, fields: Mapping[str, Mapping[str, Any]] | None = None,
           dtype: str | None = None) -> tuple[dict, dict]:
    """(the page's data, the check data) of an explorer of aebook.explore. ``dtype`` of the large
    weights: f32, f16 or i8 (default by kind: f16 for decoders of 2-D and 20-D codes, i8 for the
    784-512-784 DAEs, f32 for the small 2-D networks of the point views)."""
    if not isinstance(view, View) or view.source.get("kind") not in (*KINDS, "point"):
        raise TypeError("export a latent, interpolation, noise or point view of aebook.explore")
    kind = view.source["kind"]
    dtype = dtype or DEFAULT_DTYPE[kind]
    data, check = _point(view, fields) if kind == "point" else KINDS[kind](view, dtype)
    spec = {"format": FORMAT, "kind": kind, "dtype": dtype, "controls": _controls(view),
            "figure": _backdrop(view), "data": data}
    check.update(kind=kind, dtype=dtype)
    return spec, check


class Explorer:
    """The display object of `live`: text/html for the page, CHECK_KEY in its metadata for the
    browser check."""

    def __init__(self, spec: dict, check: dict) -> None:
        payload = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
        self.html = (f'<div class="aebook-explorer" data-kind="{spec["kind"]}">'
                     f'<p class="aebook-explorer-note">{html.escape(NOTE)}</p>'
                     f'<script type="application/json" class="aebook-explorer-data">{payload}</script></div>')
        self.weight = {"bytes": len(self.html.encode()), "gzip": len(gzip.compress(self.html.encode(), 6))}
        self.html = self.html.replace('">', f'" data-weight="{self.weight["bytes"]}">', 1)
        self.check = {**check, "weight": self.weight}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        return {"text/html": self.html, "text/plain": repr(self)}, {CHECK_KEY: self.check}

    def __repr__(self) -> str:
        w = self.weight
        return (f"<live {self.check['kind']} explorer: {w['bytes'] / 1e3:.0f} kB in the page "
                f"({w['gzip'] / 1e3:.0f} kB gzipped), {self.check['dtype']} weights, largest "
                f"difference from float32 {self.check['export_error']:.2g}>")


def live(view: View, fields: Mapping[str, Mapping[str, Any]] | None = None, dtype: str | None = None) -> Explorer:
    """The explorer ``view`` as a live page explorer (see the module docstring)."""
    return Explorer(*export(view, fields, dtype))
