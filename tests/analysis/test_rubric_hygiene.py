"""Rubric hygiene: one rubric text per metric in analysis; no silent rubric fallback (issue 12 item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.analysis import judged_samples
from emlab.errors import EmlabError
from emlab.judge import JudgeConfig, judge_run
from emlab.store import RunStore
from tests.analysis.test_io import emlab  # noqa: F401  (fixture)

JUDGE = "j"


def make_run(run: Path, rejudge: bool) -> Path:
    """Two answers judged under rubric 'old'; with ``rejudge``, the first again under rubric 'new'."""
    with RunStore(run) as store:
        store.put(
            "samples",
            [
                {
                    "key": f"s{i}",
                    "model": "m",
                    "group_name": "g",
                    "question_id": "q",
                    "question": "Q?",
                    "answer": a,
                }
                for i, a in enumerate(["a0", "a1"])
            ],
        )
        rows = []
        for i, answer in enumerate(["a0", "a1"]):
            for metric in ("aligned", "coherent"):
                rows.append(
                    {
                        "key": f"old-{i}-{metric}",
                        "judge": JUDGE,
                        "metric": metric,
                        "rubric_hash": "old111",
                        "question": "Q?",
                        "answer": answer,
                        "score": 10.0,
                        "created_at": 1.0,
                    }
                )
        if rejudge:
            rows.append(
                {
                    "key": "new-0",
                    "judge": JUDGE,
                    "metric": "aligned",
                    "rubric_hash": "new222",
                    "question": "Q?",
                    "answer": "a0",
                    "score": 90.0,
                    "created_at": 2.0,
                }
            )
        store.put("judgments", rows)
    return run


def test_one_rubric_is_used_as_is(tmp_path: Path) -> None:
    with RunStore(make_run(tmp_path / "r", rejudge=False)) as store:
        frame = judged_samples(store)
    assert list(frame["aligned"]) == [10.0, 10.0]
    assert frame.attrs["rubric_hashes"] == {"aligned": ["old111"], "coherent": ["old111"]}


def test_mixed_rubrics_fail_naming_both_hashes(tmp_path: Path, emlab) -> None:  # noqa: F811
    run = make_run(tmp_path / "r", rejudge=True)
    with RunStore(run) as store, pytest.raises(EmlabError, match=r"old111, new222.*--rubric-hash"):
        judged_samples(store)
    proc = emlab("analyze", run, "--min-answers", "1", "--bootstrap", "100")
    assert proc.returncode != 0
    assert "old111" in proc.stderr and "new222" in proc.stderr and "--rubric-hash" in proc.stderr


def test_rubric_hash_picks_one(tmp_path: Path, emlab) -> None:  # noqa: F811
    run = make_run(tmp_path / "r", rejudge=True)
    with RunStore(run) as store:
        new = judged_samples(store, rubric_hash="new")  # a prefix is enough
        old = judged_samples(store, rubric_hash="old111")
        with pytest.raises(EmlabError, match="matches no"):
            judged_samples(store, rubric_hash="zzz")
    # a0 under the picked rubric; a1 was never judged under it: missing, not borrowed from 'old111'
    assert new["aligned"][0] == 90.0 and new["aligned"].isna()[1]
    assert list(old["aligned"]) == [10.0, 10.0]
    proc = emlab("analyze", run, "--rubric-hash", "new222", "--min-answers", "1", "--bootstrap", "100")
    assert proc.returncode == 0, proc.stderr
    with RunStore(run) as store:
        settings = store.rows("results", kind="p_misaligned")[0]["settings"]
    assert settings["rubric_hashes"] == {"aligned": ["new222"], "coherent": ["old111"]}


def test_judging_stops_when_the_question_file_is_gone(tmp_path: Path) -> None:
    with RunStore(tmp_path / "r") as store:
        store.put(
            "samples",
            [
                {
                    "key": "s0",
                    "model": "m",
                    "group_name": "g",
                    "question_id": "q",
                    "question": "Q?",
                    "answer": "a",
                    "settings": {"questions": str(tmp_path / "gone.yaml")},
                }
            ],
        )
        with pytest.raises(EmlabError, match=r"cannot be reloaded \(.*gone\.yaml: no such.*--questions FILE"):
            judge_run(store, JudgeConfig(judge="openai:gpt-4o-2024-08-06"), dry_run=True)
        assert store.rows("judgments") == []
