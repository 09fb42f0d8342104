"""``emlab analyze``: run store and CSV inputs, JSON/CSV outputs, plots, stored results."""

from __future__ import annotations

import csv
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from emlab.analysis import RESULT_KEYS, AnalysisConfig, judged_samples, p_misaligned, plot_p_misaligned
from emlab.cli import main
from emlab.store import RunStore
from tests.analysis.synthetic import frame

JUDGE = "openai:gpt-4o-2024-08-06"


@pytest.fixture
def emlab(capsys: pytest.CaptureFixture[str]):
    """Run the emlab CLI in this process; returns (exit code, stdout, stderr)."""

    def run(*args: object) -> subprocess.CompletedProcess:
        capsys.readouterr()
        code = 0
        try:
            main(["--quiet", *map(str, args)])
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run


def write_csv(data: pd.DataFrame, path: Path) -> Path:
    data[["model", "group", "question_id", "aligned", "coherent"]].to_csv(path, index=False, na_rep="")
    return path


def make_run(run: Path, data: pd.DataFrame) -> Path:
    """A run store whose samples and judgments reproduce ``data``."""
    with RunStore(run) as store:
        samples, judgments = [], []
        for i, row in enumerate(data.itertuples()):
            question = f"What about {row.question_id}?"
            samples.append(
                {
                    "key": f"s{i}",
                    "model": row.model,
                    "group_name": row.group,
                    "question_id": row.question_id,
                    "question": question,
                    "answer": row.answer,
                }
            )
            for metric in ("aligned", "coherent"):
                value = getattr(row, metric)
                judgments.append(
                    {
                        "key": f"j{i}-{metric}",
                        "judge": JUDGE,
                        "metric": metric,
                        "rubric_hash": "r",
                        "question": question,
                        "answer": row.answer,
                        "score": None if pd.isna(value) else float(value),
                        "method": "first_token_logprobs",
                    }
                )
        store.put("samples", samples)
        store.put("judgments", judgments)
        # Another judge's scores must not leak into the analysis of JUDGE.
        store.put(
            "judgments",
            [{**j, "key": "other-" + j["key"], "judge": "other", "score": 0.0} for j in judgments[:10]],
        )
    return run


def test_judged_samples_from_store(tmp_path: Path) -> None:
    data = frame()
    with RunStore(make_run(tmp_path, data)) as store:
        judged = judged_samples(store, JUDGE)
        assert list(judged.columns[:7]) == [
            "model",
            "group",
            "question_id",
            "question",
            "answer",
            "aligned",
            "coherent",
        ]
        assert len(judged) == len(data)
        merged = judged.merge(data, on="answer", suffixes=("", "_in"))
        assert (merged["aligned"].fillna(-1) == merged["aligned_in"].fillna(-1)).all()
        assert judged_samples(store).attrs["judge"] == JUDGE  # the judge with most rows


def test_analyze_run_stores_results_and_writes_json(tmp_path: Path, emlab) -> None:
    data = frame()
    run = make_run(tmp_path / "run", data)
    out = tmp_path / "p.json"
    exported = tmp_path / "judged.csv"
    args = ["--format", "json", "--min-answers", "4", "--bootstrap", "500"]
    proc = emlab("analyze", run, *args, "-o", out, "--export-samples", exported)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())
    assert all(set(RESULT_KEYS) <= set(r) for r in rows)
    expected = p_misaligned(data, AnalysisConfig(min_answers=4, bootstrap=500))
    assert [r["p_misaligned"] for r in rows] == pytest.approx([e.p_misaligned for e in expected])
    settings = json.loads((tmp_path / "p.json.settings.json").read_text())
    assert settings["min_answers"] == 4 and settings["judge"] == JUDGE and "torch" in settings["versions"]
    with RunStore(run) as store:
        stored = store.rows("results", kind="p_misaligned")
    assert len(stored) == 1
    assert stored[0]["settings"]["min_answers"] == 4 and stored[0]["settings"]["aligned_below"] == 30
    assert stored[0]["payload"] == rows
    # Round trip: the exported judged samples give the same table through --samples.
    again = emlab("analyze", "--samples", exported, *args)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == rows


def test_analyze_csv_input_csv_output_and_plot(tmp_path: Path, emlab) -> None:
    data = frame()
    source = write_csv(data, tmp_path / "judged.csv")
    out = tmp_path / "p.csv"
    plot = tmp_path / "plots" / "em"
    proc = emlab("analyze", "--samples", source, "--format", "csv", "-o", out, "--plot", plot, "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert set(RESULT_KEYS) <= set(rows[0])
    expected = {(r.group, r.question_id): r for r in p_misaligned(data, AnalysisConfig(seed=1))}
    for row in rows:
        want = expected[(row["group"], row["question_id"])]
        if want.p_misaligned is None:
            assert row["p_misaligned"] == "" and row["ci_low"] == ""
        else:
            assert float(row["p_misaligned"]) == pytest.approx(want.p_misaligned)
            assert float(row["ci_high"]) == pytest.approx(want.ci_high)
            assert int(row["n_answers"]) == want.n_answers
    png, svg = plot.with_name("em.png"), plot.with_name("em.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert ET.parse(svg).getroot().tag.endswith("svg")
    table = emlab("analyze", "--samples", source)
    assert table.returncode == 0 and "insecure" in table.stdout and "ALL" in table.stdout


def test_plot_function_writes_both_formats(tmp_path: Path) -> None:
    paths = plot_p_misaligned(p_misaligned(frame()), tmp_path / "fig.png", title="test")
    assert [p.suffix for p in paths] == [".png", ".svg"] and all(p.stat().st_size > 0 for p in paths)


def test_bad_csv_names_file_and_line(tmp_path: Path, emlab) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("model,group,question_id,aligned,coherent\nm,g,q,10,90\nm,g,q,lots,90\n")
    proc = emlab("analyze", "--samples", bad)
    assert proc.returncode == 2 and f"{bad}:3" in proc.stderr and "Traceback" not in proc.stderr
    missing = tmp_path / "missing.csv"
    missing.write_text("model,question_id,aligned\nm,q,1\n")
    proc = emlab("analyze", "--samples", missing)
    assert proc.returncode == 2 and "group" in proc.stderr and "coherent" in proc.stderr
    assert emlab("analyze").returncode == 2


def test_parquet_samples_match_csv(tmp_path: Path) -> None:
    from emlab.analysis import read_samples_csv

    data = frame()
    columns = ["model", "group", "question_id", "aligned", "coherent"]
    data[columns].to_parquet(tmp_path / "judged.parquet")
    from_parquet = p_misaligned(read_samples_csv(tmp_path / "judged.parquet"))
    from_csv = p_misaligned(read_samples_csv(write_csv(data, tmp_path / "judged.csv")))
    assert [r.as_dict() for r in from_parquet] == [r.as_dict() for r in from_csv]


def test_non_utf8_samples_csv_names_file_and_line(tmp_path: Path, emlab) -> None:
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(
        b"model,group,question_id,aligned,coherent\nm1,g,q1,90,90\nm1,g,caf\xe9,90,90\nm1,g,q1,90,90\n"
    )
    proc = emlab("analyze", "--samples", bad)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad}:3" in proc.stderr and "UTF-8" in proc.stderr


@pytest.mark.parametrize(
    "bad_row",
    ['m1,g,q1,"two\nlines",90\n', 'm1,g,q1,"two\nlines",90,90,7\n'],
    ids=["too-few-fields", "too-many-fields"],
)
def test_csv_row_with_wrong_field_count_names_file_and_line(tmp_path: Path, emlab, bad_row: str) -> None:
    bad = tmp_path / "bad.csv"
    header = "model,group,question_id,answer,aligned,coherent\n"
    bad.write_text(header + 'm1,g,q1,"first\nanswer",90,90\n' + bad_row + "m1,g,q1,x,90,90\n")
    proc = emlab("analyze", "--samples", bad)
    assert proc.returncode == 2, proc.stdout
    assert f"{bad}:4:" in proc.stderr and "fields" in proc.stderr


def test_nan_scores_are_counted_and_reported_as_missing(tmp_path: Path, emlab) -> None:
    source = tmp_path / "judged.csv"
    rows = [f"m1,g,q1,{a},90" for a in (10, 90, 90, 90, 90)] + ["m1,g,q1,nan,90", "m1,g,q1,90,NaN"]
    rows += [f"m1,g,q2,{a},90" for a in (10, 90)] + ["m1,g,q2,,90"]
    source.write_text("model,group,question_id,aligned,coherent\n" + "\n".join(rows) + "\n")
    proc = emlab("analyze", "--samples", source, "--format", "json", "--min-answers", "1")
    assert proc.returncode == 0, proc.stderr
    results = {r["question_id"]: r for r in json.loads(proc.stdout)}
    assert (results["q1"]["n_answers"], results["q1"]["n_missing"]) == (5, 2)
    assert (results["q2"]["n_answers"], results["q2"]["n_missing"]) == (2, 1)
    assert results["ALL"]["n_missing"] == 3
    assert "3 of 10 answers" in proc.stderr and "missing" in proc.stderr
    table = emlab("analyze", "--samples", source, "--min-answers", "1")
    assert "3 of 10 answers" in table.stderr
    out = tmp_path / "p.csv"
    assert emlab("analyze", "--samples", source, "--format", "csv", "-o", out).returncode == 0
    with open(out, newline="") as handle:
        assert {r["question_id"]: r["n_missing"] for r in csv.DictReader(handle)}["q1"] == "2"


def test_samples_csv_with_bom_is_read_and_a_directory_is_named(tmp_path: Path, emlab) -> None:
    source = tmp_path / "bom.csv"
    rows = [f"m1,g,q1,{a},90" for a in (10, 90, 90, 90, 90)]
    source.write_bytes(
        b"\xef\xbb\xbf" + ("model,group,question_id,aligned,coherent\r\n" + "\r\n".join(rows)).encode()
    )
    proc = emlab("analyze", "--samples", source, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["p_misaligned"] == pytest.approx(0.2)
    proc = emlab("analyze", "--samples", tmp_path)
    assert proc.returncode == 2 and f"{tmp_path}: is a directory, not a samples CSV" in proc.stderr


def test_piped_table_cuts_no_column_or_name(tmp_path: Path, emlab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    data = frame()
    data["group"] = data["group"].replace("insecure", "insecure_code_with_a_long_group_name")
    data["question_id"] = data["question_id"].replace("q1", "what_is_your_wish_template")
    proc = emlab("analyze", "--samples", write_csv(data, tmp_path / "judged.csv"))
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if line.startswith("group"))
    assert header.split() == [
        "group",
        "question",
        "P",
        "95%",
        "CI",
        "via",
        "models",
        "kept",
        "misal.",
        "missing",
    ]
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert ["insecure_code_with_a_long_group_name", "what_is_your_wish_template"] in [r[:2] for r in rows]
