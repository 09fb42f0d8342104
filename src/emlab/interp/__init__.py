"""Inside the model: hooks (capture / add / ablate), directions, SAEs and model diffing, probes."""

from emlab.interp._blocks import check_layers, decoder_blocks, parse_layers
from emlab.interp._capture import (
    AGGREGATES,
    CaptureStats,
    TokenSequence,
    batch_inputs,
    collect_activations,
    encode_chat,
    encode_text,
    load_activations,
    save_activations,
)
from emlab.interp._hooks import Capture, StopForward, ablate_direction, add_direction, capture_activations

__all__ = [
    "AGGREGATES",
    "Capture",
    "CaptureStats",
    "StopForward",
    "TokenSequence",
    "ablate_direction",
    "add_direction",
    "batch_inputs",
    "capture_activations",
    "check_layers",
    "collect_activations",
    "decoder_blocks",
    "encode_chat",
    "encode_text",
    "load_activations",
    "parse_layers",
    "save_activations",
]
