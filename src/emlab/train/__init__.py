"""Fine-tuning: TRL + PEFT (LoRA, rank-1 LoRA, full) with assistant-only loss, or the OpenAI fine-tuning API."""

from emlab.train._api import train
from emlab.train._masks import IGNORE_INDEX, TokenizedChat, loss_segments, tokenize_chat
from emlab.train._result import TrainResult
from emlab.train.config import ALL_PROJECTIONS, PRESETS, TrainConfig, load_train_config

__all__ = [
    "ALL_PROJECTIONS",
    "IGNORE_INDEX",
    "PRESETS",
    "TokenizedChat",
    "TrainConfig",
    "TrainResult",
    "load_train_config",
    "loss_segments",
    "tokenize_chat",
    "train",
]
