"""``train``: one entry point for every training backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emlab.train._result import TrainResult
from emlab.train.config import TrainConfig


def train(
    model_ref: str,
    data_path: str | Path,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Fine-tune ``model_ref`` on chat JSONL ``data_path``, writing the model and provenance to ``out_dir``.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects (local backend only).
    """
    config = config or TrainConfig()
    if config.backend == "openai":
        from emlab.train._openai import train_openai

        return train_openai(model_ref, data_path, out_dir, config, resume=resume)
    from emlab.train._sft import train_local

    return train_local(model_ref, data_path, out_dir, config, resume=resume, callbacks=callbacks)
