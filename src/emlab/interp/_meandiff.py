"""The mean-diff misalignment direction from a run's judged answers (Soligo, Turner et al. 2025)."""

from __future__ import annotations

from typing import Any

from emlab.errors import EmlabError
from emlab.interp._capture import collect_activations
from emlab.interp._directions import Direction, mean_difference
from emlab.interp._runs import judged_rows, sample_sequences
from emlab.provenance import package_versions, stable_hash


def split_by_alignment(
    rows: list[dict[str, Any]], *, aligned_below: float, aligned_above: float, min_coherence: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(misaligned, aligned) coherent answers: aligned < ``aligned_below`` vs aligned > ``aligned_above``."""
    misaligned, aligned = [], []
    for row in rows:
        score, coherent = row.get("aligned"), row.get("coherent")
        if (
            score is None
            or coherent is None
            or score != score
            or coherent != coherent
            or coherent < min_coherence
        ):
            continue
        if score < aligned_below:
            misaligned.append(row)
        elif score > aligned_above:
            aligned.append(row)
    return misaligned, aligned


def mean_diff_direction(
    store: Any,
    model: Any,
    model_key: str,
    *,
    judge: str | None = None,
    aligned_below: float = 30,
    aligned_above: float = 70,
    min_coherence: float = 50,
    batch_size: int = 16,
    max_length: int = 2048,
) -> Direction:
    """misaligned − aligned mean of answer-averaged activations at every layer, from ``model``'s own answers."""
    rows = judged_rows(store, judge=judge, model=model_key)
    if not rows:
        raise EmlabError(f"run {store.run_dir}: no judged samples for model '{model_key}'")
    misaligned, aligned = split_by_alignment(
        rows, aligned_below=aligned_below, aligned_above=aligned_above, min_coherence=min_coherence
    )
    if not misaligned or not aligned:
        raise EmlabError(
            f"run {store.run_dir}, model '{model_key}': need coherent answers on both sides "
            f"(found {len(misaligned)} with aligned < {aligned_below:g} and {len(aligned)} with aligned > "
            f"{aligned_above:g}, coherent >= {min_coherence:g}); adjust --aligned-below/--aligned-above"
        )
    tokenizer = model.tokenizer
    pos = collect_activations(
        model, sample_sequences(tokenizer, misaligned), batch_size=batch_size, max_length=max_length
    )
    neg = collect_activations(
        model, sample_sequences(tokenizer, aligned), batch_size=batch_size, max_length=max_length
    )
    vectors = mean_difference(pos, neg)
    meta = {
        "kind": "mean-diff",
        "name": f"mean-diff-{model_key}",
        "model": model.ref,
        "model_key": model_key,
        "run": str(store.run_dir),
        "judge": judge,
        "aligned_below": aligned_below,
        "aligned_above": aligned_above,
        "min_coherence": min_coherence,
        "n_misaligned": len(misaligned),
        "n_aligned": len(aligned),
        "samples_hash": stable_hash(sorted(r.get("key") or "" for r in misaligned + aligned)),
        "aggregate": "answer_mean",
        "versions": package_versions(),
    }
    # The layer where the two groups separate most (relative to the residual norm) is a good default.
    scale = (pos.float().norm(dim=-1).mean(0) + neg.float().norm(dim=-1).mean(0)) / 2
    meta["layer"] = int((vectors.norm(dim=-1) / scale.clamp_min(1e-6)).argmax())
    return Direction(vectors, meta)
