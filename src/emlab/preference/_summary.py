"""Preference tables: mean margin per model (or group of seeds) and question, shifts against a base.

A pair's margin is averaged over the question's paraphrases first, so a question with many
paraphrases does not outweigh the others within a question. Intervals are percentile
bootstraps of the mean over pairs; when a group has several models (seeds), models and pairs
are resampled together (two-way), so the interval covers both seed-to-seed and pair-to-pair
variation. Shifts are paired: tuned margin minus base margin on the same pair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

ALL = "ALL"
RESULT_KEYS = (
    "model",
    "question_id",
    "n_pairs",
    "mean_margin",
    "p_misaligned_preferred",
    "ci_low",
    "ci_high",
    "shift",
    "shift_ci_low",
    "shift_ci_high",
)

PairId = tuple[str, int]


@dataclass
class PreferenceCell:
    """One row of a preference table."""

    model: str  # the model, or the group (condition) whose seeds are pooled
    question_id: str
    n_pairs: int
    mean_margin: float | None
    p_misaligned_preferred: float | None
    ci_low: float | None
    ci_high: float | None
    shift: float | None = None
    shift_ci_low: float | None = None
    shift_ci_high: float | None = None
    p_choice: float | None = None  # choice form: mean P(misaligned option)
    n_models: int = 1
    base: str | None = None
    form: str = "logprob"
    failed: int = 0  # pairs × paraphrases without a margin (reason in the store's error column)
    kind: str = "group"  # "group", or "contrast" for a condition against its matched control

    def as_dict(self) -> dict[str, Any]:
        """Plain data, documented keys first."""
        return asdict(self)


def pair_margins(rows: Iterable[Any]) -> dict[str, dict[PairId, float]]:
    """model → (question_id, pair_index) → margin averaged over paraphrases (rows without a margin skipped)."""
    sums: dict[str, dict[PairId, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        get = row.get if isinstance(row, Mapping) else lambda name, r=row: getattr(r, name)
        if get("margin") is not None:
            sums[get("model")][(get("question_id"), int(get("pair_index")))].append(float(get("margin")))
    return {model: {pid: sum(v) / len(v) for pid, v in pairs.items()} for model, pairs in sums.items()}


def _p_choice(rows: Iterable[Any]) -> dict[str, dict[PairId, float]]:
    values: dict[str, dict[PairId, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        get = row.get if isinstance(row, Mapping) else lambda name, r=row: getattr(r, name)
        if get("p_misaligned") is not None:
            values[get("model")][(get("question_id"), int(get("pair_index")))].append(
                float(get("p_misaligned"))
            )
    return {m: {pid: sum(v) / len(v) for pid, v in pairs.items()} for m, pairs in values.items()}


def two_way_bootstrap(
    matrix: Any, resamples: int, confidence: float, seed: int
) -> tuple[float | None, float | None]:
    """Percentile interval of the mean of ``matrix`` [models × pairs], resampling models and pairs."""
    import numpy as np

    values = np.asarray(matrix, dtype=float)
    n_models, n_pairs = values.shape
    if n_models == 0 or n_pairs == 0:
        return None, None
    if n_models * n_pairs == 1:
        return float(values.mean()), float(values.mean())
    rng = np.random.default_rng(seed)
    model_idx = rng.integers(0, n_models, size=(resamples, n_models))
    pair_idx = rng.integers(0, n_pairs, size=(resamples, n_pairs))
    # Mean over resampled models of the mean over resampled pairs, without a resamples×models×pairs copy.
    pair_means = np.stack([values[:, pair_idx[r]].mean(axis=1) for r in range(resamples)])
    stats = np.take_along_axis(pair_means, model_idx, axis=1).mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return float(low), float(high)


def _cell(
    label: str,
    question: str,
    models: Sequence[str],
    margins: Mapping[str, Mapping[PairId, float]],
    pair_ids: Sequence[PairId],
    base_vector: Mapping[PairId, float] | None,
    choice: Mapping[str, Mapping[PairId, float]],
    settings: Mapping[str, Any],
) -> PreferenceCell:
    import numpy as np

    complete = [pid for pid in pair_ids if all(pid in margins.get(m, {}) for m in models)]
    cell = PreferenceCell(label, question, len(complete), None, None, None, None, n_models=len(models))
    cell.form = str(settings.get("form", "logprob"))
    if not complete or not models:
        return cell
    matrix = np.array([[margins[m][pid] for pid in complete] for m in models])
    boot = (
        int(settings.get("bootstrap", 2000)),
        float(settings.get("confidence", 0.95)),
        int(settings.get("seed", 0)),
    )
    cell.mean_margin = float(matrix.mean())
    cell.p_misaligned_preferred = float((matrix > 0).mean())
    cell.ci_low, cell.ci_high = two_way_bootstrap(matrix, *boot)
    chosen = [choice[m][pid] for m in models for pid in complete if pid in choice.get(m, {})]
    cell.p_choice = float(np.mean(chosen)) if chosen else None
    if base_vector is not None:
        shared = [i for i, pid in enumerate(complete) if pid in base_vector]
        if shared:
            base = np.array([base_vector[complete[i]] for i in shared])
            shifts = matrix[:, shared] - base[None, :]
            cell.shift = float(shifts.mean())
            cell.shift_ci_low, cell.shift_ci_high = two_way_bootstrap(shifts, *boot)
    return cell


def preference_table(
    rows: Sequence[Any],
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    base: Mapping[str, str] | str | None = None,
    bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[PreferenceCell]:
    """Per-question and ``ALL`` cells for each model or group of models.

    ``groups`` maps a label to model keys (default: each model alone, labelled by its key).
    ``base`` names the group every other group is compared with, or maps each group to its base
    group; the base's margin per pair is averaged over its models.
    """
    margins = pair_margins(rows)
    choice = _p_choice(rows)
    forms = {(r.get("form") if isinstance(r, Mapping) else r.form) for r in rows}
    settings = {
        "bootstrap": bootstrap,
        "confidence": confidence,
        "seed": seed,
        "form": "/".join(sorted(forms)),
    }
    failed: dict[str, int] = defaultdict(int)
    for row in rows:
        get = row.get if isinstance(row, Mapping) else lambda name, r=row: getattr(r, name)
        if get("margin") is None:
            failed[get("model")] += 1
    groups = dict(groups) if groups is not None else {m: [m] for m in sorted(margins)}
    base_of = {g: base for g in groups} if isinstance(base, str) or base is None else dict(base)
    questions = list(dict.fromkeys(pid[0] for per in margins.values() for pid in per))
    cells: list[PreferenceCell] = []
    for label, models in groups.items():
        models = [m for m in models if m in margins]
        base_label = base_of.get(label)
        base_vector = None
        if base_label is not None and base_label != label and base_label in groups:
            base_vector = _mean_vector(margins, groups[base_label])
        all_ids = sorted({pid for m in models for pid in margins[m]})
        for question in [*questions, ALL]:
            ids = all_ids if question == ALL else [pid for pid in all_ids if pid[0] == question]
            if not ids:
                continue
            cell = _cell(label, question, models, margins, ids, base_vector, choice, settings)
            cell.base = base_label if base_vector is not None else None
            cell.failed = sum(failed[m] for m in models) if question == ALL else 0
            cells.append(cell)
    return cells


def _mean_vector(margins: Mapping[str, Mapping[PairId, float]], models: Sequence[str]) -> dict[PairId, float]:
    present = [m for m in models if m in margins]
    ids = set.intersection(*(set(margins[m]) for m in present)) if present else set()
    return {pid: sum(margins[m][pid] for m in present) / len(present) for pid in ids}


def contrast_cells(
    rows: Sequence[Any],
    groups: Mapping[str, Sequence[str]],
    contrasts: Sequence[tuple[str, str]],
    *,
    bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[PreferenceCell]:
    """The ``ALL`` row of each contrast ``A − B``: the paired shift of group A against group B.

    A fine-tune moves margins for reasons unrelated to the stance of its data (any new text
    does); comparing a condition with its matched control (same prompts, opposite stance, e.g.
    insecure − secure) isolates what the stance added. Per pair, B's margin (averaged over its
    models) is subtracted from each of A's models; the interval resamples A's models and pairs.
    """
    cells = []
    for a, b in contrasts:
        label = f"{a} − {b}"
        table = preference_table(
            rows,
            groups={label: groups[a], b: groups[b]},
            base={label: b},
            bootstrap=bootstrap,
            confidence=confidence,
            seed=seed,
        )
        for cell in table:
            if cell.model == label and cell.question_id == ALL:
                cell.kind = "contrast"
                cells.append(cell)
    return cells
