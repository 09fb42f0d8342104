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
    """The analysis module's paper-style plot (points with CI bars per group) as inline SVG."""
    from emlab.analysis._metrics import CellResult
    from emlab.analysis._plot import p_misaligned_figure

    fields = CellResult.__dataclass_fields__
    results = [
        CellResult(**{name: cell.get(name) for name in fields})
        for cell in cells
        if cell.get("p_misaligned") is not None
    ]
    return _to_svg(p_misaligned_figure(results)) if results else None


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


def preference_svg(cells: Sequence[Mapping[str, Any]]) -> str | None:
    """Each group's overall shift against its base (or its margin when there is no base), with CI bars."""
    rows = [c for c in cells if c.get("question_id") == "ALL" and c.get("mean_margin") is not None]
    if not rows:
        return None
    use_shift = any(c.get("shift") is not None for c in rows)
    key, low, high = (
        ("shift", "shift_ci_low", "shift_ci_high") if use_shift else ("mean_margin", "ci_low", "ci_high")
    )
    rows = [c for c in rows if c.get(key) is not None]
    fig = _figure(6.0, 0.45 * len(rows) + 1.2)
    ax = fig.add_subplot(1, 1, 1)
    for i, c in enumerate(rows):
        value = float(c[key])
        err = None
        if c.get(low) is not None and c.get(high) is not None:
            err = [[value - float(c[low])], [float(c[high]) - value]]
        ax.errorbar([value], [i], xerr=err, fmt="o", capsize=3, color="C3" if (c.get(low) or 0) > 0 else "C0")
    ax.axvline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([str(c.get("model")) for c in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(
        "shift of the preference margin vs base (nats/token)"
        if use_shift
        else "preference margin (nats/token)"
    )
    ax.grid(alpha=0.3, axis="x")
    return _to_svg(fig)


def dynamics_svg(curves: Mapping[str, Sequence[Mapping[str, Any]]]) -> str | None:
    """Preference margin against training step, one line (with CI band) per fine-tuned model."""
    if not curves:
        return None
    fig = _figure(6.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    for name, rows in curves.items():
        points = [r for r in rows if r.get("mean_margin") is not None]
        if not points:
            continue
        steps = [r["step"] for r in points]
        ax.plot(steps, [r["mean_margin"] for r in points], marker=".", label=name)
        if all(r.get("ci_low") is not None for r in points):
            ax.fill_between(steps, [r["ci_low"] for r in points], [r["ci_high"] for r in points], alpha=0.15)
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("step")
    ax.set_ylabel("preference margin (nats/token)")
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3)
    return _to_svg(fig)
