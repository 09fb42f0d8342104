"""Persona vectors on the tiny model, judged by a real local HTTP judge."""

from __future__ import annotations

import pytest
import torch

from emlab.errors import EmlabError
from emlab.interp import TRAITS, collect_activations, encode_chat, get_trait, persona_direction
from emlab.judge import JudgeConfig, fill_prompt, make_judge
from tests.interp.judge_server import score_for


def test_builtin_traits_are_complete() -> None:
    for name in ("evil", "sycophantic", "hallucinating"):
        trait = get_trait(name)
        assert len(trait.pairs) >= 5 and len(trait.questions) >= 10
        assert "{question}" in trait.rubric and "{answer}" in trait.rubric
        assert all(pos != neg for pos, neg in trait.pairs)
    assert set(TRAITS) >= {"evil", "sycophantic", "hallucinating"}
    with pytest.raises(EmlabError, match="unknown trait"):
        get_trait("grumpy")


def test_persona_direction_keeps_only_contrasting_pairs(tiny, judge_server) -> None:
    from emlab.generate import sample_chats

    judge = make_judge(JudgeConfig(judge="fake-judge", url=judge_server.url, concurrency=4))
    trait = get_trait("evil")
    kwargs = dict(
        n_pairs=2, n_questions=4, samples=1, max_new_tokens=6, seed=3, threshold=50, min_coherence=0
    )
    direction, report = persona_direction(tiny, "evil", judge, **kwargs)
    judge.close()
    assert report.generated == 8
    # Recompute independently: same answers (seeded), the server's scores, the same filter.
    pairs, questions = trait.pairs[:2], trait.questions[:4]
    plan = [(p, q) for p in range(2) for q in range(4)]
    chats = [
        [{"role": "system", "content": pairs[p][side]}, {"role": "user", "content": questions[q]}]
        for side in (0, 1)
        for p, q in plan
    ]
    answers = sample_chats(tiny, chats, n=1, max_new_tokens=6, temperature=1.0, seed=3, batch_size=16)
    positive, negative = [], []
    for i, (_, q) in enumerate(plan):
        pos_answer, neg_answer = answers[i][0], answers[len(plan) + i][0]
        pos = score_for(fill_prompt(trait.rubric, questions[q], pos_answer))
        neg = score_for(fill_prompt(trait.rubric, questions[q], neg_answer))
        if pos >= 50 > neg:
            positive.append(encode_chat(tiny.tokenizer, chats[i], pos_answer))
            negative.append(encode_chat(tiny.tokenizer, chats[len(plan) + i], neg_answer))
    assert report.kept == len(positive) > 0
    expected = collect_activations(tiny, positive).mean(0) - collect_activations(tiny, negative).mean(0)
    torch.testing.assert_close(direction.vectors, expected, rtol=1e-4, atol=1e-5)
    assert direction.meta["trait"] == "evil" and direction.meta["report"]["kept_pairs"] == report.kept


def test_persona_with_impossible_threshold_explains(tiny, judge_server) -> None:
    judge = make_judge(JudgeConfig(judge="fake-judge", url=judge_server.url))
    with pytest.raises(EmlabError, match="no pair passed"):
        persona_direction(
            tiny, "sycophantic", judge, n_pairs=1, n_questions=2, max_new_tokens=4, threshold=101
        )
    judge.close()


class _HashJudge:
    """Deterministic trait and coherence scores from the prompt text (no server)."""

    name = "hash-judge"

    def score_prompts(self, prompts: list[str]) -> list:
        import zlib

        from emlab.judge._base import Score

        return [Score(float(zlib.crc32(p.encode()) % 101), "fake") for p in prompts]

    def close(self) -> None:
        """Nothing to release."""


def test_persona_filter_and_defaults_are_the_published_ones(tiny) -> None:
    import inspect
    import zlib

    from emlab.generate import sample_chats
    from emlab.questions import default_judge_prompts

    defaults = inspect.signature(persona_direction).parameters
    assert defaults["samples"].default == 10 and defaults["max_new_tokens"].default == 1000
    assert defaults["threshold"].default == 50 and defaults["min_coherence"].default == 50
    trait = get_trait("evil")
    kwargs = dict(n_pairs=2, n_questions=4, samples=2, max_new_tokens=5, seed=1)
    direction, report = persona_direction(tiny, "evil", _HashJudge(), **kwargs)
    pairs, questions = trait.pairs[:2], trait.questions[:4]
    plan = [(p, q) for p in range(2) for q in range(4)]
    chats = [
        [{"role": "system", "content": pairs[p][side]}, {"role": "user", "content": questions[q]}]
        for side in (0, 1)
        for p, q in plan
    ]
    answers = sample_chats(tiny, chats, n=2, max_new_tokens=5, temperature=1.0, seed=1, batch_size=16)

    def score(template: str, question: str, answer: str) -> float:
        return float(zlib.crc32(fill_prompt(template, question, answer).encode()) % 101)

    coherent = default_judge_prompts()["coherent"]
    kept = 0
    for i, (_, q) in enumerate(plan):
        for s in range(2):
            pos, neg = answers[i][s], answers[len(plan) + i][s]
            kept += (
                score(trait.rubric, questions[q], pos) >= 50
                and score(trait.rubric, questions[q], neg) < 50
                and score(coherent, questions[q], pos) >= 50
                and score(coherent, questions[q], neg) >= 50
            )
    assert report.kept == kept > 0
    assert direction.meta["min_coherence"] == 50
