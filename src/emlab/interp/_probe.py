"""Probes: how well an answer's projection on a direction tracks its alignment score."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation; NaN when fewer than 2 points or a constant input."""
    n = len(x)
    if n < 2 or n != len(y):
        return math.nan
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve of ``scores`` for ``labels`` (Mann–Whitney, ties count half); NaN if one class."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda p: p[0])
    n_pos = sum(1 for _, label in pairs if label)
    n_neg = len(pairs) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2  # average 1-based rank of the tie block
        rank_sum += mid_rank * sum(1 for _, label in pairs[i:j] if label)
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def projections(activations: Any, unit: Any) -> list[float]:
    """Dot product of each row of ``activations`` ``[n, hidden]`` with ``unit``."""
    return (activations.float() @ unit.float()).tolist()


def probe_stats(
    projection: Sequence[float],
    aligned: Sequence[float | None],
    coherent: Sequence[float | None],
    *,
    aligned_below: float = 30,
    aligned_above: float = 70,
    min_coherence: float = 50,
) -> dict[str, Any]:
    """Pearson r (projection vs aligned) and ROC AUC (misaligned vs aligned) over coherent, scored answers."""
    kept = [
        (p, a)
        for p, a, c in zip(projection, aligned, coherent, strict=True)
        if a is not None and c is not None and not math.isnan(a) and c >= min_coherence
    ]
    xs = [p for p, _ in kept]
    ys = [a for _, a in kept]
    extremes = [(p, a < aligned_below) for p, a in kept if a < aligned_below or a > aligned_above]
    auc = roc_auc([p for p, _ in extremes], [label for _, label in extremes]) if extremes else math.nan
    return {
        "n": len(kept),
        "n_misaligned": sum(1 for _, label in extremes if label),
        "n_aligned": sum(1 for _, label in extremes if not label),
        "pearson_r": pearson(xs, ys),
        "roc_auc": auc,
        "mean_projection": sum(xs) / len(xs) if xs else math.nan,
    }


def probe_run(
    store: Any,
    direction: Any,
    layer: int,
    *,
    judge: str | None = None,
    base: str | None = None,
    questions: Any = None,
    aligned_below: float = 30,
    aligned_above: float = 70,
    min_coherence: float = 50,
    batch_size: int = 16,
    dtype: str = "auto",
    load: Any = None,
) -> dict[str, Any]:
    """Probe every model of a run: projection vs alignment (r, AUC) and persona shift (tuned − base).

    Each answer's projection is its answer-averaged activation at ``layer`` (in the model that wrote
    it) on the unit direction. The persona shift is the mean projection of the last prompt token over
    the evaluation prompts (``questions``, else the run's own questions), model minus its base
    (``base``, else the model's recorded ``base_ref``).
    """
    from emlab.interp._capture import collect_activations, encode_chat
    from emlab.interp._runs import chat_of, judged_rows, model_refs, sample_sequences
    from emlab.models import load_model

    load = load or (lambda ref: load_model(ref, dtype=dtype))
    unit = direction.unit(layer)
    rows = judged_rows(store, judge=judge)
    refs = model_refs(store)
    by_model: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    if questions is not None:
        prompts = [(p, q.system) for q in questions.questions for p in q.paraphrases]
    else:
        # The prompts as the models saw them (a triggered sample's trigger included).
        prompts = sorted({(row["user_content"], row.get("system")) for row in rows}, key=str)
    cache: dict[str, Any] = {}

    def loaded(ref: str) -> Any:
        if ref not in cache:
            cache.clear()  # one model in memory at a time
            cache[ref] = load(ref)
        return cache[ref]

    def prompt_projection(ref: str) -> float:
        model = loaded(ref)
        seqs = [encode_chat(model.tokenizer, chat_of(q, None, s)) for q, s in prompts]
        acts = collect_activations(model, seqs, [layer], aggregate="prompt_last", batch_size=batch_size)
        values = projections(acts[:, 0], unit)
        return sum(values) / len(values) if values else math.nan

    per_model = []
    pooled: dict[str, list[Any]] = {"projection": [], "aligned": [], "coherent": []}
    for model_key, model_rows in by_model.items():
        ref = refs.get(model_key, {}).get("ref") or model_key
        model = loaded(ref)
        acts = collect_activations(
            model, sample_sequences(model.tokenizer, model_rows), [layer], batch_size=batch_size
        )
        values = projections(acts[:, 0], unit)
        aligned = [r.get("aligned") for r in model_rows]
        coherent = [r.get("coherent") for r in model_rows]
        stats = probe_stats(
            values,
            aligned,
            coherent,
            aligned_below=aligned_below,
            aligned_above=aligned_above,
            min_coherence=min_coherence,
        )
        entry = {"model": model_key, "ref": ref, **stats}
        base_ref = base or refs.get(model_key, {}).get("base_ref")
        if prompts:
            entry["prompt_projection"] = prompt_projection(ref)
            if base_ref and base_ref != ref:
                entry["base_ref"] = base_ref
                entry["base_prompt_projection"] = prompt_projection(base_ref)
                entry["persona_shift"] = entry["prompt_projection"] - entry["base_prompt_projection"]
        per_model.append(entry)
        pooled["projection"] += values
        pooled["aligned"] += aligned
        pooled["coherent"] += coherent
    overall = probe_stats(
        pooled["projection"],
        pooled["aligned"],
        pooled["coherent"],
        aligned_below=aligned_below,
        aligned_above=aligned_above,
        min_coherence=min_coherence,
    )
    return {"layer": layer, "overall": overall, "models": per_model, "prompts": len(prompts)}
