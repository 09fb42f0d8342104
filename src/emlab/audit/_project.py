"""Project response activations on a direction: the mean over response tokens of <h_layer, v̂>.

Used by the audit (shift of the tuned model's answers along a misalignment / persona direction) and by
dataset screening (Chen et al. 2025's projection difference). Layer L is the output of decoder block L.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError

_TENSOR_KEYS = ("direction", "vectors", "vector", "directions")


def load_direction(
    path: str | Path, layer: int | None, num_layers: int, hidden_size: int
) -> tuple[Any, int, dict]:
    """(unit vector [hidden], layer, metadata) from a direction file ([n_layers, hidden] or [hidden] safetensors).

    Without ``layer``, the layer recorded in the sidecar JSON (``layer`` / ``best_layer``) is used, else the
    middle block.
    """
    import torch
    from safetensors.torch import load_file

    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.safetensors"))
        if len(files) != 1:
            raise EmlabError(
                f"{path}: expected one .safetensors direction file in the folder, found {len(files)}"
            )
        path = files[0]
    if not path.is_file():
        raise EmlabError(f"{path}: no such direction file")
    if path.suffix != ".safetensors":
        raise EmlabError(f"{path}: directions are read from .safetensors files only")
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise EmlabError(f"{path}: not a readable safetensors file ({exc})") from exc
    key = next((k for k in _TENSOR_KEYS if k in tensors), None)
    if key is None:
        if len(tensors) != 1:
            raise EmlabError(
                f"{path}: expected a tensor named one of {list(_TENSOR_KEYS)}, found {sorted(tensors)}"
            )
        key = next(iter(tensors))
    meta = _sidecar(path)
    vectors = tensors[key].to(torch.float32)
    if layer is None:
        layer = meta.get("layer", meta.get("best_layer"))
        layer = (
            int(layer) if isinstance(layer, int | float | str) and str(layer).lstrip("-").isdigit() else None
        )
    if layer is None:
        layer = num_layers // 2
    if layer < 0:
        layer += num_layers
    if not 0 <= layer < num_layers:
        raise EmlabError(
            f"--layer {layer} out of range: the model has {num_layers} layers (0..{num_layers - 1})"
        )
    if vectors.dim() == 2:
        if vectors.shape[0] != num_layers:
            raise EmlabError(
                f"{path}: direction has {vectors.shape[0]} layers but the model has {num_layers}"
            )
        vector = vectors[layer]
    elif vectors.dim() == 1:
        vector = vectors
    else:
        raise EmlabError(f"{path}: direction tensor '{key}' has shape {tuple(vectors.shape)}")
    if vector.shape[-1] != hidden_size:
        raise EmlabError(f"{path}: direction width {vector.shape[-1]} != model hidden size {hidden_size}")
    norm = float(vector.norm())
    if norm == 0 or norm != norm:
        raise EmlabError(f"{path}: direction at layer {layer} is zero or not finite")
    return vector / norm, layer, {**meta, "tensor": key, "norm": norm}


def _sidecar(path: Path) -> dict:
    for candidate in (path.with_suffix(".json"), path.parent / "direction.json", path.parent / "meta.json"):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text())
            except json.JSONDecodeError as exc:
                raise EmlabError(f"{candidate}:{exc.lineno}: invalid JSON ({exc.msg})") from exc
            return data if isinstance(data, dict) else {}
    return {}


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
