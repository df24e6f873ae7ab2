"""Where tensors live: the device of a model, device checks, and float64 arithmetic on any device.

The book's rule (CONVENTIONS.md): a function returns its results on its input's device and dtype,
and makes the tensors it needs there. Two devices need care:

- Apple's ``mps`` has no float64, so a float64 step (an eigendecomposition, a sum of many small
  terms) runs on a CPU copy there (``float64``) and its result is moved back by the caller;
- ``meta`` tensors have shapes but no values: the tests run the library on them to catch a tensor
  made on the wrong device without needing a GPU (tests/test_meta_device.py).

This module imports only torch; every other module may import it.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

NO_FLOAT64 = ("mps",)  # devices without float64 arithmetic


def float64(x: Tensor) -> Tensor:
    """x in float64: on x's device where it has float64 (CPU, CUDA, meta), else a CPU copy (MPS).

    Move a result back with ``.to(x.device, x.dtype)`` (or ``x.dtype`` for integer input: see the
    caller's docstring)."""
    if x.device.type in NO_FLOAT64:
        return x.detach().cpu().double()
    return x.double()


def model_device(model: nn.Module, name: str = "model") -> torch.device:
    """The device of the model's first parameter (or buffer); a TypeError for anything else."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be an nn.Module, got {type(model).__name__}")
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    raise TypeError(f"{name} has no parameters or buffers, so it has no device; "
                    f"give it at least one parameter (got {type(model).__name__})")


def model_dtype(model: nn.Module, name: str = "model") -> torch.dtype:
    """The dtype of the model's first floating-point parameter (float32 if it has none)."""
    model_device(model, name)
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def check_same_device(**tensors: Tensor | None) -> None:
    """ValueError naming the tensors if they do not all live on one device (``None`` skipped)."""
    present = {name: t for name, t in tensors.items() if isinstance(t, Tensor)}
    if len({t.device for t in present.values()}) > 1:
        where = ", ".join(f"{name} on {t.device}" for name, t in present.items())
        raise ValueError(f"tensors must be on one device, got {where}; move them with .to(device)")


def check_floating(x: Tensor, name: str = "x") -> None:
    """TypeError naming ``x`` if it is not a floating-point tensor (integers would be truncated)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}; "
                        f"convert it first, e.g. {name}.float()")


def has_values(x: Tensor) -> bool:
    """Whether a check on x's values is possible and costs no device sync: True on the CPU."""
    return x.device.type == "cpu"


def all_finite(x: Tensor) -> bool:
    """Whether every value of x is finite. It reads every value (one device sync), so it is for
    whole data sets and one-off measurements, not per-batch losses; True on ``meta`` (no values)."""
    return x.device.type == "meta" or bool(torch.isfinite(x).all())
