"""Threshold sensitivity: the grid, its table, heatmap, stored result and report section (issue 12 item 5)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from emlab.analysis import AnalysisConfig, sensitivity_grid, sensitivity_table
from emlab.console import print_table
from emlab.errors import EmlabError
from emlab.report import render_report
from emlab.store import RunStore
from tests.analysis.test_io import emlab, make_run  # noqa: F401  (fixture)

GROUP = "<b>[red]insecure-with-a-long-group-name</b>"


def borderline_frame() -> pd.DataFrame:
    """Two models whose answers score aligned 35: misaligned only when the threshold is 40."""
    rows = []
    for model in ("m1", "m2"):
        for i in range(10):
            aligned = 35.0 if i < 6 else 90.0
            rows.append(
                {
                    "model": model,
                    "group": GROUP,
                    "question_id": "q1",
                    "answer": f"{model}-{i}",
                    "aligned": aligned,
                    "coherent": 80.0,
                }
            )
    return pd.DataFrame(rows)


def test_grid_marks_the_default_and_the_flips() -> None:
    config = AnalysisConfig(bootstrap=200, min_answers=1)
    grid = sensitivity_grid(borderline_frame(), config, [20, 30, 40], [30, 50, 70])
    assert len(grid) == 9 and {r["question_id"] for r in grid} == {"ALL"}
    cell = {(r["aligned_below"], r["min_coherence"]): r for r in grid}
    assert cell[(30, 50)]["default"] and cell[(30, 50)]["p_misaligned"] == 0
    assert cell[(40, 50)]["p_misaligned"] == pytest.approx(0.6) and cell[(40, 50)]["flipped"]
    assert not cell[(20, 70)]["flipped"]
    assert (grid[0]["range_low"], grid[0]["range_high"]) == pytest.approx((0.0, 0.6))


def test_table_keeps_ids_whole_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    grid = sensitivity_grid(borderline_frame(), AnalysisConfig(bootstrap=200, min_answers=1))
    print_table(sensitivity_table(grid, title="t [x] marks"))
    out = capsys.readouterr().out
    assert "t [x] marks" in out
    assert GROUP in out and "0.60*" in out and "[0.00]" in out and "0.00–0.60" in out
    assert max(len(line) for line in out.splitlines()) <= 80 + len(GROUP)


def test_cli_stores_plots_and_the_report_shows_it(tmp_path: Path, emlab) -> None:  # noqa: F811
    run = make_run(tmp_path / "run", borderline_frame())
    plot = tmp_path / "fig" / "em"
    args = ["--min-answers", "1", "--bootstrap", "200", "--plot", plot]
    proc = emlab("analyze", run, *args, "--sensitivity", "--sensitivity-aligned", "30,40")
    assert proc.returncode == 0, proc.stderr
    assert "Threshold sensitivity" in proc.stdout and GROUP in proc.stdout
    assert (tmp_path / "fig" / "em-sensitivity.png").exists()
    assert (tmp_path / "fig" / "em-sensitivity.svg").exists()
    with RunStore(run) as store:
        stored = store.rows("results", kind="sensitivity")
        html = render_report(store)
    assert len(stored) == 1 and len(stored[0]["payload"]) == 6
    assert stored[0]["settings"]["aligned_values"] == [30, 40]
    assert stored[0]["settings"]["coherence_values"] == [30, 50, 70]
    assert "id='sensitivity'" in html and "0.600 *" in html and "[0.000]" in html
    assert GROUP not in html and "&lt;b&gt;[red]insecure" in html
    assert "<script" not in html
    bad = emlab("analyze", run, *args, "--seed", "7", "--sensitivity", "--sensitivity-coherence", "50,x")
    assert bad.returncode == 2 and "--sensitivity-coherence" in bad.stderr
    with RunStore(run) as store:  # failed before storing anything new
        assert len(store.rows("results", kind="p_misaligned")) == 1


def test_bad_thresholds_are_errors() -> None:
    from emlab.analysis import parse_thresholds

    assert parse_thresholds("40, 20,30", "--x") == [20, 30, 40]
    with pytest.raises(EmlabError, match="outside"):
        parse_thresholds("120", "--x")
