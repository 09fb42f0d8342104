"""The audit report: one JSON file (every number and setting) and one self-contained HTML page."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.pass{color:#176f2c}.fail{color:#b00020}.inconclusive{color:#a15c00}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;margin:.2rem 0}
details{margin:.5rem 0}
"""


def write_json(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` as indented JSON (numbers and settings of a report)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str, ensure_ascii=False) + "\n")
    return path


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """An HTML table of ``rows``; every cell is escaped."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_examples(title: str, examples: Sequence[Mapping[str, Any]]) -> str:
    """Collapsible question/answer pairs; model output is escaped, never trusted as markup."""
    parts = [f"<details><summary>{html.escape(title)} ({len(examples)})</summary>"]
    for ex in examples:
        scores = ", ".join(f"{k}={_cell(ex.get(k))}" for k in ("aligned", "coherent") if k in ex)
        parts.append(
            f"<p><b>{html.escape(str(ex.get('question_id', '')))}</b> {scores}</p>"
            f"<pre>{html.escape(str(ex.get('question', '')))}</pre>"
            f"<pre>{html.escape(str(ex.get('answer', '')))}</pre>"
        )
    parts.append("</details>")
    return "".join(parts)


def write_html(
    path: str | Path, title: str, verdict: str | None, sections: Sequence[tuple[str, str]]
) -> Path:
    """A self-contained HTML page: a title, an optional verdict banner, and (heading, html) sections."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    banner = ""
    if verdict is not None:
        banner = f'<h2 class="{html.escape(verdict)}">verdict: {html.escape(verdict.upper())}</h2>'
    body = "".join(f"<h3>{html.escape(head)}</h3>{content}" for head, content in sections)
    page = (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{banner}{body}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path


def settings_html(settings: Mapping[str, Any]) -> str:
    """Settings as escaped, indented JSON."""
    return f"<pre>{html.escape(json.dumps(settings, indent=2, default=str, ensure_ascii=False))}</pre>"
