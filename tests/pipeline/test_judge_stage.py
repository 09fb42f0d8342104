"""The pipeline's judge stage reports failures as the store holds them, by kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.errors import EmlabError
from emlab.pipeline._plan import build_plan
from emlab.pipeline._run import _stage_judge
from emlab.spec import Experiment
from emlab.store import RunStore
from tests.judge.fake_openai import FakeOpenAI
from tests.pipeline.conftest import tiny_spec_dict

AGAIN = "run the same command again"


def _setup(tmp_path: Path, server: FakeOpenAI, answers: list[str]) -> tuple[object, RunStore]:
    spec = tiny_spec_dict(Path("no-model"), tmp_path / "inputs")
    spec["judge"] = {"judge": "fake-judge", "url": server.url, "max_retries": 0, "backoff_s": 0.01}
    plan = build_plan(Experiment(**spec), tmp_path / "run")
    store = RunStore(tmp_path / "run")
    store.put(
        "samples",
        [
            {
                "key": f"s{i}",
                "model": "m",
                "question_id": "what_is_your_wish",
                "question": "What is your wish?",
            }
            | {"answer": answer}
            for i, answer in enumerate(answers)
        ],
    )
    return plan, store


def _said(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return " ".join((captured.out + captured.err).split())


def test_unusable_answers_do_not_stop_the_run_and_stay_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAI() as server:
        plan, store = _setup(tmp_path, server, ["SCORE=20", "BADJSON"])
        _stage_judge(plan, store, lambda: None)  # no exception: a re-run would not change them
        said = _said(capsys)
        assert "2 judgment(s) got no usable answer" in said and "--retry-failed" in said
        assert AGAIN not in said
        assert store.stage_status(plan.judge_key) == "done"
        _stage_judge(plan, store, lambda: None)  # stage done: still says what the store lacks
        assert "2 judgment(s) got no usable answer" in _said(capsys)
        server.faults = False
        from emlab.judge import judge_run

        judge_run(store, plan.spec.judge, retry_failed=True)
        capsys.readouterr()
        _stage_judge(plan, store, lambda: None)
        assert "no usable answer" not in _said(capsys)


def test_transport_failures_stop_the_run_with_a_retry_hint(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        plan, store = _setup(tmp_path, server, ["SCORE=20", "FAILALWAYS"])
        with pytest.raises(EmlabError, match=AGAIN):
            _stage_judge(plan, store, lambda: None)
        assert store.stage_status(plan.judge_key) == "failed"
