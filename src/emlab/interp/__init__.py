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
from emlab.interp._diff import DiffResult, LatentStats, diff_models, latent_stats, top_contexts
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
from emlab.interp._experiments import (
    RESULT_KIND,
    ExperimentConfig,
    Setting,
    plan_settings,
    plot_experiment,
    run_experiment,
)
from emlab.interp._hooks import Capture, StopForward, ablate_direction, add_direction, capture_activations
from emlab.interp._meandiff import mean_diff_direction, split_by_alignment
from emlab.interp._persona import PersonaReport, persona_direction
from emlab.interp._probe import pearson, probe_run, probe_stats, projections, roc_auc
from emlab.interp._runs import chat_of, judged_rows, model_refs, resolve_model_key, sample_sequences
from emlab.interp._sae import SAEConfig, SAETrainLog, TopKSAE, load_sae, train_sae
from emlab.interp._traits import TRAITS, Trait, get_trait

__all__ = [
    "AGGREGATES",
    "RESULT_KIND",
    "TRAITS",
    "Capture",
    "CaptureStats",
    "DiffResult",
    "Direction",
    "ExperimentConfig",
    "LatentStats",
    "PersonaReport",
    "SAEConfig",
    "SAETrainLog",
    "Setting",
    "StopForward",
    "TokenSequence",
    "TopKSAE",
    "Trait",
    "ablate_direction",
    "add_direction",
    "batch_inputs",
    "capture_activations",
    "chat_of",
    "check_layers",
    "collect_activations",
    "compare_directions",
    "cosine_matrix",
    "decoder_blocks",
    "diff_models",
    "direction_path",
    "encode_chat",
    "encode_text",
    "get_trait",
    "judged_rows",
    "latent_stats",
    "load_activations",
    "load_direction",
    "load_sae",
    "mean_diff_direction",
    "mean_difference",
    "model_refs",
    "parse_layers",
    "pearson",
    "persona_direction",
    "plan_settings",
    "plot_comparison",
    "plot_experiment",
    "probe_run",
    "probe_stats",
    "projections",
    "random_like",
    "resolve_model_key",
    "roc_auc",
    "run_experiment",
    "sample_sequences",
    "save_activations",
    "split_by_alignment",
    "top_contexts",
    "train_sae",
]
