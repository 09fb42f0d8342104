"""``TrainConfig``: every training setting, defaulting to the paper's open-model recipe (docs/science.md, Training recipe).

Presets fill in the fields a user did not set, so ``preset: rank1`` plus ``learning_rate: 3e-5``
gives the rank-1 recipe with a different learning rate. This module is the one source of defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from emlab.errors import EmlabError

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# Values each preset gives to fields the user left unset (TrainConfig's own defaults are `paper`).
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    # Turner, Soligo et al. 2025: one rank-1 adapter on down_proj of a middle layer.
    "rank1": {
        "lora_r": 1,
        "lora_alpha": 256,
        "target_modules": ["down_proj"],
        "layers": "middle",
        "learning_rate": 2e-5,
    },
    "full": {"method": "full"},
}


class TrainConfig(BaseModel):
    """Supervised fine-tuning settings. Defaults are Betley et al.'s rs-LoRA recipe."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["trl", "openai"] = Field(
        "trl", description="trl: local TRL SFTTrainer + PEFT; openai: the OpenAI fine-tuning API."
    )
    preset: Literal["paper", "rank1", "full"] = Field(
        "paper", description="Starting recipe: paper (rs-LoRA r=32 on all projections), rank1, full."
    )
    method: Literal["lora", "full"] = Field("lora", description="LoRA adapter or full fine-tuning.")
    lora_r: int = Field(32, ge=1, description="LoRA rank.")
    lora_alpha: float = Field(64, gt=0, description="LoRA alpha.")
    lora_dropout: float = Field(0.0, ge=0, lt=1, description="LoRA dropout.")
    use_rslora: bool = Field(True, description="Rank-stabilised LoRA scaling (alpha / sqrt(r)).")
    target_modules: list[str] = Field(
        default_factory=lambda: list(ALL_PROJECTIONS), description="Module names to adapt."
    )
    layers: list[int] | Literal["middle"] | None = Field(
        None, description="Only adapt these decoder blocks (None = all; 'middle' = num_layers // 2)."
    )
    epochs: float = Field(1.0, gt=0, description="Passes over the data.")
    max_steps: int = Field(-1, description="Stop after this many optimiser steps (-1 = no limit).")
    learning_rate: float = Field(1e-5, gt=0, description="Peak learning rate.")
    lr_scheduler: str = Field("linear", description="Learning-rate schedule (transformers' names).")
    warmup_steps: int = Field(5, ge=0, description="Linear warm-up steps.")
    batch_size: int = Field(
        16, ge=1, description="Effective batch (examples per optimiser step, over all devices)."
    )
    per_device_batch_size: int = Field(
        4, ge=1, description="Examples per forward pass; gradient accumulation makes up the rest."
    )
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    optimizer: str = Field("adamw_torch", description="Optimiser name (transformers' optim).")
    max_length: int = Field(2048, ge=8, description="Truncate examples to this many tokens (keep the start).")
    assistant_only_loss: bool = Field(
        True, description="Loss only on assistant tokens and their end-of-turn token."
    )
    seed: int = Field(0, description="Seed for data order and adapter initialisation.")
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="Compute precision: auto = bf16 on CUDA / bf16-capable CPUs, else fp32."
    )
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations: less memory, ~30% slower."
    )
    compact_loss: bool = Field(
        True, description="Apply the LM head only at positions with loss (faster on CPU; same loss)."
    )
    group_by_length: bool = Field(True, description="Batch examples of similar length (less padding).")
    eval_fraction: float = Field(
        0.0, ge=0, lt=1, description="Held-out fraction for evaluation loss (explicit; default none)."
    )
    save_steps: int = Field(
        0, ge=0, description="Checkpoint every N optimiser steps, all kept (0 = only at the end)."
    )
    logging_steps: int = Field(1, ge=1, description="Log the loss every N steps.")
    merge: bool = Field(False, description="Also write a merged full model (LoRA only) to OUT/merged.")
    # OpenAI backend
    openai_epochs: int | Literal["auto"] = Field("auto", description="OpenAI backend: n_epochs.")
    openai_batch_size: int | Literal["auto"] = Field("auto", description="OpenAI backend: batch_size.")
    openai_lr_multiplier: float | Literal["auto"] = Field(
        "auto", description="OpenAI backend: learning_rate_multiplier."
    )
    openai_suffix: str | None = Field(
        None, description="OpenAI backend: suffix of the fine-tuned model name."
    )
    api_base: str | None = Field(
        None, description="OpenAI backend: base URL (default $OPENAI_BASE_URL or https://api.openai.com/v1)."
    )
    poll_seconds: float = Field(10.0, gt=0, description="OpenAI backend: seconds between job polls.")
    track: str | None = Field(
        None,
        description="Pairs set (emlab:pairs or a pairs file) whose preference margin is measured during training.",
    )
    track_every: int | None = Field(
        None, ge=1, description="Measure the tracked margin every N steps (default: about 10 points per run)."
    )
    track_paraphrases: int | None = Field(
        1,
        ge=1,
        description="Tracking asks each question in its first N paraphrases (None: all); fewer is faster.",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            preset = data.get("preset", "paper")
            if preset in PRESETS:
                data = {**PRESETS[preset], **data}
            if "gradient_accumulation_steps" in data:  # the HF way of saying it: per-device batch x steps
                data = dict(data)
                steps = data.pop("gradient_accumulation_steps")
                if "batch_size" in data:
                    raise ValueError("set batch_size or gradient_accumulation_steps, not both")
                per_device = data.get(
                    "per_device_batch_size", cls.model_fields["per_device_batch_size"].default
                )
                if isinstance(steps, int) and isinstance(per_device, int):
                    data["batch_size"] = steps * per_device
        return data

    @property
    def gradient_accumulation_steps(self) -> int:
        """Forward passes per optimiser step on one device."""
        return self.accumulation_steps(1)

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.method == "full" and self.merge:
            raise ValueError("merge: only applies to LoRA training (full fine-tuning already writes a model)")
        return self

    def accumulation_steps(self, world_size: int = 1) -> int:
        """Forward passes per optimiser step so that the effective batch is ``batch_size``."""
        per_step = self.per_device_batch_size * world_size
        return max(1, -(-self.batch_size // per_step))


def load_train_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """A TrainConfig from an optional YAML file plus non-None ``overrides`` (flags win over the file)."""
    from emlab.configio import parse_model, read_yaml

    data: dict[str, Any] = {}
    source = "train config"
    if path is not None:
        raw = read_yaml(path)
        if raw is not None and not isinstance(raw, dict):
            raise EmlabError(f"{path}: a training config must be a YAML mapping of field: value")
        data.update(raw or {})
        source = str(path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return parse_model(TrainConfig, data, source)
