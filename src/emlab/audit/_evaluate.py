"""Evaluate models (each optionally with a prompt prefix) on a question set: generate, judge, collect.

Every variant is one ``model_key`` in the run store, so a re-run skips finished samples and judgments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emlab.console import info


@dataclass(frozen=True)
class Variant:
    """A model evaluated under a label, with a prefix put before each user turn ('' = none)."""

    label: str
    model_ref: str
    prompt_prefix: str = ""


def evaluation_configs(
    questions: str,
    judge: str,
    judge_url: str | None = None,
    *,
    samples: int | None = None,
    max_new_tokens: int = 600,
    batch_size: int = 64,
    seed: int = 0,
    dtype: str = "auto",
) -> tuple[Any, Any, Any]:
    """(question set, GenerationConfig, JudgeConfig) from command-line style settings."""
    from emlab.configio import parse_model
    from emlab.generate import GenerationConfig
    from emlab.judge.config import JudgeConfig
    from emlab.questions import load_question_set

    generation = parse_model(
        GenerationConfig,
        dict(
            max_new_tokens=max_new_tokens,
            samples_per_paraphrase=samples,
            batch_size=batch_size,
            seed=seed,
            dtype=dtype,
        ),
        "options",
    )
    judge_config = parse_model(JudgeConfig, dict(judge=judge, url=judge_url, seed=seed), "options")
    return load_question_set(questions), generation, judge_config


def evaluate_variants(
    variants: list[Variant],
    questions: Any,
    generation: Any,
    judge: Any,
    store: Any,
    *,
    models: dict[str, Any] | None = None,
) -> Any:
    """Generate and judge every variant; return the judged frame (column ``model`` = variant label)."""
    from emlab.analysis import judged_samples
    from emlab.generate import generate_answers
    from emlab.judge import judge_name, judge_run
    from emlab.models import load_model

    models = {} if models is None else models
    for variant in variants:
        if variant.model_ref not in models:
            models[variant.model_ref] = load_model(
                variant.model_ref, dtype=generation.dtype, device=getattr(generation, "device", "auto")
            )
        suffix = f" with prefix {variant.prompt_prefix!r}" if variant.prompt_prefix else ""
        info(f"generating answers of {variant.label} ({variant.model_ref}){suffix}")
        generate_answers(
            models[variant.model_ref],
            questions,
            generation,
            store=store,
            model_key=variant.label,
            group=variant.label,
            prompt_prefix=variant.prompt_prefix,
        )
    info(f"judging with {judge.judge}")
    judge_run(store, judge, questions)
    frame = judged_samples(store, judge=judge_name(judge))
    labels = {v.label for v in variants}
    return frame[frame["model"].isin(labels)].reset_index(drop=True)
