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
    With ``config.track`` the preference margin on that pairs set is written to ``OUT/dynamics.csv``
    at step 0 and every ``config.track_every`` steps.
    """
    config = config or TrainConfig()
    if config.backend == "openai":
        if config.track:
            from emlab.errors import EmlabError

            raise EmlabError("track: the OpenAI backend exposes no weights to measure during training")
        from emlab.train._openai import train_openai

        return train_openai(model_ref, data_path, out_dir, config, resume=resume)
    from emlab.train._sft import train_local

    callbacks = list(callbacks or [])
    if config.track:
        from emlab.preference import PreferenceTracker, load_pair_set

        # Loaded before the model, so a bad pairs file fails in a second, not after loading.
        pairs = load_pair_set(config.track, config.track_paraphrases)
        callbacks.append(PreferenceTracker(pairs, out_dir, every=config.track_every))
    return train_local(model_ref, data_path, out_dir, config, resume=resume, callbacks=callbacks)
