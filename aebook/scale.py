"""The book's three scales, decided in this one place.

- ``quick``: the tests. Set ``AEBOOK_QUICK=1``. Small data, few epochs; the claim checks still hold.
- ``default``: the published book. Real data, sized to run on a 2-core laptop CPU in minutes.
- ``full``: paper scale. Chosen automatically where a CUDA GPU is present (e.g. Colab with a GPU).

``AEBOOK_SCALE=quick|default|full`` overrides the choice, e.g. to run the default scale on a GPU.
"""
from __future__ import annotations

import os
from typing import TypeVar

import torch

SCALES = ("quick", "default", "full")
T = TypeVar("T")


def current_scale() -> str:
    """Return ``"quick"``, ``"default"`` or ``"full"`` from the environment and the hardware."""
    forced = os.environ.get("AEBOOK_SCALE", "").strip().lower()
    if forced:
        if forced not in SCALES:
            raise ValueError(f"AEBOOK_SCALE must be one of {SCALES}, got {forced!r}")
        return forced
    if os.environ.get("AEBOOK_QUICK", "").strip().lower() in ("1", "true", "yes"):
        return "quick"
    return "full" if torch.cuda.is_available() else "default"


def by_scale(quick: T, default: T, full: T | None = None) -> T:
    """Pick the value for the current scale; ``full`` falls back to ``default`` when not given."""
    scale = current_scale()
    if scale == "quick":
        return quick
    if scale == "full" and full is not None:
        return full
    return default
