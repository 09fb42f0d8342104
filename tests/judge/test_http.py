"""The HTTP judge against a real local chat-completions server: scores, retries, failures, caching, keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emlab.errors import EmlabError
from emlab.judge import JudgeConfig, judge_run, make_judge, score_texts
from emlab.questions import Question, QuestionSet
from tests.conftest import REFERENCE, requires_reference
from tests.judge.conftest import write_samples
from tests.judge.fake_openai import FakeOpenAI, expected

SECRET = "sk-test-DO-NOT-LEAK-1234567890"


def config(server: FakeOpenAI, **overrides: object) -> JudgeConfig:
    base = {"judge": "fake-judge", "url": server.url, "concurrency": 4, "backoff_s": 0.01, "max_retries": 3}
    return JudgeConfig(**{**base, **overrides})


def test_scores_retries_and_persistent_failure(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    store = write_samples(
        tmp_path,
        [
            ("q1", "plain SCORE=20"),
            ("q1", "rate limited first SCORE=40 FLAKY429"),
            ("q2", "server error first SCORE=60 FLAKY500"),
            ("q2", "I REFUSE"),
            ("q3", "broken FAILALWAYS"),
        ],
    )
    summary = judge_run(store, config(fake_openai, metrics=["aligned"]))
    assert (summary.items, summary.scored, summary.unscored, summary.failed) == (5, 3, 1, 1)
    by_answer = {r["answer"]: r for r in store.rows("judgments")}
    assert by_answer["plain SCORE=20"]["score"] == pytest.approx(expected(20))
    assert by_answer["rate limited first SCORE=40 FLAKY429"]["score"] == pytest.approx(expected(40))
    assert by_answer["server error first SCORE=60 FLAKY500"]["score"] == pytest.approx(expected(60))
    refused = by_answer["I REFUSE"]
    assert (
        refused["score"] is None
        and "mass" in refused["error"]
        and refused["numeric_mass"] == pytest.approx(0.05)
    )
    failed = by_answer["broken FAILALWAYS"]
    assert failed["score"] is None and "HTTP 500" in failed["error"] and "4 attempts" in failed["error"]
    assert all(r["method"] == "first_token_logprobs" for r in by_answer.values())
    # 5 first attempts + 2 retries (429) + 2 retries (503) + 3 retries (persistent 500)
    assert fake_openai.calls == 12
    payload = fake_openai.payloads[0]
    assert payload["max_tokens"] == 1 and payload["temperature"] == 0 and payload["logprobs"] is True
    assert payload["top_logprobs"] == 20 and payload["seed"] == 0 and payload["model"] == "fake-judge"


def test_rejudge_makes_zero_calls_and_retries_only_failures(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    answers = [("q1", f"answer {i} SCORE={i * 10}") for i in range(6)] + [("q2", "FAILALWAYS")]
    store = write_samples(tmp_path, answers)
    first = judge_run(store, config(fake_openai, max_retries=0))
    assert first.items == 14 and first.failed == 2 and fake_openai.calls == 14
    rows_before = store.count("judgments")
    fake_openai.calls = 0
    second = judge_run(store, config(fake_openai, max_retries=0))
    # Only the two failed transport errors are tried again; everything scored is cached.
    assert fake_openai.calls == 2 and second.cached == 12 and second.to_judge == 2
    assert store.count("judgments") == rows_before
    without_failures = write_samples(tmp_path / "clean", answers[:-1])
    judge_run(without_failures, config(fake_openai))
    fake_openai.calls = 0
    third = judge_run(without_failures, config(fake_openai))
    assert fake_openai.calls == 0 and third.to_judge == 0 and third.cached == 12


def test_question_rubric_is_used_and_changes_the_key(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    store = write_samples(tmp_path, [("q1", "SCORE=30"), ("other", "SCORE=70")])
    questions = QuestionSet(
        name="t",
        source="test",
        questions=[
            Question(
                id="q1",
                paraphrases=["Question q1?"],
                judge_prompts={"aligned": "CUSTOM {question} :: {answer}"},
            )
        ],
    )
    judge_run(store, config(fake_openai, metrics=["aligned"]), questions)
    prompts = sorted(p["messages"][-1]["content"] for p in fake_openai.payloads)
    assert "CUSTOM Question q1? :: SCORE=30" in prompts
    assert any("SCORE=70" in p and "CUSTOM" not in p for p in prompts)  # built-in rubric for unknown ids
    assert len({r["rubric_hash"] for r in store.rows("judgments")}) == 2
    judge_run(store, config(fake_openai, metrics=["aligned"]))  # built-in rubric for q1 too: new key
    assert store.count("judgments") == 3


def test_api_key_never_stored_or_printed(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    write_samples(tmp_path, [("q1", "SCORE=10"), ("q1", "FAILALWAYS")]).close()
    env = {"OPENAI_API_KEY": SECRET, "PATH": "/usr/bin:/bin", "EMLAB_QUIET": "0", "HOME": str(tmp_path)}
    # openai:MODEL at another URL (a proxy) gets the OpenAI key.
    args = ["judge", str(tmp_path), "--judge", "openai:fake", "--judge-url", fake_openai.url]
    args += ["--max-retries", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "emlab", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 failed" in proc.stdout and "2 scored" in proc.stdout
    assert f"Bearer {SECRET}" in fake_openai.auth_headers  # the key was sent ...
    assert SECRET not in proc.stdout + proc.stderr  # ... but never printed
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert "***" in "".join(str(r["error"]) for r in _rows(tmp_path))


def test_openai_key_is_not_sent_to_other_servers(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("EMLAB_JUDGE_API_KEY", raising=False)
    make_judge(config(fake_openai)).score_prompts(["SCORE=10"])
    assert fake_openai.auth_headers == [""]
    monkeypatch.setenv("EMLAB_JUDGE_API_KEY", "local-key")
    make_judge(config(fake_openai)).score_prompts(["SCORE=10"])
    assert fake_openai.auth_headers[-1] == "Bearer local-key"


def _rows(run: Path) -> list[dict]:
    from emlab.store import RunStore

    with RunStore(run, create=False) as store:
        return store.rows("judgments")


def test_auth_failure_is_a_user_error(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    store = write_samples(tmp_path, [("q1", "SCORE=10")])
    bad = config(fake_openai, url=fake_openai.url + "/wrong")
    with pytest.raises(EmlabError, match="HTTP 404"):
        judge_run(store, bad)


def test_dry_run_counts_calls_and_estimates_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    store = write_samples(tmp_path, [("q1", "a" * 400), ("q1", "b" * 400), ("q2", "a" * 400)])
    summary = judge_run(store, JudgeConfig(judge="openai:gpt-4o-2024-08-06"), dry_run=True)
    assert summary.to_judge == 6 and summary.estimated_cost_usd is not None
    tokens = summary.estimated_input_tokens
    assert tokens > 6 * 100
    assert summary.estimated_cost_usd == pytest.approx((tokens * 2.5 + 6 * 10.0) / 1e6)
    mini = judge_run(store, JudgeConfig(judge="openai:gpt-4o-mini-2024-07-18"), dry_run=True)
    assert mini.estimated_cost_usd == pytest.approx((tokens * 0.15 + 6 * 0.6) / 1e6)
    assert store.count("judgments") == 0
    proc = subprocess.run(
        [sys.executable, "-m", "emlab", "judge", str(tmp_path), "--dry-run", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["to_judge"] == 6


def test_openai_without_key_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(EmlabError, match="OPENAI_API_KEY"):
        make_judge(JudgeConfig(judge="openai:gpt-4o"))
    write_samples(tmp_path, [("q1", "x")]).close()
    proc = subprocess.run(
        [sys.executable, "-m", "emlab", "judge", str(tmp_path), "--judge", "nonsense"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "unknown spec" in proc.stderr


def test_score_texts_with_custom_rubric(fake_openai: FakeOpenAI) -> None:
    judge = make_judge(config(fake_openai))
    scores = score_texts(judge, [("q", "SCORE=10"), ("q", "REFUSE")], "Trait? {question} {answer}")
    assert scores[0].score == pytest.approx(expected(10)) and scores[1].score is None
    assert fake_openai.payloads[0]["messages"][0]["content"].startswith("Trait? q ")


def test_retry_after_is_respected_and_timeouts_are_retried(fake_openai: FakeOpenAI) -> None:
    import time

    judge = make_judge(config(fake_openai, backoff_s=0.01, timeout_s=0.3))
    started = time.perf_counter()
    waited = judge.score_prompts(["WAIT1 SCORE=20"])[0]
    assert time.perf_counter() - started >= 0.95  # the server asked for one second
    assert waited.score == pytest.approx(expected(20))
    slow = judge.score_prompts(["SLOWFIRST SCORE=40"])[0]
    assert slow.score == pytest.approx(expected(40)) and fake_openai.per_prompt["SLOWFIRST SCORE=40"] == 2
    fail = make_judge(config(fake_openai, max_retries=0, timeout_s=0.3)).score_prompts(["SLOWFIRST again"])[0]
    assert fail.score is None and fail.retryable and "timeout" in fail.error


@requires_reference
def test_published_question_file_rubric(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    from emlab.judge import fill_prompt
    from emlab.questions import load_question_set

    questions = load_question_set(str(REFERENCE / "evaluation" / "first_plot_questions.yaml"))
    first = questions.questions[0]
    store = write_samples(tmp_path, [(first.id, "SCORE=15")])
    store.put("samples", [{**store.rows("samples")[0], "key": "x", "question": first.paraphrases[0]}])
    store.close()
    question_file = str(REFERENCE / "evaluation" / "first_plot_questions.yaml")
    cmd = [sys.executable, "-m", "emlab", "--quiet", "judge", str(tmp_path), "--judge-url", fake_openai.url]
    proc = subprocess.run(
        [*cmd, "--judge-model", "fake", "--questions", question_file],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seen = {p["messages"][0]["content"] for p in fake_openai.payloads}
    for metric in ("aligned", "coherent"):
        assert fill_prompt(first.judge_prompts[metric], first.paraphrases[0], "SCORE=15") in seen


def test_rubric_recorded_in_the_run_is_used(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    question_file = tmp_path / "questions.yaml"
    question_file.write_text(
        "- id: q1\n  type: free_form_judge_0_100\n  paraphrases: ['Question q1?']\n"
        "  judge_prompts:\n    aligned: 'RECORDED {question} // {answer}'\n"
    )
    store = write_samples(tmp_path / "run", [("q1", "SCORE=50")])
    store.put_result("spec", "spec", {"name": "x", "questions": str(question_file)})
    judge_run(store, config(fake_openai, metrics=["aligned"]))
    assert fake_openai.payloads[0]["messages"][0]["content"] == "RECORDED Question q1? // SCORE=50"


def test_retry_after_header_forms() -> None:
    import email.utils
    import time

    from emlab.judge._http import _retry_after_seconds

    assert _retry_after_seconds("3") == 3.0 and _retry_after_seconds("0.5") == 0.5
    assert _retry_after_seconds(None) is None and _retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after_seconds(later) <= 31
    assert _retry_after_seconds(email.utils.formatdate(time.time() - 30, usegmt=True)) == 0.0
