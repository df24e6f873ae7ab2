"""Timing a computation the way the speed claims of DLB §14.8 and §14.9 are checked in the book.

A ratio of two times is only a lesson if the load of the machine does not decide it. Two rules
make it so here: the computation runs on **one thread** (small matrix products gain little from a
second one, and on a busy machine each of many short steps waits for the slower of two threads,
which inflates an iterative solver's time far more than a single pass), and the figure is the
**fastest** of repeated calls, since other work on the machine can only add time (the estimate
Python's ``timeit`` documentation recommends). NumPy code runs on one thread anyway.
"""
from __future__ import annotations

import timeit
from collections.abc import Callable

import torch


def fastest_seconds(fn: Callable[[], object], repeats: int = 11, threads: int = 1) -> float:
    """The fastest of ``repeats`` calls of ``fn()``, in seconds (``timeit.repeat``), with torch
    limited to ``threads`` threads and autograd off; torch's thread count is restored after.

    The first call is one of the repeats: it warms caches and allocators, and the minimum
    ignores it if it was slow."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    for name, value in (("repeats", repeats), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            return min(timeit.repeat(fn, number=1, repeat=repeats))
    finally:
        torch.set_num_threads(before)
