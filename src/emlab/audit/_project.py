"""Project response activations on a direction: the mean over response tokens of <h_layer, v̂>.

Used by the audit (shift of the tuned model's answers along a misalignment / persona direction) and by
dataset screening (Chen et al. 2025's projection difference). Layer L is the output of decoder block L.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError

_TENSOR_KEYS = ("direction", "vectors", "vector", "directions")


class _Stop(Exception):
    """Control flow, not an error: skip the blocks after the one we read."""


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
    max_response_tokens: int = 256,
    on_batch: Any = None,
) -> list[float | None]:
    """Mean over each response's tokens of the layer-``layer`` residual projected on ``vector`` (None if empty)."""
    import torch

    from emlab.interp._blocks import decoder_blocks
    from emlab.models import render_chat

    if len(prompts) != len(responses):
        raise ValueError("prompts and responses differ in length")
    tokenizer, model = loaded.tokenizer, loaded.model
    encoded: list[tuple[list[int], int]] = []
    for prompt, response in zip(prompts, responses, strict=True):
        head = render_chat(tokenizer, list(prompt), add_generation_prompt=True)
        n_head = len(tokenizer(head, add_special_tokens=False)["input_ids"])
        ids = tokenizer(head + response, add_special_tokens=False)["input_ids"]
        n_response = min(len(ids) - n_head, max_response_tokens)
        encoded.append((ids[: n_head + max(n_response, 0)], max(n_response, 0)))
    _, blocks = decoder_blocks(model)
    captured: dict[str, Any] = {}

    def hook(_module: Any, _args: Any, output: Any) -> None:
        captured["h"] = output[0] if isinstance(output, tuple) else output
        raise _Stop

    device = loaded.device
    unit = vector.to(device=device, dtype=torch.float32)
    pad = tokenizer.pad_token_id or 0
    results: list[float | None] = [None] * len(encoded)
    # Sort by length so a batch carries little padding; results go back to input order.
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    handle = blocks[layer].register_forward_hook(hook)
    try:
        for start in range(0, len(order), batch_size):
            batch = [i for i in order[start : start + batch_size] if encoded[i][1] > 0]
            if batch:
                width = max(len(encoded[i][0]) for i in batch)
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    seq = encoded[i][0]
                    ids[row, width - len(seq) :] = torch.tensor(seq)
                    mask[row, width - len(seq) :] = 1
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                with torch.no_grad(), contextlib.suppress(_Stop):
                    model(
                        input_ids=ids.to(device),
                        attention_mask=mask.to(device),
                        position_ids=positions.to(device),
                    )
                proj = captured.pop("h").to(torch.float32) @ unit  # [batch, width]
                for row, i in enumerate(batch):
                    # Left padding: the response is the last n tokens of each row.
                    results[i] = float(proj[row, width - encoded[i][1] :].mean())
            if on_batch is not None:
                on_batch(len(order[start : start + batch_size]))
    finally:
        handle.remove()
    return results
