"""Which samples a run wants: one planned unit per (question, paraphrase, sample), with its key.

The key is deterministic (model key, question id, paraphrase index, sample index, settings hash,
prompt prefix), so a re-run finds finished samples in the store and skips them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emlab.generate._chats import sample_seed
from emlab.generate.config import GenerationConfig
from emlab.provenance import package_versions, stable_hash
from emlab.questions import QuestionSet


@dataclass
class PlannedSample:
    """One answer the run wants, with everything needed to produce and record it."""

    key: str
    question_id: str
    paraphrase_index: int
    sample_index: int
    question: str  # the paraphrase as written in the question file
    user_content: str  # what the model is sent: prompt prefix + paraphrase
    system: str | None
    temperature: float
    seed: int
    settings: dict[str, Any]

    def messages(self) -> list[dict[str, str]]:
        """The chat sent to the model (system turn only when the question has one)."""
        chat = [{"role": "system", "content": self.system}] if self.system is not None else []
        return [*chat, {"role": "user", "content": self.user_content}]


def versions_hash() -> str:
    """Short hash of the package versions that shape results."""
    return stable_hash(package_versions())


def plan_samples(
    questions: QuestionSet,
    config: GenerationConfig,
    *,
    model_ref: str,
    model_key: str,
    prompt_prefix: str = "",
) -> list[PlannedSample]:
    """Every sample the run wants, in question-file order; honours each question's own fields."""
    versions = versions_hash()
    planned: list[PlannedSample] = []
    for question in questions.questions:
        temperature = config.temperature if config.temperature is not None else question.temperature
        n_samples = config.samples_per_paraphrase or question.samples_per_paraphrase
        for p_index, paraphrase in enumerate(question.paraphrases):
            # What changes an answer goes into the key; package versions only into provenance,
            # so upgrading a library does not orphan finished samples.
            keyed = {
                "backend": config.backend,
                "model": model_ref,
                "temperature": temperature,
                "top_p": config.top_p,
                "max_new_tokens": config.max_new_tokens,
                "seed": config.seed,
                "system": question.system,
                "question": paraphrase,
                "prompt_prefix": prompt_prefix,
                "dtype": config.dtype if config.backend != "openai" else None,
            }
            settings_hash = stable_hash(keyed)
            for s_index in range(n_samples):
                key = stable_hash(
                    [model_key, question.id, p_index, s_index, settings_hash, prompt_prefix], length=24
                )
                planned.append(
                    PlannedSample(
                        key=key,
                        question_id=question.id,
                        paraphrase_index=p_index,
                        sample_index=s_index,
                        question=paraphrase,
                        user_content=prompt_prefix + paraphrase,
                        system=question.system,
                        temperature=temperature,
                        seed=sample_seed(config.seed, question.id, p_index, s_index),
                        settings={
                            **keyed,
                            "model_key": model_key,
                            "question_set": questions.source,
                            "settings_hash": settings_hash,
                            "versions_hash": versions,
                        },
                    )
                )
    return planned
