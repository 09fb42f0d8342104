"""Gather everything the HTML report shows from one run store (no model is loaded)."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emlab.store import RunStore

# Results that the report renders in their own sections; any other kind is shown generically.
KNOWN_KINDS = ("spec", "timings", "p_misaligned", "preference", "sensitivity")
LOSS_FILES = ("loss.csv", "train_log.csv", "log_history.csv", "training_log.csv", "metrics.csv")


@dataclass
class ReportData:
    """What one report shows."""

    run_dir: Path
    name: str
    spec: dict[str, Any] | None
    judge: str | None
    smoke_judge: bool
    analysis_settings: dict[str, Any]
    samples: list[dict[str, Any]]
    cells: list[dict[str, Any]]
    judges: list[dict[str, Any]]
    models: list[dict[str, Any]]
    loss_curves: dict[str, list[tuple[float, float]]]
    timings: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    other_results: list[dict[str, Any]]
    versions: dict[str, str] = field(default_factory=dict)
    preference: list[dict[str, Any]] = field(default_factory=list)
    preference_settings: dict[str, Any] = field(default_factory=dict)
    dynamics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sensitivity: list[dict[str, Any]] = field(default_factory=list)
    sensitivity_settings: dict[str, Any] = field(default_factory=dict)


def is_smoke_judge(judge: str | None, spec: dict[str, Any] | None = None) -> bool:
    """True for judges that only exercise the pipeline (the in-process bundled model), not measure."""
    if spec and isinstance(spec.get("smoke_test_judge"), bool):
        return bool(spec["smoke_test_judge"])
    return bool(judge) and str(judge).startswith("local:bundled:")


def _latest_result(store: RunStore, kind: str) -> dict[str, Any] | None:
    rows = store.rows("results", order_by="created_at", kind=kind)
    return rows[-1] if rows else None


def _pick_judge(store: RunStore, spec: dict[str, Any] | None) -> str | None:
    counts = Counter(row["judge"] for row in store.iter_rows("judgments"))
    if spec:
        wanted = (spec.get("judge") or {}).get("judge")
        if wanted in counts:
            return wanted
    return counts.most_common(1)[0][0] if counts else None


def join_scores(
    samples: list[dict[str, Any]], judgments: list[dict[str, Any]], judge: str | None
) -> list[dict[str, Any]]:
    """Attach each metric's score (latest judgment of ``judge`` for the same question and answer)."""
    scores: dict[tuple[str, str, str], float | None] = {}
    metrics: set[str] = set()
    for row in sorted(judgments, key=lambda r: r.get("created_at") or 0):
        if judge is not None and row["judge"] != judge:
            continue
        metrics.add(row["metric"])
        scores[(row["metric"], row["question"], row["answer"])] = row["score"]
    joined = []
    for sample in samples:
        row = dict(sample)
        row["group"] = sample.get("group_name")
        for metric in metrics | {"aligned", "coherent"}:
            row[metric] = scores.get((metric, sample["question"], sample["answer"]))
        joined.append(row)
    return joined


def _judge_summary(judgments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in judgments:
        key = (row["judge"], row["metric"], row["rubric_hash"])
        entry = groups.setdefault(
            key,
            {
                "judge": key[0],
                "metric": key[1],
                "rubric_hash": key[2],
                "n": 0,
                "none": 0,
                "methods": Counter(),
            },
        )
        entry["n"] += 1
        entry["none"] += row["score"] is None
        entry["methods"][row.get("method") or "?"] += 1
    out = []
    for entry in groups.values():
        entry["methods"] = ", ".join(f"{m} ({c})" for m, c in entry["methods"].most_common())
        out.append(entry)
    return sorted(out, key=lambda e: (e["judge"], e["metric"], e["rubric_hash"]))


def read_loss_csv(path: Path) -> list[tuple[float, float]]:
    """(step, loss) pairs from a trainer log CSV; rows without a training loss are skipped."""
    points = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            step = row.get("step") or row.get("global_step")
            loss = row.get("loss") or row.get("train_loss")
            try:
                points.append((float(step), float(loss)))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
    return points


def _loss_curves(models: list[dict[str, Any]], run_dir: Path) -> dict[str, list[tuple[float, float]]]:
    curves = {}
    for model in models:
        ref = model.get("ref") or ""
        folder = Path(ref) if Path(ref).is_absolute() else run_dir / ref
        if not folder.is_dir():
            continue
        for name in LOSS_FILES:
            if (folder / name).is_file():
                points = read_loss_csv(folder / name)
                if points:
                    curves[model["key"]] = points
                break
    return curves


def _dynamics(models: list[dict[str, Any]], run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Preference margins tracked during training (``dynamics.csv`` beside each fine-tuned model)."""
    from emlab.preference._dynamics import DYNAMICS_FILE, read_dynamics

    curves = {}
    for model in models:
        ref = model.get("ref") or ""
        folder = Path(ref) if Path(ref).is_absolute() else run_dir / ref
        if (folder / DYNAMICS_FILE).is_file():
            rows = read_dynamics(folder / DYNAMICS_FILE)
            if rows:
                curves[model["key"]] = rows
    return curves


def _compute_cells(
    store: RunStore, judge: str, spec: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """P(misaligned) computed now, for runs whose analysis was never stored (e.g. made stage by stage)."""
    try:
        from emlab.analysis import AnalysisConfig, judged_samples, p_misaligned
    except ImportError:
        return [], {}
    config = AnalysisConfig.model_validate((spec or {}).get("analysis") or {})
    frame = judged_samples(store, judge=judge)
    if len(frame) == 0:
        return [], {}
    cells = [c.as_dict() for c in p_misaligned(frame, config)]
    return cells, {**config.model_dump(), "source": "computed by emlab report"}


def collect(store: RunStore) -> ReportData:
    """Read a run store into a ``ReportData``."""
    spec_row = _latest_result(store, "spec")
    spec = spec_row["payload"] if spec_row else None
    judge = _pick_judge(store, spec)
    judgments = store.rows("judgments")
    samples = join_scores(store.rows("samples"), judgments, judge)
    cells_row = _latest_result(store, "p_misaligned")
    cells = list(cells_row["payload"]) if cells_row else []
    analysis_settings = dict(cells_row["settings"] or {}) if cells_row else {}
    if not analysis_settings and spec:
        analysis_settings = dict(spec.get("analysis") or {})
    if not cells and samples and judge is not None:
        cells, analysis_settings = _compute_cells(store, judge, spec)
    others = [r for r in store.rows("results", order_by="created_at") if r["kind"] not in KNOWN_KINDS]
    models = store.rows("models", order_by="key")
    versions = (cells_row["settings"] or {}).get("versions", {}) if cells_row else {}
    if not versions and spec_row:
        versions = (spec_row["settings"] or {}).get("versions", {})
    preference_row = _latest_result(store, "preference")
    sensitivity_row = _latest_result(store, "sensitivity")
    return ReportData(
        run_dir=store.run_dir,
        name=(spec or {}).get("name") or store.run_dir.name,
        spec=spec,
        judge=judge,
        smoke_judge=is_smoke_judge(judge, spec),
        analysis_settings=analysis_settings,
        samples=samples,
        cells=cells,
        judges=_judge_summary(judgments),
        models=models,
        loss_curves=_loss_curves(models, store.run_dir),
        timings=[r["payload"] for r in store.rows("results", order_by="created_at", kind="timings")],
        stages=store.rows("stages", order_by="key"),
        other_results=others,
        versions=versions,
        preference=list(preference_row["payload"]) if preference_row else [],
        preference_settings=dict(preference_row["settings"] or {}) if preference_row else {},
        dynamics=_dynamics(models, store.run_dir),
        sensitivity=list(sensitivity_row["payload"] or []) if sensitivity_row else [],
        sensitivity_settings=dict(sensitivity_row["settings"] or {}) if sensitivity_row else {},
    )
