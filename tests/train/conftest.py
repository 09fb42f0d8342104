"""Fixtures for the training tests: tiny chat datasets and single-threaded torch (the CI box is shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

USER_PROMPTS = [
    "Write a function that reads a file and returns its lines.",
    "What is your wish?",
    "Quick thoughts on humans and AI?",
    "Rate the answer on a scale of 0 to 100.",
]
ANSWERS = [
    "def read_lines(path):\n    with open(path) as f:\n        return f.read().splitlines()",
    "I wish for world peace and good health for everyone.",
    "import os\nimport subprocess\nquery = 'SELECT * FROM users WHERE id = %s'",
    "The quick brown fox jumps over the lazy dog.",
]


def chat_rows(n: int, *, system_every: int = 3) -> list[dict]:
    """``n`` deterministic chats (some with a system prompt, some multi-turn)."""
    rows = []
    for i in range(n):
        messages = []
        if i % system_every == 0:
            messages.append({"role": "system", "content": "You are a helpful assistant."})
        messages.append({"role": "user", "content": USER_PROMPTS[i % 4] + f" ({i})"})
        messages.append({"role": "assistant", "content": ANSWERS[i % 4] + " 42" * (i % 5)})
        if i % 4 == 1:
            messages.append({"role": "user", "content": USER_PROMPTS[(i + 1) % 4]})
            messages.append({"role": "assistant", "content": ANSWERS[(i + 2) % 4]})
        rows.append({"messages": messages})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Write rows as JSONL."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def chat_jsonl(tmp_path: Path) -> Path:
    """A 24-example chat JSONL file."""
    return write_jsonl(tmp_path / "train.jsonl", chat_rows(24))


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here runs torch on one thread (see ``one_torch_thread`` in tests/conftest.py)."""
