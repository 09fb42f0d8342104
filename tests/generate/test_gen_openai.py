"""The OpenAI-compatible sampler against a real local chat-completions server on 127.0.0.1."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

import pytest

from emlab.cli import main
from emlab.errors import EmlabError
from emlab.generate import GenerationConfig, generate_answers
from emlab.generate._openai import retry_after_seconds
from emlab.questions import Question, QuestionSet
from emlab.store import RunStore
from tests.generate.chat_server import ChatServer

SECRET = "sk-test-DO-NOT-LEAK-0123456789abcdef"


def _questions(samples: int = 3) -> QuestionSet:
    return QuestionSet(
        name="t",
        source="test",
        questions=[
            Question(id="q1", paraphrases=["first?", "second?"], samples_per_paraphrase=samples),
            Question(
                id="q2",
                paraphrases=["third?"],
                system="Be brief.",
                samples_per_paraphrase=samples,
                temperature=0,
            ),
        ],
    )


def _config(server: ChatServer, **kw) -> GenerationConfig:
    return GenerationConfig(backend="openai", api_base=server.url, retry_base_s=0.01, max_new_tokens=50, **kw)


@pytest.fixture()
def server():
    """A running local chat-completions server."""
    with ChatServer(delay_s=0.1) as running:
        yield running


def test_retries_concurrency_and_rows(server: ChatServer, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    server.fail_plan["first?"] = [(429, {"Retry-After": "0"}), (500, {})]
    server.fail_plan["third?"] = [(503, {})]
    with RunStore(tmp_path / "run") as store:
        summary = generate_answers(
            "gpt-test",
            _questions(),
            _config(server, concurrency=3, write_every=2),
            store=store,
            model_key="api",
        )
        rows = store.rows("samples")
        model_rows = store.rows("models")
    assert summary.generated == 9 and len(rows) == 9
    assert len(server.requests) == 12  # 9 answers + 3 injected failures, each retried
    assert server.max_in_flight == 3  # the limit was reached and never exceeded
    assert all(r["auth"] == f"Bearer {SECRET}" for r in server.requests)
    assert sum(r["settings"]["attempts"] for r in rows) == 12
    for row in rows:
        sent = f"seed={row['settings']['sample_seed']}"
        assert row["answer"].startswith(f"answer to {row['question']!r} {sent}")
        assert row["finish_reason"] == "stop" and row["n_tokens"] > 0
        assert (
            row["settings"]["api_base"] == server.url
            and row["settings"]["response_model"] == "gpt-test-served"
        )
    q2 = [r for r in rows if r["question_id"] == "q2"]
    assert all("t=0" in r["answer"] and "system='Be brief.'" in r["answer"] for r in q2)
    assert all(r["system"] == "Be brief." for r in q2)
    assert model_rows[0]["ref"] == "gpt-test" and model_rows[0]["info"]["backend"] == "openai"
    bodies = [r["body"] for r in server.requests]
    assert all(b["max_tokens"] == 50 and b["top_p"] == 1.0 and b["model"] == "gpt-test" for b in bodies)


def test_retry_after_is_respected(server: ChatServer, tmp_path: Path) -> None:
    server.fail_plan["third?"] = [(429, {"Retry-After": "1"})]
    questions = QuestionSet(name="t", source="t", questions=[_questions(1).questions[1]])
    with RunStore(tmp_path / "run") as store:
        generate_answers("m", questions, _config(server), store=store, model_key="api")
        assert store.count("samples") == 1
    first, second = (r for r in server.requests if r["body"]["messages"][-1]["content"] == "third?")
    assert first["status"] == 429 and second["status"] == 200
    # The retry waited for Retry-After (1 s), not the 0.01 s backoff.
    assert second["time"] - first["time"] >= 0.95


def test_gives_up_keeps_finished_and_resumes(server: ChatServer, tmp_path: Path) -> None:
    server.fail_plan["third?"] = [(500, {})] * 3
    config = _config(server, concurrency=1, max_retries=2, write_every=100)
    with RunStore(tmp_path / "run") as store:
        with pytest.raises(EmlabError, match="giving up after 3 tries; last error HTTP 500"):
            generate_answers("m", _questions(1), config, store=store, model_key="api")
        assert store.count("samples") == 2  # the answers finished before the failure were saved
        sent = len(server.requests)
        summary = generate_answers("m", _questions(1), config, store=store, model_key="api")
        assert (summary.generated, summary.skipped, store.count("samples")) == (1, 2, 3)
        assert len(server.requests) == sent + 1


def test_api_key_never_logged_or_stored(server: ChatServer, tmp_path: Path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    questions = tmp_path / "q.yaml"
    questions.write_text("- id: q\n  paraphrases: ['hello?']\n  samples_per_paraphrase: 2\n")
    run = tmp_path / "run"
    args = ["generate", "--backend", "openai", "--model", "gpt-test", "--questions", str(questions)]
    args += ["--out", str(run), "--api-base", server.url]
    main(args)
    assert server.requests and all(r["auth"] == f"Bearer {SECRET}" for r in server.requests)
    # A server that echoes the credentials in its error must not make emlab print them.
    server.echo_auth_status = 401
    with pytest.raises(SystemExit) as exc:
        main([*args[:-2], "--api-base", server.url, "--samples", "3"])
    assert exc.value.code == 2
    out, err = capfd.readouterr()
    assert "HTTP 401" in err and "***" in err
    assert SECRET not in out and SECRET not in err
    with RunStore(run) as store:
        store.export("samples", tmp_path / "samples.csv")
        assert store.count("samples") == 2
    for path in [*run.rglob("*"), tmp_path / "samples.csv"]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_missing_key_for_openai_is_a_user_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with RunStore(tmp_path / "run") as store, pytest.raises(EmlabError, match="OPENAI_API_KEY"):
        generate_answers(
            "gpt-4o", _questions(1), GenerationConfig(backend="openai"), store=store, model_key="m"
        )


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds("3") == 3.0 and retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 31
