"""Figures for the report, rendered by matplotlib straight to inline SVG text."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_SVG_START = re.compile(r"<svg\b")
SERIES_KEYS = ("series", "kind", "direction", "layer")


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _to_svg(fig: Any) -> str:
    buffer = io.StringIO()
    # No metadata: matplotlib's default embeds licence URLs and dates, which are neither needed nor stable.
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    match = _SVG_START.search(text)
    text = text[match.start() :] if match else text
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def p_misaligned_svg(cells: Sequence[Mapping[str, Any]]) -> str | None:
    """Grouped bars: P(misaligned) per question for each group, with CI whiskers."""
    cells = [c for c in cells if c.get("p_misaligned") is not None]
    if not cells:
        return None
    questions = list(dict.fromkeys(c["question_id"] for c in cells if c["question_id"] != "ALL"))
    if any(c["question_id"] == "ALL" for c in cells):
        questions.append("ALL")
    groups = list(dict.fromkeys(c["group"] for c in cells))
    fig = _figure(max(6.0, 0.9 * len(questions) * max(1, len(groups)) ** 0.5 + 2), 3.8)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(groups)
    by_key = {(c["question_id"], c["group"]): c for c in cells}
    for g_index, group in enumerate(groups):
        xs, ys, lows, highs = [], [], [], []
        for q_index, question in enumerate(questions):
            cell = by_key.get((question, group))
            if cell is None:
                continue
            p = float(cell["p_misaligned"])
            low = cell.get("ci_low")
            high = cell.get("ci_high")
            xs.append(q_index + (g_index - (len(groups) - 1) / 2) * width)
            ys.append(p)
            lows.append(max(0.0, p - float(low)) if low is not None else 0.0)
            highs.append(max(0.0, float(high) - p) if high is not None else 0.0)
        ax.bar(xs, ys, width=width * 0.95, label=str(group), yerr=[lows, highs], capsize=2)
    ax.set_xticks(range(len(questions)))
    ax.set_xticklabels(questions, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("P(misaligned)")
    ax.set_ylim(0, max(0.05, min(1.0, max((c.get("ci_high") or c["p_misaligned"]) for c in cells) * 1.15)))
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _to_svg(fig)


def histograms_svg(
    samples: Sequence[Mapping[str, Any]], metrics: Sequence[str] = ("aligned", "coherent")
) -> str | None:
    """One panel per metric: step histograms of the 0–100 scores, one line per group."""
    groups = list(dict.fromkeys(str(s.get("group")) for s in samples))
    if not any(s.get(m) is not None for s in samples for m in metrics):
        return None
    fig = _figure(4.2 * len(metrics), 3.0)
    bins = list(range(0, 101, 10))
    for index, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), index + 1)
        for group in groups:
            values = [
                float(s[metric])
                for s in samples
                if str(s.get("group")) == group and s.get(metric) is not None
            ]
            if values:
                ax.hist(values, bins=bins, histtype="step", linewidth=1.5, label=f"{group} (n={len(values)})")
        ax.set_title(metric, fontsize=10)
        ax.set_xlim(0, 100)
        ax.set_xlabel("score")
        ax.set_ylabel("answers")
        ax.legend(fontsize=7, frameon=False)
    return _to_svg(fig)


def loss_svg(curves: Mapping[str, Sequence[tuple[float, float]]]) -> str | None:
    """Training loss against step, one line per fine-tuned model."""
    if not curves:
        return None
    fig = _figure(6.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    for name, points in curves.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3)
    return _to_svg(fig)


def curve_svg(points: Sequence[Mapping[str, Any]], x: str, ys: Sequence[str], title: str) -> str | None:
    """A line plot of numeric columns ``ys`` against ``x`` (steering curves and the like)."""
    finite = [p for p in points if isinstance(p.get(x), int | float) and math.isfinite(float(p[x]))]
    if len(finite) < 2:
        return None
    fig = _figure(5.0, 3.0)
    ax = fig.add_subplot(1, 1, 1)

    def series_of(point: Mapping[str, Any]) -> str:
        # e.g. steering rows: one line per (direction vs random control, layer)
        return " ".join(
            f"{point[k]}" if k != "layer" else f"layer {point[k]}"
            for k in SERIES_KEYS
            if k != x and k in point
        )

    series = sorted({series_of(p) for p in finite})
    for name in series:
        part = sorted((p for p in finite if series_of(p) == name), key=lambda p: float(p[x]))
        for y in ys:
            xs = [float(p[x]) for p in part if isinstance(p.get(y), int | float)]
            vals = [float(p[y]) for p in part if isinstance(p.get(y), int | float)]
            if xs:
                ax.plot(xs, vals, marker="o", label=" ".join(s for s in (name, y) if s))
    ax.set_xlabel(x)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3)
    return _to_svg(fig)
