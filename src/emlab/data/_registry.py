"""The local dataset registry: names for generated, pulled and imported files (``registry.json`` in the cache)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from emlab.errors import EmlabError
from emlab.paths import cache_dir

Kind = Literal["generated", "pulled", "imported"]
FileType = Literal["dataset", "questions"]


class RegistryEntry(BaseModel):
    """One named file emlab knows about."""

    name: str = Field(..., description="Name usable wherever a path is, e.g. 'betley2025:insecure'.")
    kind: Kind = Field(..., description="How it got here: generated, pulled or imported.")
    type: FileType = Field(..., description="dataset (chat JSONL) or questions (question YAML).")
    path: str = Field(..., description="Absolute path of the file.")
    sha256: str | None = Field(None, description="sha256 of the file when registered.")
    rows: int | None = Field(None, description="Examples (datasets) or questions (question files).")
    source: str | None = Field(None, description="Where it came from: URL, local path or generator settings.")
    created_at: float = Field(default_factory=time.time)


def registry_path() -> Path:
    """The registry file inside emlab's cache."""
    return cache_dir("datasets") / "registry.json"


def load_registry() -> dict[str, RegistryEntry]:
    """All registered names (an empty registry when the file does not exist yet)."""
    path = registry_path()
    if not path.exists():
        return {}
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EmlabError(
            f"{path}: corrupt dataset registry ({exc}); delete it and pull/import again"
        ) from exc
    return {name: RegistryEntry.model_validate(entry) for name, entry in raw.get("entries", {}).items()}


def save_entries(entries: list[RegistryEntry]) -> None:
    """Add or replace entries (atomic rewrite of the registry file)."""
    registry = load_registry()
    for entry in entries:
        registry[entry.name] = entry
    path = registry_path()
    tmp = path.with_name(f"registry.{os.getpid()}.tmp")
    payload = {"version": 1, "entries": {k: v.model_dump() for k, v in sorted(registry.items())}}
    tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
