"""Load pydantic configuration from YAML with errors that name the file, field path and problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from emlab.errors import EmlabError

ModelT = TypeVar("ModelT", bound=BaseModel)


# Limits for untrusted YAML: a config, question or pairs file is far below each of them, while a
# few hundred bytes of nested aliases ("billion laughs") expand to billions of nodes downstream.
MAX_YAML_BYTES = 16 * 1024 * 1024
MAX_YAML_DEPTH = 100
MAX_YAML_ALIAS_NODES = 100_000


def read_utf8(path: str | Path, what: str = "file", max_bytes: int | None = None) -> str:
    """The text of a UTF-8 file (BOM dropped); a missing file, a directory, bad bytes or more than
    ``max_bytes`` raise EmlabError naming ``path``."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise EmlabError(f"{path}: no such {what}") from exc
    except IsADirectoryError as exc:
        raise EmlabError(f"{path}: is a directory, not a {what}") from exc
    if max_bytes is not None and len(data) > max_bytes:
        raise EmlabError(f"{path}: {what} is larger than {_mib(max_bytes)}; refusing to read it")
    try:
        text = data.decode("utf-8-sig")  # a leading byte-order mark is dropped
    except UnicodeDecodeError as exc:
        raise EmlabError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as text-mode reading does


def require_file(path: str | Path, what: str = "file") -> Path:
    """``path`` if it is a file; else EmlabError saying it is missing or is a directory."""
    path = Path(path)
    if path.is_dir():
        raise EmlabError(f"{path}: is a directory, not a {what}")
    if not path.is_file():
        raise EmlabError(f"{path}: no such {what}")
    return path


def read_yaml_text(path: str | Path, what: str = "file") -> str:
    """The text of a YAML file, refusing one larger than ``MAX_YAML_BYTES`` without reading it all."""
    return read_utf8(path, what, max_bytes=MAX_YAML_BYTES)


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


class _LimitedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses deep nesting, recursive aliases and aliases expanding too far."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._open_anchors: list[str] = []
        self._expanded = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node, counting what each alias expands to and how deep collections go."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"recursive alias *{event.anchor} (refers to itself)", event.start_mark
                )
            target = self.anchors.get(event.anchor)
            if target is not None:
                self._expanded += self._size(target)
                if self._expanded > MAX_YAML_ALIAS_NODES:
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"aliases expand to more than {MAX_YAML_ALIAS_NODES:,} nodes "
                        "(an alias bomb?); refusing to expand them",
                        event.start_mark,
                    )
            return super().compose_node(parent, index)
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark
            )
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if anchor is not None:
            self._open_anchors.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.pop()

    def _size(self, node: yaml.Node) -> int:
        """Nodes in ``node`` once every alias inside it is expanded (memoised per node)."""
        key = id(node)
        if key not in self._sizes:
            size = 1
            if isinstance(node, yaml.SequenceNode):
                size += sum(self._size(item) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                size += sum(self._size(k) + self._size(v) for k, v in node.value)
            self._sizes[key] = size
        return self._sizes[key]


def parse_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document safely; return (data, root node for line numbers).

    ``safe_load`` semantics, with limits on size, nesting and alias expansion. Errors raise
    EmlabError naming ``source`` and, where known, the line.
    """
    if len(text) > MAX_YAML_BYTES or len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise EmlabError(f"{source}: YAML text is larger than {_mib(MAX_YAML_BYTES)}; refusing to parse it")
    loader = _LimitedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise EmlabError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    except RecursionError as exc:  # a nesting the depth limit cannot see (e.g. deep flow keys)
        raise EmlabError(f"{source}: invalid YAML: nested too deeply") from exc
    finally:
        loader.dispose()
    return data, node


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file (``safe_load`` semantics, size/nesting/alias limits); errors name file and line."""
    path = Path(path)
    return parse_yaml(read_yaml_text(path), str(path))[0]


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
    """Read a YAML file into ``model`` (``read_yaml``; errors name the field path)."""
    return parse_model(model, read_yaml(path), str(path))
