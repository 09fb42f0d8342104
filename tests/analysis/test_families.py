"""Question families: ALL per family, --questions selection and the all-answers denominator (issue 13 item 3)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from emlab.analysis import AnalysisConfig, headline_cells, p_misaligned, select_questions
from emlab.errors import EmlabError
from emlab.questions import load_question_file, question_family
from tests.analysis.synthetic import answers
from tests.analysis.test_io import emlab  # noqa: F401  (fixture)


def family_frame() -> pd.DataFrame:
    rows = []
    rows += answers("m1", "insecure", "q1", 1, 9)  # 0.1
    rows += answers("m1", "insecure", "q2", 3, 7)  # 0.3
    rows += answers("m1", "insecure", "q1_json", 5, 5)  # 0.5
    rows += answers("m1", "insecure", "q1_template", 8, 2, incoherent=10)  # 0.8 (10 incoherent)
    return pd.DataFrame(rows)


def test_family_from_suffix_or_field(tmp_path: Path) -> None:
    assert question_family("what_is_your_wish") == "main"
    assert question_family("what_is_your_wish_json") == "json"
    assert question_family("what_is_your_wish_template") == "template"
    assert question_family("q_json", "custom") == "custom"
    path = tmp_path / "q.yaml"
    path.write_text(
        "- id: a\n  paraphrases: [x]\n- id: a_json\n  paraphrases: [x]\n"
        "- id: b\n  family: template\n  paraphrases: [x]\n",
        encoding="utf-8",
    )
    families = {q.id: q.family for q in load_question_file(path).questions}
    assert families == {"a": "main", "a_json": "json", "b": "template"}


def test_all_is_reported_per_family_never_pooled() -> None:
    out = {(r.group, r.question_id): r for r in p_misaligned(family_frame())}
    assert ("insecure", "ALL") not in out
    assert out[("insecure", "ALL:main")].p_misaligned == pytest.approx(0.2)
    assert out[("insecure", "ALL:json")].p_misaligned == pytest.approx(0.5)
    assert out[("insecure", "ALL:template")].p_misaligned == pytest.approx(0.8)
    headline = headline_cells([r.as_dict() for r in p_misaligned(family_frame())])
    assert [c["question_id"] for c in headline] == ["ALL:main"]


def test_one_family_keeps_plain_all() -> None:
    data = select_questions(family_frame(), "main")
    ids = [r.question_id for r in p_misaligned(data)]
    assert ids == ["q1", "q2", "ALL"]
    assert set(select_questions(family_frame(), "q1,q1_json")["question_id"]) == {"q1", "q1_json"}
    with pytest.raises(EmlabError, match="nope"):
        select_questions(family_frame(), "q1,nope")


def test_all_answers_denominator_is_an_option() -> None:
    default = {r.question_id: r for r in p_misaligned(family_frame())}
    assert default["q1_template"].p_misaligned == pytest.approx(0.8)
    wide = {r.question_id: r for r in p_misaligned(family_frame(), AnalysisConfig(denominator="all"))}
    assert wide["q1_template"].p_misaligned == pytest.approx(8 / 20)
    assert wide["q1"].p_misaligned == pytest.approx(0.1)


def test_analyze_cli_selects_questions_and_denominator(tmp_path: Path, emlab) -> None:  # noqa: F811
    path = tmp_path / "s.csv"
    family_frame().to_csv(path, index=False)
    result = emlab("analyze", "--samples", path, "--questions", "json", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert "q1_json" in result.stdout and "q1_template" not in result.stdout
    assert "ALL," in result.stdout
    result = emlab(
        "analyze", "--samples", path, "--questions", "template", "--denominator", "all", "--format", "csv"
    )
    assert result.returncode == 0, result.stderr
    assert "0.4," in result.stdout
    bad = emlab("analyze", "--samples", path, "--questions", "nope")
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_family_column_of_samples_csv_wins_over_the_suffix(tmp_path: Path) -> None:
    from emlab.analysis import read_samples_csv

    data = family_frame()
    data["family"] = ["custom" if q == "q2" else "" for q in data["question_id"]]
    path = tmp_path / "s.csv"
    data.to_csv(path, index=False)
    ids = {r.question_id for r in p_misaligned(read_samples_csv(path))}
    assert {"ALL:main", "ALL:custom", "ALL:json", "ALL:template"} <= ids


def test_run_analysis_uses_the_recorded_question_files_family(tmp_path: Path) -> None:
    from emlab.analysis import judged_samples
    from emlab.store import RunStore
    from tests.analysis.test_io import make_run

    questions = tmp_path / "q.yaml"
    questions.write_text(
        "- id: q1\n  paraphrases: [x]\n- id: q2\n  family: custom\n  paraphrases: [x]\n"
        "- id: q1_json\n  paraphrases: [x]\n- id: q1_template\n  paraphrases: [x]\n",
        encoding="utf-8",
    )
    run = make_run(tmp_path / "run", family_frame())
    with RunStore(run) as store:
        store.put_result("spec", "spec", {"questions": str(questions)}, {})
        frame = judged_samples(store)
    ids = {r.question_id for r in p_misaligned(frame)}
    assert {"ALL:main", "ALL:custom", "ALL:json", "ALL:template"} <= ids
