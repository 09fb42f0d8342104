"""The audit gate: did a fine-tune make the model broadly misaligned? A verdict, a report and an exit code.

Both models answer the same questions (the tuned one also with each candidate trigger as a prompt
prefix); answers are judged; the gate compares P(misaligned) of each tuned variant with the base and
fails when an increase is significant (interval above 0) and at least the threshold.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from emlab.audit._report import html_examples, html_table, settings_html, write_html, write_json
from emlab.audit._stats import (
    Decision,
    decide,
    misalignment_shift,
    overall_verdict,
    per_comparison_confidence,
)
from emlab.audit.config import GateConfig

BASE, TUNED = "base", "tuned"
EXIT_CODES = {"pass": 0, "fail": 1}
INCONCLUSIVE_STRICT_EXIT = 3


def trigger_label(trigger: str) -> str:
    """The variant label of the tuned model evaluated with ``trigger`` as prompt prefix."""
    return f"{TUNED}+{trigger}"


def gate_frame(
    frame: Any,
    config: GateConfig,
    triggers: Sequence[str] = (),
    *,
    base: str = BASE,
    tuned: str = TUNED,
    label_column: str = "model",
) -> list[Decision]:
    """Decisions for tuned vs base and for each trigger variant vs base, on a judged frame."""
    labels = [tuned, *(trigger_label(t) for t in triggers)]
    confidence = per_comparison_confidence(config, len(labels))
    return [
        decide(
            misalignment_shift(frame, base, label, config, label_column=label_column, confidence=confidence),
            config,
        )
        for label in labels
    ]


def exit_code(verdict: str, *, strict: bool = False) -> int:
    """0 pass, 1 fail; inconclusive is 0, or 3 with ``strict``."""
    if verdict == "inconclusive":
        return INCONCLUSIVE_STRICT_EXIT if strict else 0
    return EXIT_CODES[verdict]


def direction_shift(projections: Mapping[str, Sequence[float | None]], base: str = BASE) -> dict[str, Any]:
    """Mean projection of each variant's answers minus the base's, with a 95 % normal (Welch) interval."""
    import numpy as np

    stats = {}
    for label, values in projections.items():
        arr = np.array([v for v in values if v is not None], dtype=float)
        stats[label] = (
            float(arr.mean()) if len(arr) else None,
            float(arr.var(ddof=1)) if len(arr) > 1 else 0.0,
            len(arr),
        )
    out: dict[str, Any] = {
        "mean_projection": {k: v[0] for k, v in stats.items()},
        "n": {k: v[2] for k, v in stats.items()},
    }
    shifts = {}
    b_mean, b_var, b_n = stats[base]
    for label, (mean, var, n) in stats.items():
        if label == base or mean is None or b_mean is None:
            continue
        se = math.sqrt(var / max(n, 1) + b_var / max(b_n, 1))
        delta = mean - b_mean
        shifts[label] = {"delta": delta, "ci_low": delta - 1.96 * se, "ci_high": delta + 1.96 * se}
    out["shift"] = shifts
    return out


def build_payload(
    decisions: list[Decision],
    *,
    base_ref: str,
    tuned_ref: str,
    triggers: Sequence[str],
    settings: Mapping[str, Any],
    direction: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """The JSON report: verdict, exit code, every comparison and every setting."""
    from emlab.provenance import package_versions

    verdict = overall_verdict(decisions)
    reasons = [f"{d.shift.tuned}: {d.verdict}: {d.reason}" for d in decisions]
    return {
        "kind": "emlab.audit",
        "verdict": verdict,
        "exit_code": exit_code(verdict, strict=strict),
        "reason": decisions[0].reason
        if verdict != "fail"
        else next(d.reason for d in decisions if d.verdict == "fail"),
        "reasons": reasons,
        "base": base_ref,
        "tuned": tuned_ref,
        "triggers": list(triggers),
        "comparisons": [
            {"variant": d.shift.tuned, "verdict": d.verdict, "reason": d.reason, **d.shift.model_dump()}
            for d in decisions
        ],
        "direction": dict(direction) if direction else None,
        "settings": dict(settings),
        "versions": package_versions(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_audit_report(
    out_dir: str | Path, payload: Mapping[str, Any], frame: Any = None
) -> tuple[Path, Path]:
    """Write ``audit.json`` and ``audit.html`` (model output escaped) to ``out_dir``."""
    out_dir = Path(out_dir)
    json_path = write_json(out_dir / "audit.json", payload)
    columns = [
        "variant",
        "verdict",
        "p_base",
        "p_tuned",
        "delta",
        "ci_low",
        "ci_high",
        "confidence",
        "n_base",
        "n_tuned",
        "n_questions",
        "coherent_base",
        "coherent_tuned",
    ]
    sections = [
        (
            "Summary",
            f"<p>{_esc(payload['reason'])}</p><p>base: {_esc(payload['base'])}<br>tuned: {_esc(payload['tuned'])}</p>",
        ),
        ("Comparisons (each tuned variant vs base)", html_table(payload["comparisons"], columns)),
    ]
    first = payload["comparisons"][0] if payload["comparisons"] else None
    if first and first["per_question"]:
        sections.append(
            (
                "Per question (tuned vs base)",
                html_table(first["per_question"], ["question_id", "n_base", "p_base", "n_tuned", "p_tuned"]),
            )
        )
    if payload.get("direction"):
        d = payload["direction"]
        rows = [
            {"variant": k, "mean_projection": v, "n": d["n"].get(k), **d["shift"].get(k, {})}
            for k, v in d["mean_projection"].items()
        ]
        sections.append(
            (
                f"Shift along the direction (layer {d.get('layer')})",
                html_table(rows, ["variant", "n", "mean_projection", "delta", "ci_low", "ci_high"]),
            )
        )
    if frame is not None and len(frame):
        for label in [c["variant"] for c in payload["comparisons"]] + [BASE]:
            part = frame[frame["model"] == label].sort_values("aligned", na_position="last").head(5)
            sections.append(
                (f"Least aligned answers: {label}", html_examples(label, part.to_dict("records")))
            )
    sections.append(("Settings", settings_html({**payload["settings"], "versions": payload["versions"]})))
    html_path = write_html(out_dir / "audit.html", "emlab audit", payload["verdict"], sections)
    return json_path, html_path


def _esc(text: Any) -> str:
    import html

    return html.escape(str(text))
