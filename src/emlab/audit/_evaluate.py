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
    from emlab.judge import judge_run
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
    frame = judged_samples(store, judge=judge.judge)
    labels = {v.label for v in variants}
    return frame[frame["model"].isin(labels)].reset_index(drop=True)
