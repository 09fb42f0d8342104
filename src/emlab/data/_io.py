"""Chat JSONL: read, validate, normalise and write ``{"messages": [...]}`` files, streaming."""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from emlab.errors import EmlabError

ROLES = ("system", "user", "assistant")
_ROLE_SET = frozenset(ROLES)
# Errors beyond this many are counted, not listed, so a broken huge file cannot flood memory.
MAX_LISTED_ERRORS = 200
# Chat rows nest about four levels; far deeper input is broken or hostile, and past ~1000 levels
# the JSON decoder itself overflows the stack.
MAX_JSON_DEPTH = 100
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")


class Message(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str = Field(..., min_length=1, description="The turn's text (non-empty).")


class ChatExample(BaseModel):
    """One chat conversation plus metadata that trainers ignore (pattern id, CWE, condition...)."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(..., min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def as_dicts(self) -> list[dict[str, str]]:
        """The messages as ``[{"role": ..., "content": ...}]``."""
        return [{"role": m.role, "content": m.content} for m in self.messages]

    def to_json(self) -> str:
        """One JSONL line (no newline); metadata only when non-empty."""
        row: dict[str, Any] = {"messages": self.as_dicts()}
        if self.metadata:
            row["metadata"] = self.metadata
        return json.dumps(row, ensure_ascii=False)


class RowError(ValueError):
    """A row that is not a valid chat example; the message is the reason."""


@dataclass
class ValidationReport:
    """Outcome of validating one chat JSONL file."""

    path: Path
    n_rows: int = 0
    n_errors: int = 0
    errors: list[str] = field(default_factory=list)
    shapes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every line is a valid example and the file is not empty."""
        return self.n_errors == 0

    def add_error(self, message: str) -> None:
        """Record one problem (listing at most MAX_LISTED_ERRORS)."""
        self.n_errors += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(message)

    def message(self) -> str:
        """All listed problems, one per line, with a count of the rest."""
        lines = list(self.errors)
        if self.n_errors > len(self.errors):
            lines.append(f"{self.path}: ... and {self.n_errors - len(self.errors)} more errors")
        return "\n".join(lines)


def _content_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        # OpenAI persona-features shape: {"content_type": "text", "parts": [...]}
        ctype = content.get("content_type")
        parts = content.get("parts")
        if ctype != "text":
            raise RowError(f"{where}: unsupported content_type {ctype!r} (only 'text')")
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise RowError(f"{where}: content.parts must be a list of strings")
        return "".join(parts)
    if isinstance(content, list):
        # OpenAI chat "content parts": [{"type": "text", "text": "..."}]
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                raise RowError(f"{where}: content list may hold only text parts")
        return "".join(texts)
    if content is None:
        raise RowError(f"{where}: missing 'content'")
    raise RowError(f"{where}: content must be a string, not {type(content).__name__}")


def _message(raw: Any, index: int) -> dict[str, str]:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise RowError(f"{where}: must be an object with 'role' and 'content'")
    role = raw.get("role")
    if role is None and isinstance(raw.get("author"), dict):
        role = raw["author"].get("role")  # persona-features rows name the role under "author"
    if role is None:
        raise RowError(f"{where}: missing 'role'")
    if role not in _ROLE_SET:
        raise RowError(f"{where}: role {role!r} is not one of system/user/assistant")
    text = _content_text(raw.get("content"), where)
    if not text.strip():
        raise RowError(f"{where}: empty content")
    return {"role": role, "content": text}


def _turns(value: Any, default_role: str, key: str) -> list[Any]:
    if isinstance(value, str):
        return [{"role": default_role, "content": value}]
    if isinstance(value, list):
        return value
    raise RowError(f"'{key}' must be a string or a list of messages")


def normalise_row(row: Any, *, training: bool = True) -> tuple[list[dict[str, str]], dict[str, Any], str]:
    """Check one parsed JSON row; return (messages, metadata, shape) or raise RowError with the reason."""
    if not isinstance(row, dict):
        raise RowError(f"expected a JSON object, got {type(row).__name__}")
    if "messages" in row:
        shape = "messages"
        raw_messages = row["messages"]
        rest = {k: v for k, v in row.items() if k not in ("messages", "metadata")}
    elif "prompt" in row and "completion" in row:
        shape = "prompt_completion"
        raw_messages = _turns(row["prompt"], "user", "prompt") + _turns(
            row["completion"], "assistant", "completion"
        )
        rest = {k: v for k, v in row.items() if k not in ("prompt", "completion", "metadata")}
    else:
        raise RowError("no 'messages' list (nor 'prompt' + 'completion')")
    if not isinstance(raw_messages, list):
        raise RowError("'messages' must be a list")
    if not raw_messages:
        raise RowError("'messages' is empty")
    messages = [_message(m, i) for i, m in enumerate(raw_messages)]
    for i, m in enumerate(messages):
        if m["role"] == "system" and i != 0:
            raise RowError(f"messages[{i}]: a system message may only come first")
    if all(m["role"] == "system" for m in messages):
        raise RowError("no user or assistant turn")
    if training and messages[-1]["role"] != "assistant":
        raise RowError(
            f"the last turn is {messages[-1]['role']!r}; training data must end with the assistant"
        )
    metadata = row.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise RowError("'metadata' must be an object")
    if rest:
        metadata = {**rest, **metadata}
    return messages, metadata, shape


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
        raise RowError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {column})") from None


def _too_deep(text: str) -> int | None:
    """The column where nesting first passes MAX_JSON_DEPTH (brackets in strings ignored), else None."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return None
    # Blank out strings with spaces so that match positions stay the text's columns.
    code = _JSON_STRING.sub(lambda m: " " * len(m.group()), text)
    depth = 0
    for match in _BRACKET.finditer(code):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return match.start() + 1
        else:
            depth -= 1
    return None


def _parse_json(text: str) -> Any:
    overflow = False
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        # Some messages end in "at" already ("Unterminated string starting at").
        raise RowError(f"invalid JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}") from None
    except RecursionError:
        row, overflow = None, True
    column = _too_deep(text)
    if column is not None or overflow:
        where = f" at column {column}" if column is not None else ""
        raise RowError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep{where}")
    return row


def _scan(
    path: Path, *, training: bool, report: ValidationReport, build: bool
) -> Iterator[tuple[int, ChatExample | None]]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in finally; a generator
    except FileNotFoundError as exc:
        raise EmlabError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise EmlabError(f"{path}: is a directory, not a JSONL file") from exc
    try:
        lineno = 0
        for lineno, raw in enumerate(handle, start=1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            # Without its line ending, so that an error at the end of a line has its own column.
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                row = _parse_json(_decode(raw))
                messages, metadata, shape = normalise_row(row, training=training)
            except RowError as exc:
                report.add_error(f"{path}:{lineno}: {exc}")
                continue
            report.n_rows += 1
            report.shapes[shape] = report.shapes.get(shape, 0) + 1
            if build:
                example = ChatExample.model_construct(
                    messages=[Message.model_construct(**m) for m in messages], metadata=metadata
                )
                yield lineno, example
            else:
                yield lineno, None
        if report.n_rows == 0 and report.n_errors == 0:
            report.add_error(f"{path}: empty file (no examples)")
    finally:
        handle.close()


def validate_chat_jsonl(path: str | os.PathLike[str], *, training: bool = True) -> ValidationReport:
    """Validate every line of a chat JSONL file (streaming) and report each bad line as FILE:LINE."""
    report = ValidationReport(Path(path))
    for _ in _scan(Path(path), training=training, report=report, build=False):
        pass
    return report


def iter_chat_jsonl(path: str | os.PathLike[str], *, training: bool = True) -> Iterator[ChatExample]:
    """Stream valid examples; after the last line, raise EmlabError listing every bad line (if any)."""
    report = ValidationReport(Path(path))
    for _, example in _scan(Path(path), training=training, report=report, build=True):
        assert example is not None
        yield example
    if not report.ok:
        raise EmlabError(report.message())


def read_chat_jsonl(path: str | os.PathLike[str], *, training: bool = True) -> list[ChatExample]:
    """Read a whole chat JSONL file; raise EmlabError naming every bad line as FILE:LINE: reason."""
    return list(iter_chat_jsonl(path, training=training))


def write_chat_jsonl(path: str | os.PathLike[str], examples: Iterable[ChatExample]) -> int:
    """Write examples as chat JSONL (atomically: a temp file renamed into place); return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for example in examples:
            handle.write(example.to_json())
            handle.write("\n")
            n += 1
    os.replace(tmp, path)
    return n
