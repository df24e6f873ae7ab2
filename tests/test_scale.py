"""aebook.scale: the three scales, chosen from the environment and the hardware."""
import pytest
import torch

from aebook.scale import by_scale, current_scale


@pytest.fixture
def env(monkeypatch):
    """No scale variables set, and no GPU unless a test says otherwise."""
    monkeypatch.delenv("AEBOOK_SCALE", raising=False)
    monkeypatch.delenv("AEBOOK_QUICK", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return monkeypatch


def test_default_on_cpu_full_on_gpu(env):
    assert current_scale() == "default"
    env.setattr(torch.cuda, "is_available", lambda: True)
    assert current_scale() == "full"


@pytest.mark.parametrize("value", ["1", "true", "YES", " yes "])
def test_quick_flag(env, value):
    env.setenv("AEBOOK_QUICK", value)
    assert current_scale() == "quick"


@pytest.mark.parametrize("value", ["0", "", "no"])
def test_quick_flag_off(env, value):
    env.setenv("AEBOOK_QUICK", value)
    assert current_scale() == "default"


@pytest.mark.parametrize("value, expected", [("quick", "quick"), ("default", "default"),
                                             ("full", "full"), (" Full ", "full")])
def test_scale_override(env, value, expected):
    env.setenv("AEBOOK_SCALE", value)
    assert current_scale() == expected


def test_scale_override_beats_quick_and_gpu(env):
    env.setenv("AEBOOK_QUICK", "1")
    env.setenv("AEBOOK_SCALE", "default")
    env.setattr(torch.cuda, "is_available", lambda: True)
    assert current_scale() == "default"


def test_invalid_scale_raises(env):
    env.setenv("AEBOOK_SCALE", "huge")
    with pytest.raises(ValueError, match="huge"):
        current_scale()
    with pytest.raises(ValueError):
        by_scale(1, 2, 3)


def test_by_scale(env):
    assert by_scale("q", "d", "f") == "d"
    env.setenv("AEBOOK_SCALE", "quick")
    assert by_scale("q", "d", "f") == "q"
    env.setenv("AEBOOK_SCALE", "full")
    assert by_scale("q", "d", "f") == "f"
    assert by_scale("q", "d") == "d"  # full falls back to default when not given
