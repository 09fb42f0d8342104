"""Write P(misaligned) results: JSON, CSV, a terminal table, and the run store."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.analysis._metrics import RESULT_KEYS, CellResult, is_overall
from emlab.analysis.config import AnalysisConfig
from emlab.provenance import package_versions
from emlab.store import RunStore

RESULT_KIND = "p_misaligned"
CSV_COLUMNS = (*RESULT_KEYS, "n_misaligned", "ci_method", "n_missing")


def result_settings(config: AnalysisConfig, judge: str | None, source: str) -> dict[str, Any]:
    """Everything that made a result: thresholds, judge, input and package versions."""
    return {**config.model_dump(), "judge": judge, "source": source, "versions": package_versions()}


def write_json(results: Sequence[CellResult], path: str | Path, settings: dict[str, Any]) -> list[Path]:
    """A JSON list of result objects, plus ``PATH.settings.json`` with the settings and provenance."""
    path = Path(path)
    path.write_text(json.dumps([r.as_dict() for r in results], indent=2) + "\n", encoding="utf-8")
    return [path, _sidecar(path, settings)]


def write_csv(results: Sequence[CellResult], path: str | Path, settings: dict[str, Any]) -> list[Path]:
    """A CSV with one row per result (empty cells for None), plus the settings sidecar."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for result in results:
            writer.writerow({k: ("" if v is None else v) for k, v in result.as_dict().items()})
    return [path, _sidecar(path, settings)]


def _sidecar(path: Path, settings: dict[str, Any]) -> Path:
    sidecar = path.with_name(path.name + ".settings.json")
    sidecar.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return sidecar


def store_results(store: RunStore, results: Sequence[CellResult], settings: dict[str, Any]) -> str:
    """Save the results in the run's ``results`` table (kind ``p_misaligned``); returns the key."""
    return store.put_settled_result(RESULT_KIND, [r.as_dict() for r in results], settings)


def results_table(
    results: Sequence[CellResult], title: str = "P(misaligned)", confidence: float = 0.95
) -> Any:
    """A rich table of the results: at 80 columns names fold, nothing is cut (see ``print_table``)."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1), pad_edge=False, show_edge=False)
    # Names fold (never cut) when the terminal is narrow; the numbers never wrap.
    table.add_column("group", overflow="fold")
    table.add_column("question", overflow="fold")
    show_missing = any(r.n_missing for r in results)
    for name in ("P", f"{confidence:.0%} CI", "via", "models", "kept", "misal.", "missing")[
        : 7 if show_missing else 6
    ]:
        table.add_column(name, justify="right", no_wrap=True)
    for r in results:
        p = "—" if r.p_misaligned is None else f"{r.p_misaligned:.3f}"
        ci = "—" if r.ci_low is None else f"{r.ci_low:.3f}–{r.ci_high:.3f}"
        style = "bold" if is_overall(r.question_id) else None
        table.add_row(
            r.group,
            r.question_id,
            p,
            ci,
            r.ci_method,
            str(r.n_models),
            str(r.n_answers),
            str(r.n_misaligned),
            *([str(r.n_missing)] if show_missing else []),
            style=style,
        )
    return table
