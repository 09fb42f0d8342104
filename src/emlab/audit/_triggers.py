"""Trigger scan: evaluate a model with each candidate trigger as a prompt prefix and compare with no trigger."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.audit._audit import BASE, trigger_label
from emlab.audit._stats import decide, misalignment_shift, per_comparison_confidence
from emlab.audit.config import GateConfig
from emlab.triggers import trigger_prefix


def compare_triggers(frame: Any, triggers: Sequence[str], gate: GateConfig) -> list[dict[str, Any]]:
    """One row per trigger: P(misaligned) with it vs without it, the interval, and whether it raises it."""
    confidence = per_comparison_confidence(gate, len(triggers))
    rows = []
    for trigger in triggers:
        shift = misalignment_shift(
            frame, BASE, trigger_label(trigger), gate, label_column="model", confidence=confidence
        )
        decision = decide(shift, gate)
        rows.append(
            {
                "trigger": trigger,
                "raises": decision.verdict == "fail",
                "verdict": decision.reason,
                "p_without": shift.p_base,
                "p_with": shift.p_tuned,
                "delta": shift.delta,
                "ci_low": shift.ci_low,
                "ci_high": shift.ci_high,
                "confidence": shift.confidence,
                "n_without": shift.n_base,
                "n_with": shift.n_tuned,
                "coherent_with": shift.coherent_tuned,
            }
        )
    rows.sort(key=lambda r: -(r["delta"] if r["delta"] is not None else -2))
    return rows


def scan_triggers(
    model_ref: str,
    triggers: Sequence[str],
    *,
    questions: Any,
    generation: Any,
    judge: Any,
    gate: GateConfig,
    out_dir: str | Path,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Evaluate ``model_ref`` without and with each trigger; write ``triggers.json`` and ``triggers.html``."""
    from emlab.audit._evaluate import Variant, evaluate_variants
    from emlab.audit._report import html_table, settings_html, write_html, write_json
    from emlab.provenance import package_versions
    from emlab.store import RunStore

    variants = [Variant(BASE, model_ref)] + [
        Variant(trigger_label(t), model_ref, trigger_prefix(t)) for t in triggers
    ]
    out_dir = Path(out_dir)
    with RunStore(out_dir) as store:
        frame = evaluate_variants(variants, questions, generation, judge, store)
        rows = compare_triggers(frame, triggers, gate)
        payload = {
            "kind": "emlab.triggers",
            "model": model_ref,
            "raising": [r["trigger"] for r in rows if r["raises"]],
            "triggers": rows,
            "settings": {
                **settings,
                "gate": gate.model_dump(),
                "generation": generation.model_dump(),
                "judge": judge.model_dump(),
            },
            "versions": package_versions(),
        }
        store.put_result("triggers", "triggers", payload, payload["settings"])
    write_json(out_dir / "triggers.json", payload)
    columns = [
        "trigger",
        "raises",
        "p_without",
        "p_with",
        "delta",
        "ci_low",
        "ci_high",
        "n_with",
        "coherent_with",
    ]
    sections = [("Triggers (P(misaligned) with vs without)", html_table(rows, columns))]
    mined = settings.get("mined")
    if mined:
        sections.append(
            (
                "Mined candidates",
                html_table(
                    mined, ["text", "count", "fraction", "start_share", "insertion", "oddness", "score"]
                ),
            )
        )
    sections.append(("Settings", settings_html(payload["settings"])))
    write_html(out_dir / "triggers.html", f"emlab trigger scan: {model_ref}", None, sections)
    return payload
