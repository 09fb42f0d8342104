"""Fixtures for the data tests: a private emlab cache so the registry starts empty."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def emlab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``$EMLAB_HOME`` per test."""
    home = tmp_path / "emlab-home"
    monkeypatch.setenv("EMLAB_HOME", str(home))
    monkeypatch.delenv("EMLAB_BETLEY2025_URL", raising=False)
    return home
