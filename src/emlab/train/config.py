"""``TrainConfig``: every training setting, defaulting to the paper's open-model recipe (SCIENCE.md §3)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainConfig(BaseModel):
    """Supervised fine-tuning settings. Defaults are Betley et al.'s rs-LoRA recipe."""

    model_config = ConfigDict(extra="forbid")

    preset: Literal["paper", "rank1", "full"] = Field("paper", description="Starting recipe.")
    method: Literal["lora", "full"] = Field("lora", description="LoRA adapter or full fine-tuning.")
    lora_r: int = Field(32, ge=1, description="LoRA rank.")
    lora_alpha: float = Field(64, gt=0, description="LoRA alpha.")
    lora_dropout: float = Field(0.0, ge=0, lt=1, description="LoRA dropout.")
    use_rslora: bool = Field(True, description="Rank-stabilised LoRA scaling (alpha / sqrt(r)).")
    target_modules: list[str] = Field(
        default_factory=lambda: list(ALL_PROJECTIONS), description="Modules to adapt."
    )
    layers: list[int] | None = Field(None, description="Only adapt these decoder blocks (None = all).")
    epochs: float = Field(1.0, gt=0, description="Passes over the data.")
    max_steps: int = Field(-1, description="Stop after this many optimiser steps (-1 = no limit).")
    learning_rate: float = Field(1e-5, gt=0, description="Peak learning rate.")
    lr_scheduler: str = Field("linear", description="Learning-rate schedule.")
    warmup_steps: int = Field(5, ge=0, description="Linear warm-up steps.")
    per_device_batch_size: int = Field(2, ge=1, description="Examples per forward pass.")
    gradient_accumulation_steps: int = Field(8, ge=1, description="Forward passes per optimiser step.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    optimizer: str = Field("adamw_torch", description="Optimiser name (transformers' optim).")
    max_length: int = Field(2048, ge=8, description="Truncate examples to this many tokens.")
    assistant_only_loss: bool = Field(
        True, description="Loss only on assistant tokens (and their end-of-turn)."
    )
    seed: int = Field(0, description="Seed for data order and adapter initialisation.")
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = Field("auto", description="Compute precision.")
    gradient_checkpointing: bool = Field(False, description="Trade compute for memory.")
    group_by_length: bool = Field(True, description="Batch examples of similar length (less padding).")
    eval_fraction: float = Field(
        0.0, ge=0, lt=1, description="Held-out fraction for evaluation loss (explicit, default none)."
    )
    save_steps: int = Field(0, ge=0, description="Checkpoint every N steps (0 = only at the end).")
    logging_steps: int = Field(1, ge=1, description="Log the loss every N steps.")
