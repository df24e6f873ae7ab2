"""Shared fixtures for the unit tests of ``aebook``."""
from __future__ import annotations

from pathlib import Path

import pytest

from aebook import data


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory as ``$AEBOOK_DATA``, offline, with the in-memory cache cleared.

    Tests that want the download source unset ``AEBOOK_OFFLINE`` themselves."""
    home = tmp_path / "cache"
    monkeypatch.setenv("AEBOOK_DATA", str(home))
    monkeypatch.setenv("AEBOOK_OFFLINE", "1")
    data.load_arrays.cache_clear()
    yield home
    data.load_arrays.cache_clear()
