"""Project response activations on a direction: the mean over response tokens of <h_layer, v̂>.

Used by the audit (shift of the tuned model's answers along a misalignment / persona direction) and by
dataset screening (Chen et al. 2025's projection difference). Layer L is the output of decoder block L.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError


def direction_at(
    spec: str | Path, layer: int | None, num_layers: int, hidden_size: int
) -> tuple[Any, int, dict]:
    """(unit vector [hidden], layer, metadata) of an emlab direction file (or ``sae:PATH#LATENT``).

    Without ``layer``, the direction's recorded layer is used, else the middle block.
    """
    from emlab.interp import check_layers, load_direction

    direction = load_direction(spec, num_layers=num_layers)
    if direction.hidden_size != hidden_size:
        raise EmlabError(
            f"{spec}: direction width {direction.hidden_size} != model hidden size {hidden_size}"
        )
    if direction.num_layers not in (1, num_layers):
        raise EmlabError(
            f"{spec}: direction has {direction.num_layers} layers but the model has {num_layers}"
        )
    chosen = direction.default_layer() if layer is None else layer
    chosen = check_layers([chosen], num_layers)[0]
    row = chosen if direction.num_layers == num_layers else 0
    if float(direction.vectors[row].float().norm()) == 0:
        raise EmlabError(f"{spec}: direction at layer {chosen} is zero")
    return direction.unit(row), chosen, dict(direction.meta)


def response_projections(
    loaded: Any,
    prompts: Sequence[Sequence[dict[str, str]]],
    responses: Sequence[str],
    vector: Any,
    layer: int,
    *,
    batch_size: int = 16,
    max_length: int = 2048,
    on_batch: Any = None,
) -> list[float | None]:
    """Mean over each response's tokens of the layer-``layer`` residual projected on ``vector`` (None if empty)."""
    import torch

    from emlab.interp import collect_activations, encode_chat

    if len(prompts) != len(responses):
        raise ValueError("prompts and responses differ in length")
    sequences = [encode_chat(loaded.tokenizer, list(p), r) for p, r in zip(prompts, responses, strict=True)]
    usable = [i for i, s in enumerate(sequences) if s.answer]
    results: list[float | None] = [None] * len(sequences)
    if not usable:
        return results
    acts = collect_activations(
        loaded,
        [sequences[i] for i in usable],
        [layer],
        aggregate="answer_mean",
        batch_size=batch_size,
        max_length=max_length,
        on_batch=on_batch,
    )
    projected = acts[:, 0, :].to(torch.float32) @ vector.to(torch.float32).cpu()
    for i, value in zip(usable, projected.tolist(), strict=True):
        results[i] = float(value)
    return results
