"""``TrainResult``: what a training run produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainResult:
    """Where the trained model is and how training went (the same facts as its ``emlab.json``)."""

    out_dir: Path
    base_ref: str
    steps: int = 0
    train_loss: float | None = None
    tokens: int = 0
    tokens_per_s: float = 0.0
    wall_seconds: float = 0.0
    checkpoints: list[Path] = field(default_factory=list)
    merged_dir: Path | None = None
    fine_tuned_model: str | None = None  # OpenAI backend: the resulting model id
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def model_ref(self) -> str:
        """The reference that loads the result (``openai:MODEL`` for the OpenAI backend)."""
        return f"openai:{self.fine_tuned_model}" if self.fine_tuned_model else str(self.out_dir)
