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
from emlab.interp._directions import (
    Direction,
    compare_directions,
    cosine_matrix,
    direction_path,
    load_direction,
    mean_difference,
    plot_comparison,
    random_like,
)
from emlab.interp._hooks import Capture, StopForward, ablate_direction, add_direction, capture_activations
from emlab.interp._sae import SAEConfig, SAETrainLog, TopKSAE, load_sae, train_sae

__all__ = [
    "AGGREGATES",
    "Capture",
    "CaptureStats",
    "Direction",
    "SAEConfig",
    "SAETrainLog",
    "StopForward",
    "TokenSequence",
    "TopKSAE",
    "ablate_direction",
    "add_direction",
    "batch_inputs",
    "capture_activations",
    "check_layers",
    "collect_activations",
    "compare_directions",
    "cosine_matrix",
    "decoder_blocks",
    "direction_path",
    "encode_chat",
    "encode_text",
    "load_activations",
    "load_direction",
    "load_sae",
    "mean_difference",
    "parse_layers",
    "plot_comparison",
    "random_like",
    "save_activations",
    "train_sae",
]
