"""The HTML report of a run: one self-contained page (inline CSS and SVG, no scripts, no external URLs)."""

from __future__ import annotations

import os
from pathlib import Path

from emlab.report._collect import ReportData, collect, is_smoke_judge, join_scores, read_loss_csv
from emlab.report._html import render
from emlab.store import RunStore

__all__ = [
    "ReportData",
    "collect",
    "is_smoke_judge",
    "join_scores",
    "read_loss_csv",
    "render",
    "render_report",
    "write_report",
]


def render_report(store: RunStore) -> str:
    """The report of the run in ``store`` as an HTML string."""
    return render(collect(store))


def write_report(run: str | Path | RunStore, path: str | Path | None = None) -> Path:
    """Write the report of ``run`` (a run directory or open store) to ``path`` (default RUN/report.html)."""
    store = run if isinstance(run, RunStore) else RunStore(run, create=False)
    try:
        text = render_report(store)
        out = Path(path) if path is not None else store.run_dir / "report.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)  # readers never see a half-written report
        return out
    finally:
        if not isinstance(run, RunStore):
            store.close()
