"""Find the decoder blocks of any decoder-only Hugging Face model (plain, PEFT-wrapped, multimodal)."""

from __future__ import annotations

import re
from typing import Any

from emlab.errors import EmlabError

# Common attribute paths, tried before the generic search (fast and unambiguous).
_KNOWN_PATHS = (
    "model.layers",
    "model.language_model.layers",
    "language_model.model.layers",
    "transformer.h",
    "gpt_neox.layers",
    "model.decoder.layers",
    "transformer.blocks",
    "layers",
)


def _unwrap(model: Any) -> Any:
    # LoadedModel -> HF model; PEFT wrappers -> the wrapped transformers model.
    model = getattr(model, "model", model) if hasattr(model, "tokenizer") else model
    while hasattr(model, "get_base_model") and model.get_base_model() is not model:
        model = model.get_base_model()
    return model


def _num_layers(model: Any) -> int | None:
    config = getattr(model, "config", None)
    config = getattr(config, "text_config", None) or config
    value = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None)
    return int(value) if value else None


def decoder_blocks(model: Any) -> tuple[Any, Any]:
    """(owner, blocks): the module holding the decoder ``ModuleList`` and that list, for any model."""
    import torch

    root = _unwrap(model)
    expected = _num_layers(root)
    for path in _KNOWN_PATHS:
        owner, found = None, root
        for part in path.split("."):
            owner, found = found, getattr(found, part, None)
            if found is None:
                break
        if isinstance(found, torch.nn.ModuleList) and (expected is None or len(found) == expected):
            return owner, found
    for _, module in root.named_modules():
        for child in module.children():
            if isinstance(child, torch.nn.ModuleList) and expected and len(child) == expected:
                return module, child
    raise EmlabError(f"cannot find the decoder blocks of {type(root).__name__} (no layer list found)")


def check_layers(layers: list[int] | None, num_layers: int) -> list[int]:
    """Validate layer indices (negative ones count from the end); None means every layer."""
    if layers is None:
        return list(range(num_layers))
    resolved = []
    for layer in layers:
        index = layer + num_layers if layer < 0 else layer
        if not 0 <= index < num_layers:
            raise EmlabError(
                f"layer {layer} out of range: the model has {num_layers} layers (0..{num_layers - 1})"
            )
        resolved.append(index)
    return sorted(set(resolved))


def parse_layers(text: str | None, num_layers: int) -> list[int]:
    """Parse a CLI layer list: 'all', '15', '5,10,15' or a range '10-20'."""
    if text is None or text.strip().lower() in ("", "all"):
        return list(range(num_layers))
    layers: list[int] = []
    for part in text.split(","):
        part = part.strip()
        span = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        try:
            layers.extend(range(int(span[1]), int(span[2]) + 1) if span else [int(part)])
        except ValueError as exc:
            raise EmlabError(f"--layers: '{part}' is not a layer number, range (a-b) or 'all'") from exc
    return check_layers(layers, num_layers)
