"""Judge failures told truthfully: retryable and non-retryable counted apart, consistent with the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.cli import main
from emlab.judge import JudgeConfig, judge_run
from tests.judge.conftest import write_samples
from tests.judge.fake_openai import FakeOpenAI

AGAIN = "run the same command again"


def _config(server: FakeOpenAI, **overrides: object) -> JudgeConfig:
    base = {"judge": "fake-judge", "url": server.url, "backoff_s": 0.01, "max_retries": 0}
    return JudgeConfig(**{**base, "metrics": ["aligned"], **overrides})


def _cli(capsys: pytest.CaptureFixture[str], run: Path, server: FakeOpenAI, *extra: str) -> str:
    capsys.readouterr()
    args = ["judge", str(run), "--judge", "fake-judge", "--judge-url", server.url, "--metrics", "aligned"]
    main([*args, "--max-retries", "0", *extra])
    captured = capsys.readouterr()
    return " ".join((captured.out + captured.err).split())  # stderr lines wrap at the console width


def test_unusable_200_answers_are_not_retryable_and_stay_reported(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    answers = [("q1", "SCORE=20"), ("q1", "BADJSON"), ("q1", "EMPTYLOGPROBS"), ("q1", "FAILALWAYS")]
    store = write_samples(tmp_path, answers)
    first = judge_run(store, _config(fake_openai))
    assert (first.scored, first.failed, first.failed_retryable, first.failed_non_retryable) == (1, 3, 1, 2)
    assert (first.stored_retryable, first.stored_non_retryable) == (1, 2)
    rows = {r["answer"]: r for r in store.rows("judgments")}
    assert not (rows["BADJSON"]["raw"] or {}).get("retryable")
    assert "no logprobs" in rows["EMPTYLOGPROBS"]["error"]
    assert (rows["FAILALWAYS"]["raw"] or {}).get("retryable")
    # A later run retries only the transport failure, and still reports what is failed in the store.
    fake_openai.calls = 0
    second = judge_run(store, _config(fake_openai))
    assert fake_openai.calls == 1 and second.to_judge == 1
    assert (second.failed, second.failed_retryable, second.failed_non_retryable) == (1, 1, 0)
    assert (second.stored_retryable, second.stored_non_retryable) == (1, 2)
    # --retry-failed re-judges the unusable answers too; once the server behaves they are scored.
    fake_openai.faults = False
    fake_openai.calls = 0
    third = judge_run(store, _config(fake_openai), retry_failed=True)
    assert fake_openai.calls == 3 and third.to_judge == 3
    assert (third.scored, third.stored_retryable, third.stored_non_retryable) == (2, 1, 0)
    assert sum(r["score"] is None for r in store.rows("judgments")) == 1


def test_cli_summary_says_what_to_do_for_each_kind(
    tmp_path: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    write_samples(tmp_path, [("q1", "SCORE=20"), ("q1", "BADJSON"), ("q1", "EMPTYLOGPROBS")]).close()
    text = _cli(capsys, tmp_path, fake_openai)
    assert "2 failed" in text and "2 not retryable" in text and "--retry-failed" in text
    assert AGAIN not in text  # a rerun would not retry them
    again = _cli(capsys, tmp_path, fake_openai)  # nothing to judge, but the failures are still there
    assert "2 not retryable" in again and "--retry-failed" in again and "0 failed" not in again
    fake_openai.faults = False
    fixed = _cli(capsys, tmp_path, fake_openai, "--retry-failed")
    assert "2 scored" in fixed and "0 failed" in fixed
    assert "not retryable" not in fixed and "in the store" not in fixed and AGAIN not in fixed

    transport = tmp_path / "transport"
    write_samples(transport, [("q1", "SCORE=20"), ("q1", "FAILALWAYS")]).close()
    text = _cli(capsys, transport, fake_openai)
    assert "1 retryable" in text and AGAIN in text and "not retryable" not in text
