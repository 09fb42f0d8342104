"""Threshold sensitivity: P(misaligned) of the overall rows over a grid of aligned / coherence thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.analysis._metrics import is_overall, p_misaligned
from emlab.analysis.config import AnalysisConfig
from emlab.errors import EmlabError

SENSITIVITY_KIND = "sensitivity"
DEFAULT_ALIGNED = (20.0, 30.0, 40.0)
DEFAULT_COHERENCE = (30.0, 50.0, 70.0)


def parse_thresholds(text: str, option: str) -> list[float]:
    """Comma-separated thresholds in [0, 100], e.g. ``20,30,40``."""
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise EmlabError(f"{option}: {part!r} is not a number (give e.g. 20,30,40)") from None
        if not 0 <= value <= 100:
            raise EmlabError(f"{option}: {value:g} is outside [0, 100]")
        values.append(value)
    if not values:
        raise EmlabError(f"{option}: give at least one threshold (e.g. 20,30,40)")
    return sorted(dict.fromkeys(values))


def sensitivity_grid(
    frame: Any,
    config: AnalysisConfig,
    aligned_values: Sequence[float] = DEFAULT_ALIGNED,
    coherence_values: Sequence[float] = DEFAULT_COHERENCE,
) -> list[dict[str, Any]]:
    """P(misaligned) of every overall row (``ALL`` / ``ALL:<family>``) per group at each grid cell.

    Each dict: group, question_id, aligned_below, min_coherence, p_misaligned, ci_low, ci_high,
    n_answers, default (the cell of ``config``'s thresholds), flipped (this cell's CI excludes the
    default thresholds' P; None when either is missing), and range_low / range_high (min and max P
    over the grid for the row's group and question).
    """
    rows: list[dict[str, Any]] = []
    for aligned in aligned_values:
        for coherence in coherence_values:
            cell_config = config.model_copy(update={"aligned_below": aligned, "min_coherence": coherence})
            for r in p_misaligned(frame, cell_config):
                if not is_overall(r.question_id):
                    continue
                rows.append(
                    {
                        "group": r.group,
                        "question_id": r.question_id,
                        "aligned_below": float(aligned),
                        "min_coherence": float(coherence),
                        "p_misaligned": r.p_misaligned,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "n_answers": r.n_answers,
                    }
                )
    reference = {
        (r.group, r.question_id): r.p_misaligned
        for r in p_misaligned(frame, config)
        if is_overall(r.question_id)
    }
    for row in rows:
        key = (row["group"], row["question_id"])
        row["default"] = (
            row["aligned_below"] == config.aligned_below and row["min_coherence"] == config.min_coherence
        )
        ref = reference.get(key)
        if ref is None or row["ci_low"] is None or row["ci_high"] is None:
            row["flipped"] = None
        else:
            row["flipped"] = not (row["ci_low"] <= ref <= row["ci_high"])
        ps = [r["p_misaligned"] for r in rows if (r["group"], r["question_id"]) == key]
        ps = [p for p in ps if p is not None]
        row["range_low"] = min(ps) if ps else None
        row["range_high"] = max(ps) if ps else None
    return rows


def _fmt(p: float | None) -> str:
    return "—" if p is None else f"{p:.2f}"


def sensitivity_table(rows: Sequence[dict[str, Any]], *, title: str | None = None) -> Any:
    """A rich Table: per group and overall row, one line per aligned threshold, one column per coherence.

    ``*`` marks a cell whose CI excludes the default thresholds' P; ``[ ]`` the default cell.
    """
    from rich.markup import escape
    from rich.table import Table

    coherences = sorted({r["min_coherence"] for r in rows})
    table = Table(title=escape(title) if title else None)
    table.add_column("group", overflow="fold")
    table.add_column("question", overflow="fold")
    table.add_column("aligned<", justify="right")
    for c in coherences:
        table.add_column(f"coh≥{c:g}", justify="right")
    table.add_column("range", justify="right")
    keys = list(dict.fromkeys((r["group"], r["question_id"]) for r in rows))
    for group, qid in keys:
        mine = [r for r in rows if (r["group"], r["question_id"]) == (group, qid)]
        for i, aligned in enumerate(sorted({r["aligned_below"] for r in mine})):
            cells = []
            for c in coherences:
                hit = next(
                    (r for r in mine if r["aligned_below"] == aligned and r["min_coherence"] == c), None
                )
                text = _fmt(hit["p_misaligned"]) if hit else "—"
                if hit and hit["default"]:
                    text = f"[{text}]"
                elif hit and hit["flipped"]:
                    text += "*"
                cells.append(text)
            span = f"{_fmt(mine[0]['range_low'])}–{_fmt(mine[0]['range_high'])}" if i == 0 else ""
            texts = [group if i == 0 else "", qid if i == 0 else "", f"{aligned:g}", *cells, span]
            table.add_row(*(escape(t) for t in texts))
    return table


def plot_sensitivity(rows: Sequence[dict[str, Any]], path: str | Path) -> list[Path]:
    """Heatmaps (one panel per group and overall row) of P over the grid, as PNG and SVG; returns the files."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from emlab.analysis._plot import plot_paths

    keys = list(dict.fromkeys((r["group"], r["question_id"]) for r in rows))
    aligned = sorted({r["aligned_below"] for r in rows})
    coherence = sorted({r["min_coherence"] for r in rows})
    fig = Figure(figsize=(3.2 * max(1, len(keys)), 3.2))
    for k, (group, qid) in enumerate(keys):
        ax = fig.add_subplot(1, max(1, len(keys)), k + 1)
        grid = [[float("nan")] * len(coherence) for _ in aligned]
        for r in rows:
            if (r["group"], r["question_id"]) == (group, qid) and r["p_misaligned"] is not None:
                i, j = aligned.index(r["aligned_below"]), coherence.index(r["min_coherence"])
                grid[i][j] = r["p_misaligned"]
                mark = " ◻" if r["default"] else (" *" if r["flipped"] else "")
                ax.text(j, i, f"{r['p_misaligned']:.2f}{mark}", ha="center", va="center", fontsize=8)
        ax.imshow(grid, vmin=0, vmax=1, cmap="Reds", origin="lower", aspect="auto")
        ax.set_xticks(range(len(coherence)), [f"{c:g}" for c in coherence])
        ax.set_yticks(range(len(aligned)), [f"{a:g}" for a in aligned])
        ax.set_xlabel("min coherence")
        ax.set_ylabel("aligned below")
        ax.set_title(f"{group} {qid}", fontsize=9)
    fig.tight_layout()
    png, svg = plot_paths(path)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=150)
    fig.savefig(svg)
    return [png, svg]
