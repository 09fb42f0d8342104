"""Preference tables for people (rich, 80 columns, ids never cut) and for programs (JSON, CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from emlab.preference._summary import RESULT_KEYS, PreferenceCell

CSV_COLUMNS = (*RESULT_KEYS, "p_choice", "n_models", "base", "form", "failed")


def _fmt(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _ci(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{low:+.2f}…{high:+.2f}"


def preference_rich_table(
    cells: Sequence[PreferenceCell], title: str, confidence: float = 0.95, only_all: bool = False
) -> Any:
    """A rich table: margin and CI, share preferring the misaligned answer, shift vs base and CI."""
    from rich import box
    from rich.table import Table

    shown = [c for c in cells if c.question_id == "ALL"] if only_all else list(cells)
    with_shift = any(c.shift is not None for c in shown)
    # No cell padding: the box's one-space column divider is the gap, so that all eight columns fit
    # in 80; long model ids and question ids fold onto more lines (never cut).
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=0, pad_edge=False, show_edge=False)
    for name, values in (("model", [c.model for c in shown]), ("question", [c.question_id for c in shown])):
        if name == "question" and only_all:
            continue
        table.add_column(name, overflow="fold", min_width=min(12, max([len(name), *map(len, values)])))
    table.add_column("pairs", justify="right", no_wrap=True)
    table.add_column("margin", justify="right", no_wrap=True)
    table.add_column(f"{confidence:.0%} CI", justify="right", no_wrap=True)
    table.add_column("mis>al", justify="right", no_wrap=True)
    if with_shift:
        table.add_column("shift", justify="right", no_wrap=True)
        table.add_column(f"{confidence:.0%} CI ", justify="right", no_wrap=True)
    for c in shown:
        row = [c.model] + ([] if only_all else [c.question_id])
        row += [
            str(c.n_pairs),
            _fmt(c.mean_margin),
            _ci(c.ci_low, c.ci_high),
            "—" if c.p_misaligned_preferred is None else f"{c.p_misaligned_preferred:.0%}",
        ]
        if with_shift:
            row += [_fmt(c.shift), _ci(c.shift_ci_low, c.shift_ci_high)]
        table.add_row(*row, style="bold" if c.question_id == "ALL" and not only_all else None)
    return table


def cells_json(cells: Sequence[PreferenceCell], settings: dict[str, Any] | None = None) -> str:
    """The cells as a JSON list (each row carries the settings that made it under ``settings``)."""
    rows = [c.as_dict() | ({"settings": settings} if settings is not None else {}) for c in cells]
    return json.dumps(rows, indent=2, default=str)


def cells_csv(cells: Sequence[PreferenceCell]) -> str:
    """The cells as CSV text (empty fields for None)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for c in cells:
        writer.writerow({k: ("" if v is None else v) for k, v in c.as_dict().items()})
    return buffer.getvalue()
