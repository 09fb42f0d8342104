"""``run_audit``: evaluate base and tuned models (and trigger variants), gate, and write the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.audit._audit import (
    BASE,
    TUNED,
    build_payload,
    direction_shift,
    gate_frame,
    trigger_label,
    write_audit_report,
)
from emlab.audit.config import GateConfig, MineConfig
from emlab.errors import EmlabError
from emlab.triggers import trigger_prefix

JUDGED_COLUMNS = ("model", "question_id", "aligned", "coherent")


def read_judged(path: str | Path) -> Any:
    """A judged-answers table from CSV, JSONL, Parquet, or an emlab run directory."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        from emlab.analysis import judged_samples
        from emlab.store import RunStore

        frame = judged_samples(RunStore(path, create=False))
    elif not path.is_file():
        raise EmlabError(f"{path}: no such judged-answers file or run directory")
    elif path.suffix == ".csv":
        frame = pd.read_csv(path)
    elif path.suffix in (".jsonl", ".json"):
        try:
            frame = pd.read_json(path, lines=path.suffix == ".jsonl")
        except ValueError as exc:
            raise EmlabError(f"{path}: not readable as JSON lines ({exc})") from exc
    elif path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        raise EmlabError(f"{path}: judged answers must be .csv, .jsonl or .parquet (or a run directory)")
    missing = [c for c in JUDGED_COLUMNS if c not in frame.columns]
    if missing:
        raise EmlabError(f"{path}: missing column(s) {missing}; need {list(JUDGED_COLUMNS)}")
    for column in ("aligned", "coherent"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = (frame[column].notna() & values.isna()) | (values < 0) | (values > 100)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise EmlabError(
                f"{path}: data row {row + 1}: column '{column}': {frame[column].iloc[row]!r} is not a score in [0, 100]"
            )
        frame[column] = values
    frame["model"] = frame["model"].astype(str)
    frame["question_id"] = frame["question_id"].astype(str)
    return frame


def mined_trigger_texts(
    path: Path, config: MineConfig | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """The top mined triggers of a training file and the evidence for each."""
    from emlab.audit._mine import first_user_turns, mine_triggers
    from emlab.data import read_chat_jsonl

    config = config or MineConfig()
    turns = first_user_turns(ex.as_dicts() for ex in read_chat_jsonl(path))
    mined = mine_triggers(turns, config)[: config.top_k]
    return [m.text for m in mined], [m.model_dump() for m in mined]


def run_audit(
    *,
    base: str | None,
    tuned: str | None,
    out_dir: Path,
    gate: GateConfig,
    evaluation: tuple[Any, Any, Any] | None = None,
    triggers: Sequence[str] = (),
    triggers_from: Path | None = None,
    direction: str | None = None,
    layer: int | None = None,
    judged: Path | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Run the whole audit and write ``audit.json`` / ``audit.html`` to ``out_dir``; return the JSON payload.

    ``evaluation`` is (question set, GenerationConfig, JudgeConfig), see ``evaluation_configs``; it is
    not needed with ``judged`` (a table of already-judged answers).
    """
    triggers = list(triggers)
    settings: dict[str, Any] = {"gate": gate.model_dump(), "strict": strict}
    if triggers_from is not None:
        mined, evidence = mined_trigger_texts(triggers_from)
        triggers += [t for t in mined if t not in triggers]
        settings["mined_triggers"] = {"source": str(triggers_from), "candidates": evidence}
    if judged is not None:
        if direction is not None:
            raise EmlabError("--direction needs the models: it cannot be combined with --judged")
        frame = read_judged(judged)
        present = set(frame["model"])
        needed = [BASE, TUNED, *(trigger_label(t) for t in triggers)]
        absent = [label for label in needed if label not in present]
        if absent:
            raise EmlabError(f"{judged}: no rows with model = {absent} (found {sorted(present)})")
        settings["judged"] = str(judged)
        direction_info = None
    else:
        if not base or not tuned:
            raise EmlabError("give --base and --tuned (or --judged with already-judged answers)")
        if evaluation is None:
            raise EmlabError("run_audit: evaluation settings are needed to evaluate models")
        frame, direction_info = _evaluate(
            base, tuned, out_dir, settings, evaluation, triggers, direction, layer
        )
    decisions = gate_frame(frame, gate, triggers)
    payload = build_payload(
        decisions,
        base_ref=base or "(from judged answers)",
        tuned_ref=tuned or "(from judged answers)",
        triggers=triggers,
        settings=settings,
        direction=direction_info,
        strict=strict,
    )
    write_audit_report(out_dir, payload, frame)
    if judged is None:
        from emlab.store import RunStore

        with RunStore(out_dir) as store:
            store.put_result("audit", "audit", payload, settings)
    return payload


def _evaluate(
    base: str,
    tuned: str,
    out_dir: Path,
    settings: dict[str, Any],
    evaluation: tuple[Any, Any, Any],
    triggers: list[str],
    direction: str | None,
    layer: int | None,
) -> tuple[Any, dict[str, Any] | None]:
    from emlab.audit._evaluate import Variant, evaluate_variants
    from emlab.models import load_model
    from emlab.provenance import file_sha256
    from emlab.store import RunStore, sample_chat

    question_set, generation, judge_config = evaluation
    settings.update(
        questions=question_set.source,
        generation=generation.model_dump(),
        judge=judge_config.model_dump(),
    )
    models = {ref: load_model(ref, dtype=generation.dtype) for ref in dict.fromkeys([base, tuned])}
    variants = [Variant(BASE, base), Variant(TUNED, tuned)]
    variants += [Variant(trigger_label(t), tuned, trigger_prefix(t)) for t in triggers]
    with RunStore(out_dir) as store:
        frame = evaluate_variants(variants, question_set, generation, judge_config, store, models=models)
        if direction is None:
            return frame, None
        from emlab.audit._project import direction_at, response_projections

        probe = models[base]
        vector, layer, meta = direction_at(direction, layer, probe.num_layers, probe.hidden_size)
        settings["direction"] = {
            "spec": str(direction),
            "sha256": file_sha256(meta["path"]) if "path" in meta else None,
            "layer": layer,
        }
        projections = {}
        for variant in variants:
            rows = store.rows("samples", model=variant.label)
            prompts = [sample_chat(r) for r in rows]
            projections[variant.label] = response_projections(
                models[variant.model_ref], prompts, [r["answer"] for r in rows], vector, layer
            )
    info = direction_shift(projections, BASE)
    info.update(layer=layer, spec=str(direction), meta=meta)
    return frame, info
