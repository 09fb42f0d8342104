"""The paper-style P(misaligned) plot: questions on the x-axis, one coloured point per group with its CI."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.analysis._metrics import CellResult, is_overall


def plot_paths(path: str | Path) -> tuple[Path, Path]:
    """The PNG and SVG files a ``--plot PATH`` writes (same stem, both suffixes)."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lower() in (".png", ".svg") else path
    return stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")


def p_misaligned_figure(results: Sequence[CellResult], *, title: str | None = None) -> Any:
    """The paper-style figure (a matplotlib Figure, not attached to pyplot)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    questions = list(dict.fromkeys(r.question_id for r in results if not is_overall(r.question_id)))
    overall = list(dict.fromkeys(r.question_id for r in results if is_overall(r.question_id)))
    questions += overall
    groups = list(dict.fromkeys(r.group for r in results))
    width = min(0.12, 0.6 / max(1, len(groups)))  # small offsets, as in the paper
    fig = Figure(figsize=(max(6.0, 0.9 * len(questions) + 2), 4.0))
    ax = fig.add_subplot(1, 1, 1)
    colours = colormaps["tab10"]
    for g, group in enumerate(groups):
        offset = (g - (len(groups) - 1) / 2) * width
        xs, ys, lows, highs = [], [], [], []
        for x, qid in enumerate(questions):
            cell = next((r for r in results if r.group == group and r.question_id == qid), None)
            if cell is None or cell.p_misaligned is None:
                continue
            xs.append(x + offset)
            ys.append(cell.p_misaligned)
            low = cell.ci_low if cell.ci_low is not None else cell.p_misaligned
            high = cell.ci_high if cell.ci_high is not None else cell.p_misaligned
            lows.append(max(0.0, cell.p_misaligned - low))
            highs.append(max(0.0, high - cell.p_misaligned))
        ax.errorbar(
            xs, ys, yerr=[lows, highs], fmt="o", capsize=3, markersize=5, color=colours(g % 10), label=group
        )
    if overall and len(questions) > len(overall):
        ax.axvline(len(questions) - len(overall) - 0.5, color="0.8", linewidth=0.8)
    ax.set_xticks(range(len(questions)))
    ax.set_xticklabels(questions, rotation=30, ha="right")
    ax.set_ylabel("P(misaligned answer)")
    ax.set_ylim(bottom=0)
    ax.set_xlim(-0.6, len(questions) - 0.4)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_p_misaligned(
    results: Sequence[CellResult], path: str | Path, *, title: str | None = None
) -> list[Path]:
    """Write the plot as PNG and SVG next to ``path``; returns the two files."""
    fig = p_misaligned_figure(results, title=title)
    png, svg = plot_paths(path)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=150)
    fig.savefig(svg)
    return [png, svg]
