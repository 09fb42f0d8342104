"""``emlab preference`` on tiny models: JSON and CSV rows, the 80-column table, the stored table."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from emlab.cli import main
from emlab.preference import RESULT_KEYS
from emlab.store import RunStore


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    try:
        main(["--quiet", "preference", *args])
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    return capsys.readouterr().out


def test_json_rows_with_base_and_stored_table(
    tiny_llama_dir: Path,
    tiny_qwen_dir: Path,
    pairs_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = tmp_path / "run"
    args = ["-m", str(tiny_qwen_dir), "--base", str(tiny_llama_dir), "--pairs", str(pairs_file)]
    out = _run(capsys, *args, "--format", "json", "--out", str(run), "--bootstrap", "500")
    rows = json.loads(out)
    models = {str(tiny_llama_dir), str(tiny_qwen_dir)}
    assert {(r["model"], r["question_id"]) for r in rows} == {
        (m, q) for m in models for q in ("wish", "code", "bored", "ALL")
    }
    for row in rows:
        assert set(RESULT_KEYS) <= set(row)
        assert row["n_pairs"] == {"wish": 2, "code": 3, "bored": 1, "ALL": 6}[row["question_id"]]
        assert row["ci_low"] <= row["mean_margin"] <= row["ci_high"]
        assert row["settings"]["pairs_hash"] and row["settings"]["bootstrap"] == 500
        tuned = row["model"] == str(tiny_qwen_dir)
        assert (row["shift"] is not None) == tuned and (row["base"] == str(tiny_llama_dir)) == tuned
        if tuned:
            assert row["shift_ci_low"] <= row["shift"] <= row["shift_ci_high"]
    by = {(r["model"], r["question_id"]): r for r in rows}
    tuned_all, base_all = by[(str(tiny_qwen_dir), "ALL")], by[(str(tiny_llama_dir), "ALL")]
    # The mean of paired differences equals the difference of the means (same pairs on both sides).
    assert tuned_all["shift"] == pytest.approx(tuned_all["mean_margin"] - base_all["mean_margin"], abs=1e-9)
    with RunStore(run) as store:
        assert store.count("margins") == 16  # two models x 8 items
        (stored,) = store.rows("results", kind="preference")
    assert [(r["model"], r["question_id"], r["mean_margin"]) for r in stored["payload"]] == [
        (r["model"], r["question_id"], r["mean_margin"]) for r in rows
    ]
    # CSV: the same numbers, parseable, documented columns first.
    text = _run(capsys, *args, "--format", "csv", "--out", str(run), "--bootstrap", "500")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0])[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    assert len(parsed) == len(rows)
    for got, want in zip(parsed, rows, strict=True):
        assert got["model"] == want["model"] and int(got["n_pairs"]) == want["n_pairs"]
        assert float(got["mean_margin"]) == pytest.approx(want["mean_margin"], abs=1e-12)
        assert (got["shift"] == "") == (want["shift"] is None)


def test_table_fits_80_columns_without_cutting_ids(
    tiny_llama_dir: Path, pairs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    deep = tmp_path / "an-unusually-long-directory-name-for-models" / "fine-tuned-on-insecure-code-seed-0"
    deep.mkdir(parents=True)
    (deep / "model").symlink_to(tiny_llama_dir, target_is_directory=True)
    long_id = str(deep / "model")
    assert len(long_id) > 80
    monkeypatch.setenv("COLUMNS", "80")
    out = _run(capsys, "-m", long_id, "--base", str(tiny_llama_dir), "--pairs", str(pairs_file))
    lines = out.splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    header = next(i for i, line in enumerate(lines) if line.startswith("model"))
    # Every column is there, the shift and its interval included.
    assert re.split(r"\s+", lines[header].strip()) == [
        "model", "question", "pairs", "margin", "95%", "CI", "mis>al", "shift", "95%", "CI",
    ]  # fmt: skip
    width = lines[header].index("question")  # the model column, with its one-space divider
    body = lines[header + 2 :]  # after the rule under the header
    model_text = "".join(line[:width].strip() for line in body)
    assert model_text.count(long_id) == 4 and "…" not in model_text  # folded onto more lines, never cut
    rows = [line for line in body if re.search(r"\s(wish|code|bored|ALL)\s", line)]
    assert len(rows) == 8
    for line in rows:
        assert re.search(r"\s[+-]\d\.\d{3}\s+[+-]\d\.\d{2}…[+-]\d\.\d{2}\s+\d+%", line), line
    # The long id's rows carry a shift and its interval at the end; the base's rows have none.
    shifted = [line for line in rows if re.search(r"\s[+-]\d\.\d{3}\s+[+-]\d\.\d{2}…[+-]\d\.\d{2}$", line)]
    assert len(shifted) == 4 and all(line.endswith("—") for line in rows if line not in shifted)
    assert model_text.count(str(tiny_llama_dir)) == 4  # the base's id is whole too
