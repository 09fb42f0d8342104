"""Where emlab keeps its cache (converted models, pulled datasets)."""

from __future__ import annotations

import os
from pathlib import Path


def emlab_home() -> Path:
    """Root of emlab's cache: ``$EMLAB_HOME`` or ``~/.cache/emlab``."""
    home = os.environ.get("EMLAB_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "emlab"


def cache_dir(*parts: str) -> Path:
    """A sub-folder of the cache, created on first use."""
    path = emlab_home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
