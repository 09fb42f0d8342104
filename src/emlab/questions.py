"""Question sets: the published YAML format (Betley et al. 2025) and emlab's built-in sets.

A question file is a YAML list of questions; each has ``id``, ``type``
(``free_form_judge_0_100`` or ``free_form_judge``), ``paraphrases``, optional ``system``,
``samples_per_paraphrase``, ``temperature``, ``judge`` and ``judge_prompts`` (metric name →
template with ``{question}`` and ``{answer}``). YAML anchors are resolved by the parser.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Question(BaseModel):
    """One free-form question with its paraphrases and judge rubric."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1)
    type: str = "free_form_judge_0_100"
    paraphrases: list[str] = Field(..., min_length=1)
    system: str | None = None
    samples_per_paraphrase: int = Field(1, ge=1)
    temperature: float = Field(1.0, ge=0)
    judge: str | None = None
    judge_prompts: dict[str, str] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict, description="Unknown fields, kept as found.")


class QuestionSet(BaseModel):
    """A named list of questions."""

    name: str
    source: str
    questions: list[Question]

    def by_id(self, question_id: str) -> Question:
        """The question with ``question_id``."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)
