"""aebook.timing: the fastest of repeated calls, on one thread, and torch's state restored."""
import time

import pytest
import torch

from aebook.timing import fastest_seconds


def test_fastest_seconds_takes_the_minimum_of_the_calls():
    delays = iter([0.05, 0.01, 0.03])
    seconds = fastest_seconds(lambda: time.sleep(next(delays)), repeats=3)
    assert 0.01 <= seconds < 0.03  # the fastest call, not the mean (0.03) or the first (0.05)


def test_fastest_seconds_runs_on_one_thread_without_autograd_and_restores_threads():
    original = torch.get_num_threads()
    torch.set_num_threads(2)  # so that a restore to 1 would show
    before, seen = torch.get_num_threads(), []

    def probe():
        seen.append((torch.get_num_threads(), torch.is_grad_enabled()))
    fastest_seconds(probe, repeats=2)
    assert seen == [(1, False), (1, False)]
    assert torch.get_num_threads() == before and torch.is_grad_enabled()

    def boom():
        raise RuntimeError("fails")
    with pytest.raises(RuntimeError):
        fastest_seconds(boom)
    assert torch.get_num_threads() == before  # restored after an error too
    torch.set_num_threads(original)


@pytest.mark.parametrize("kwargs", [{"repeats": 0}, {"threads": 0}, {"repeats": 2.0}, {"threads": True}])
def test_fastest_seconds_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        fastest_seconds(lambda: None, **kwargs)
    with pytest.raises(TypeError):
        fastest_seconds(42)
