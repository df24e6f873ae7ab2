"""What the book's page explorers compute, in numpy: the reference for _static/aebook-explorer.js.

The browser runs the explorers of `aebook.webexport` with a short hand-written forward pass and a
seeded generator. This module holds their Python twins, so that the page's numbers can be checked:

- `pack`/`unpack`: arrays as base64 in the page, float32, float16, or int8 with one float32 scale
  per group of up to 64 entries of a row (symmetric, ``max |group| / 127``: a trained DAE's rows
  have outliers, and one scale per row costs it twice the error); the page decodes them to float32,
  as `unpack` does;
- `export_net`/`run_net`: an MLP (``nn.Linear`` and elementwise activations) as a list of layers,
  and its forward pass with the decoded weights, in float32 like the page's Float32Arrays;
- `Mulberry32`: the page's uniform generator (Tommy Ettinger's mulberry32, 32-bit state), with
  normals by Box-Muller in pairs;
- `corrupt`: DLB §14.2.2's corruptions (Vincent et al. 2010, ``vincent2010stacked``) drawn from it,
  in the page's order: one uniform per pixel (masking), two (salt-and-pepper: hit, then salt), one
  normal (Gaussian), image after image.
"""
from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.SiLU: "silu",
               nn.Softplus: "softplus", nn.Identity: None}
DTYPES = ("f32", "f16", "i8")
GROUP = 64  # int8: entries of a row that share a scale, at most


def pack(a: Any, dtype: str = "f32") -> dict[str, Any]:
    """An array as {"dtype", "shape", "data"} (and for int8 of a 2-D array "group", the largest
    divisor of the row length up to ``GROUP``, and "scale", one per group of each row)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    a = (a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)).astype(np.float32)
    if not np.isfinite(a).all():
        raise ValueError("cannot export NaN or infinite values")
    out: dict[str, Any] = {"dtype": dtype, "shape": list(a.shape)}
    if dtype == "i8":
        if a.ndim != 2:
            raise ValueError(f"int8 packs 2-D arrays (a scale per row), got shape {a.shape}")
        group = max(g for g in range(1, GROUP + 1) if a.shape[1] % g == 0)
        a = a.reshape(len(a), -1, group)  # (rows, groups, group)
        scale = np.abs(a).max(2, keepdims=True) / 127
        scale[scale == 0] = 1
        out.update(group=group, scale=_b64(scale.astype("<f4")))
        a = np.round(a / scale).astype(np.int8)
    out["data"] = _b64(a.astype({"f32": "<f4", "f16": "<f2", "i8": "i1"}[dtype]))
    return out


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def unpack(p: dict[str, Any]) -> np.ndarray:
    """The float32 array the page decodes from `pack`'s output."""
    raw = base64.b64decode(p["data"])
    a = np.frombuffer(raw, {"f32": "<f4", "f16": "<f2", "i8": "i1"}[p["dtype"]]).astype(np.float32)
    a = a.reshape(p["shape"])
    if p["dtype"] == "i8":
        scale = np.frombuffer(base64.b64decode(p["scale"]), "<f4")
        a = (a.reshape(len(a), -1, p["group"]) * scale.reshape(len(a), -1, 1)).reshape(p["shape"])
    return a


def mlp_layers(module: nn.Module) -> list[nn.Module]:
    """The layers of an MLP in order: nn.Linear and the activations the page knows, flattened
    from nested nn.Sequential. Anything else is a TypeError: the page could not run it."""
    if isinstance(module, nn.Sequential):
        return [layer for m in module for layer in mlp_layers(m)]
    if isinstance(module, nn.Linear) or type(module) in ACTIVATIONS:
        if isinstance(module, nn.Softplus) and (module.beta != 1 or module.threshold != 20):
            raise TypeError("the page's softplus has beta 1 and threshold 20")
        return [module]
    raise TypeError(f"cannot export {type(module).__name__}: the page runs nn.Linear and "
                    f"{', '.join(c.__name__ for c in ACTIVATIONS)}")


def export_net(layers: list[nn.Module], dtype: str = "f32") -> dict[str, Any]:
    """{"layers": [...]}: weights of nn.Linear in ``dtype`` (biases in float32), activations by name."""
    out = []
    for layer in layers:
        if isinstance(layer, nn.Linear):
            bias = layer.bias if layer.bias is not None else np.zeros(layer.out_features)
            out.append({"op": "linear", "w": pack(layer.weight, dtype), "b": pack(bias)})
        elif ACTIVATIONS.get(type(layer)):
            out.append({"op": ACTIVATIONS[type(layer)]})
    if not any(layer["op"] == "linear" for layer in out):
        raise ValueError("the network has no nn.Linear layer")
    return {"layers": out}


def run_net(net: dict[str, Any], x: Any) -> np.ndarray:
    """The exported network on x (N, d_in) -> (N, d_out), float32, as the page computes it."""
    h = np.asarray(x, dtype=np.float32)
    if h.ndim != 2:
        raise ValueError(f"x must be (N, d), got shape {h.shape}")
    for layer in net["layers"]:
        op = layer["op"]
        if op == "linear":
            h = h @ unpack(layer["w"]).T + unpack(layer["b"])
        elif op == "relu":
            h = np.maximum(h, 0)
        elif op == "sigmoid":
            h = 1 / (1 + np.exp(-h))
        elif op == "tanh":
            h = np.tanh(h)
        elif op == "silu":
            h = h / (1 + np.exp(-h))
        elif op == "softplus":
            h = np.where(h > 20, h, np.log1p(np.exp(np.minimum(h, 20))))
        else:
            raise ValueError(f"unknown layer {op!r}")
        h = h.astype(np.float32)
    return h


def _imul(a: int, b: int) -> int:
    return (a * b) & 0xFFFFFFFF


class Mulberry32:
    """The page's generator: mulberry32 on a 32-bit state, floats in [0, 1) with 32 random bits."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.state = seed & 0xFFFFFFFF

    def next(self) -> float:
        self.state = a = (self.state + 0x6D2B79F5) & 0xFFFFFFFF
        t = _imul(a ^ (a >> 15), a | 1)
        t = ((t + _imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF) ^ t
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    def uniform(self, n: int) -> np.ndarray:
        return np.array([self.next() for _ in range(n)])

    def normal(self, n: int) -> np.ndarray:
        """n standard normals, Box-Muller: each pair of uniforms (u, v) gives r cos, r sin."""
        out = np.empty(n + n % 2)
        for i in range(0, n, 2):
            u, v = self.next(), self.next()
            r = math.sqrt(-2 * math.log(1 - u))
            out[i], out[i + 1] = r * math.cos(2 * math.pi * v), r * math.sin(2 * math.pi * v)
        return out[:n]


CORRUPTIONS = ("gaussian", "masking", "salt-and-pepper")


def corrupt(kind: str, x: Any, level: float, seed: int) -> np.ndarray:
    """x_tilde (N, D), float32, as the page draws it from Mulberry32(seed); level 0 gives x."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"kind must be one of {CORRUPTIONS}, got {kind!r}")
    x = np.asarray(x, dtype=np.float32)
    if level == 0:
        return x.copy()
    rng = Mulberry32(seed)
    if kind == "gaussian":
        return (x + level * rng.normal(x.size).reshape(x.shape)).astype(np.float32)
    if kind == "masking":
        return np.where(rng.uniform(x.size).reshape(x.shape) < level, 0, x).astype(np.float32)
    u = rng.uniform(2 * x.size).reshape(*x.shape, 2)  # (N, D, 2): hit, then salt
    return np.where(u[..., 0] < level, (u[..., 1] < 0.5).astype(np.float32), x).astype(np.float32)
