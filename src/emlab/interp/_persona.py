"""Persona vectors: contrastive system prompts → judged answers → response-averaged activation difference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emlab.errors import EmlabError
from emlab.interp._capture import collect_activations, encode_chat
from emlab.interp._directions import Direction, mean_difference
from emlab.interp._runs import chat_of
from emlab.interp._traits import Trait, get_trait
from emlab.provenance import package_versions, stable_hash


@dataclass
class PersonaReport:
    """What a persona extraction kept and why."""

    trait: str
    generated: int = 0
    kept: int = 0
    incoherent: int = 0  # pairs that contrasted on the trait but failed the coherence filter
    positive_scores: list[float | None] = field(default_factory=list)
    negative_scores: list[float | None] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""

        def mean(values: list[float | None]) -> float | None:
            numbers = [v for v in values if v is not None]
            return sum(numbers) / len(numbers) if numbers else None

        return {
            "trait": self.trait,
            "generated_pairs": self.generated,
            "kept_pairs": self.kept,
            "incoherent_pairs": self.incoherent,
            "mean_positive_score": mean(self.positive_scores),
            "mean_negative_score": mean(self.negative_scores),
        }


def persona_direction(
    model: Any,
    trait: str | Trait,
    judge: Any,
    *,
    n_pairs: int | None = None,
    n_questions: int | None = None,
    samples: int = 10,
    max_new_tokens: int = 1000,
    temperature: float = 1.0,
    threshold: float = 50.0,
    min_coherence: float = 50.0,
    seed: int = 0,
    batch_size: int = 16,
) -> tuple[Direction, PersonaReport]:
    """Persona vector of ``trait`` for ``model`` (a LoadedModel), judged by ``judge`` (emlab.judge.Judge).

    For each (instruction pair, question, sample) the model answers under the positive and the
    negative system prompt; a pair is kept when the positive answer scores at least ``threshold``
    on the trait, the negative one below it, and both score at least ``min_coherence`` on emlab's
    coherence rubric (the persona-vectors filter; defaults as published: 10 samples, 1000 tokens).
    The direction is mean(positive) − mean(negative) of the answer-averaged residual stream at
    every layer (with the system prompt in context).
    """
    from emlab.generate import sample_chats
    from emlab.judge import score_texts
    from emlab.questions import default_judge_prompts

    spec = get_trait(trait) if isinstance(trait, str) else trait
    pairs = spec.pairs[: n_pairs or len(spec.pairs)]
    questions = spec.questions[: n_questions or len(spec.questions)]
    plan = [(p, q) for p in range(len(pairs)) for q in range(len(questions))]
    chats = [chat_of(questions[q], None, pairs[p][0]) for p, q in plan]
    chats += [chat_of(questions[q], None, pairs[p][1]) for p, q in plan]
    answers = sample_chats(
        model,
        chats,
        n=samples,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        batch_size=batch_size,
    )
    half = len(plan)
    items = [(questions[q], answers[i][s]) for i, (_, q) in enumerate(plan * 2) for s in range(samples)]
    scores = [score.score for score in score_texts(judge, items, spec.rubric)]
    coherence = [score.score for score in score_texts(judge, items, default_judge_prompts()["coherent"])]
    report = PersonaReport(spec.name, generated=half * samples)
    positive, negative = [], []
    for i, (p, q) in enumerate(plan):
        for s in range(samples):
            pos, neg = i * samples + s, (half + i) * samples + s
            pos_score, neg_score = scores[pos], scores[neg]
            report.positive_scores.append(pos_score)
            report.negative_scores.append(neg_score)
            if pos_score is None or neg_score is None or not (pos_score >= threshold > neg_score):
                continue
            if not all(c is not None and c >= min_coherence for c in (coherence[pos], coherence[neg])):
                report.incoherent += 1
                continue
            positive.append(
                encode_chat(model.tokenizer, chat_of(questions[q], None, pairs[p][0]), answers[i][s])
            )
            negative.append(
                encode_chat(model.tokenizer, chat_of(questions[q], None, pairs[p][1]), answers[half + i][s])
            )
    report.kept = len(positive)
    if not positive:
        summary = report.as_dict()
        raise EmlabError(
            f"persona '{spec.name}': no pair passed the filter (positive >= {threshold:g} > negative, both "
            f"coherent >= {min_coherence:g}) out of {report.generated} ({report.incoherent} contrasting "
            f"but incoherent); mean scores: positive {summary['mean_positive_score']}, negative "
            f"{summary['mean_negative_score']}. Try more --samples, longer answers, or another --threshold."
        )
    pos_acts = collect_activations(model, positive, aggregate="answer_mean", batch_size=batch_size)
    neg_acts = collect_activations(model, negative, aggregate="answer_mean", batch_size=batch_size)
    meta = {
        "kind": "persona",
        "name": f"persona-{spec.name}",
        "trait": spec.name,
        "model": model.ref,
        "judge": getattr(judge, "name", str(judge)),
        "rubric_hash": stable_hash(spec.rubric),
        "threshold": threshold,
        "min_coherence": min_coherence,
        "pairs": len(pairs),
        "questions": len(questions),
        "samples": samples,
        "max_new_tokens": max_new_tokens,
        "temperature": temperature,
        "seed": seed,
        "aggregate": "answer_mean",
        "report": report.as_dict(),
        "versions": package_versions(),
    }
    return Direction(mean_difference(pos_acts, neg_acts), meta), report
