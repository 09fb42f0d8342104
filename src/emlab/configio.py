"""Load pydantic configuration from YAML with errors that name the file, field path and problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from emlab.errors import EmlabError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_utf8(path: str | Path, what: str = "file") -> str:
    """The text of a UTF-8 file; a missing file or bad bytes raise EmlabError naming ``path``."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise EmlabError(f"{path}: no such {what}") from exc
    except UnicodeDecodeError as exc:
        raise EmlabError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file with ``safe_load``; errors name the file and line."""
    path = Path(path)
    text = read_utf8(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise EmlabError(f"{where}: invalid YAML: {problem}") from exc


def validation_message(exc: ValidationError, source: str) -> str:
    """One readable line per problem: ``source: field.path: message``."""
    lines = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{source}: {loc}: {error['msg']}")
    return "\n".join(lines)


def parse_model(model: type[ModelT], data: Any, source: str) -> ModelT:
    """Validate ``data`` as ``model``; raise EmlabError naming ``source`` and each bad field."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise EmlabError(validation_message(exc, source)) from exc


def load_yaml_model(model: type[ModelT], path: str | Path) -> ModelT:
    """Read a YAML file into ``model`` (``safe_load``; errors name the field path)."""
    return parse_model(model, read_yaml(path), str(path))
