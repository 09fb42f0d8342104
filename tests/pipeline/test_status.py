"""``emlab status`` and ``--only`` on a run whose progress rows are written directly (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from emlab.cli import app
from emlab.errors import EmlabError
from emlab.pipeline import build_plan, demo_spec, run_experiment, run_status
from emlab.store import RunStore

JUDGE = "openai:gpt-4o-2024-08-06"


def _run_with_progress(run: Path) -> None:
    spec = demo_spec(JUDGE)  # with a judge, so the run also samples and judges
    summary = run_experiment(spec, run, only="report")  # records the spec, writes an (empty) report
    assert summary.report is not None and summary.report.is_file()
    plan = build_plan(spec, run)
    with RunStore(run) as store:
        for unit in plan.data:
            store.set_stage(unit.key, "data", "done", settings_hash=unit.settings_hash)
        store.set_stage(plan.train[0].key, "train", "done", settings_hash=plan.train[0].settings_hash)
        store.set_stage(plan.train[1].key, "train", "running", settings_hash=plan.train[1].settings_hash)
        store.put(
            "samples",
            [
                {
                    "key": f"s{i}",
                    "model": "smollm2/base",
                    "group_name": "base",
                    "question_id": "q",
                    "question": "Q?",
                    "answer": f"A{i}",
                }
                for i in range(5)
            ],
        )
        store.put(
            "judgments",
            [
                {
                    "key": "j0",
                    "judge": JUDGE,
                    "metric": "aligned",
                    "rubric_hash": "h",
                    "question": "Q?",
                    "answer": "A0",
                    "score": 90.0,
                }
            ],
        )


def test_status_counts_units_answers_and_judgments(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _run_with_progress(run)
    rows = {row.stage: row for row in run_status(run)}
    assert (rows["data"].done, rows["data"].total) == (5, 5) and rows["data"].complete
    assert (rows["train"].done, rows["train"].total, rows["train"].running) == (1, 5, 1)
    assert (rows["generate"].done, rows["generate"].total) == (0, 6)
    assert (rows["preference"].done, rows["preference"].total) == (0, 6)
    assert rows["generate"].detail.startswith("5/")
    assert rows["judge"].detail.startswith("1/10 judgments")
    assert rows["report"].complete

    result = CliRunner().invoke(app, ["status", str(run)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "5/5" in lines["data"] and "complete" in lines["data"]
    assert "1/5" in lines["train"] and "running" in lines["train"]
    assert "0/6" in lines["generate"]


def test_status_of_a_non_run_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match="not an emlab run directory"):
        run_status(tmp_path)


def test_only_checks_its_inputs(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match="unknown stage 'training'"):
        run_experiment(demo_spec(), tmp_path / "r", only="training")
    with pytest.raises(
        EmlabError, match=r"train:smollm2:insecure:s0: its dataset \(data:insecure\) is not made yet"
    ):
        run_experiment(demo_spec(), tmp_path / "r", only="train")


def test_changed_settings_of_a_finished_unit_are_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _run_with_progress(run)
    other = demo_spec().model_copy(
        update={"train": demo_spec().train.model_copy(update={"learning_rate": 1.0})}
    )
    plan = build_plan(other, run)
    with RunStore(run) as store, pytest.raises(EmlabError, match="other settings"):
        from emlab.pipeline._run import _done

        _done(store, plan.train[0].key, plan.train[0].settings_hash)


def test_data_stage_generates_once(tmp_path: Path) -> None:
    from emlab.data import read_chat_jsonl

    spec = demo_spec(n=8)
    run = tmp_path / "run"
    first = run_experiment(spec, run, only="data")
    files = sorted((run / "data").glob("*.jsonl"))
    assert [f.name for f in files] == [
        "insecure.jsonl",
        "persona-misaligned.jsonl",
        "risky-advice.jsonl",
        "safe-advice.jsonl",
        "secure.jsonl",
    ]
    assert all(len(read_chat_jsonl(f)) == 8 for f in files)
    mtimes = [f.stat().st_mtime_ns for f in files]
    assert "data" in first.stage_seconds
    run_experiment(spec, run, only="data")
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    assert {row.stage: row for row in run_status(run)}["data"].complete


def test_cli_run_with_a_bad_spec_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emlab.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nconditions:\n  - {name: a, generate: insecure, n: 0}\n")
    with pytest.raises(SystemExit) as info:
        main(["run", str(bad), "--out", str(tmp_path / "r")])
    assert info.value.code == 2
    assert f"{bad}: conditions.0.n: Input should be greater than or equal to 1" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
