"""Fixtures for judge tests: a real local chat-completions server and runs with samples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emlab.store import RunStore
from tests.judge.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI-compatible server on 127.0.0.1."""
    with FakeOpenAI() as server:
        yield server


def write_samples(run: Path, answers: list[tuple[str, str]], model: str = "m0", group: str = "g") -> RunStore:
    """A run store holding one sample per (question_id, answer)."""
    store = RunStore(run)
    rows = [
        {
            "key": f"{model}-{i}",
            "model": model,
            "group_name": group,
            "question_id": qid,
            "paraphrase_index": 0,
            "sample_index": i,
            "system": None,
            "question": f"Question {qid}?",
            "answer": answer,
            "finish_reason": "stop",
            "n_tokens": 5,
            "settings": {},
        }
        for i, (qid, answer) in enumerate(answers)
    ]
    store.put("samples", rows)
    return store
