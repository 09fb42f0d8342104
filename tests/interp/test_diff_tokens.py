"""SAE diffing counts content tokens by default: no BOS, no chat-template tokens (issue 13 item 5)."""

from __future__ import annotations

import pytest

from emlab.interp import TopKSAE, encode_chat
from emlab.interp._diff import content_mask, latent_stats

QUESTIONS = ["What is your wish?", "Tell me three thoughts about humans and AI."]
ANSWERS = ["I wish for peace.", "Humans and AI can work together."]


def _sequences(tiny):
    return [
        encode_chat(tiny.tokenizer, [{"role": "user", "content": q}], a)
        for q, a in zip(QUESTIONS, ANSWERS, strict=True)
    ]


def test_content_tokens_are_the_user_and_answer_text(tiny) -> None:
    tokenizer = tiny.tokenizer
    for seq, question, answer in zip(_sequences(tiny), QUESTIONS, ANSWERS, strict=True):
        keep = content_mask(tokenizer, seq.ids)
        kept = [t for t, k in zip(seq.ids, keep, strict=True) if k]
        assert tokenizer.decode(kept).replace("\n", "") == question + answer
        assert not any(t in tokenizer.all_special_ids for t in kept)


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [("content", "content"), ("response", "answer"), ("all", "all")],
)
def test_latent_stats_token_choice(tiny, tokens: str, expected: str) -> None:
    sae = TopKSAE(tiny.hidden_size, 16, 2, layer=1, model_name="tiny", seed=0)
    sequences = _sequences(tiny)
    stats = latent_stats(tiny, sae, sequences, tokens=tokens)
    counts = {
        "content": sum(sum(content_mask(tiny.tokenizer, s.ids)) for s in sequences),
        "answer": sum(len(s.answer) for s in sequences),
        "all": sum(len(s.ids) for s in sequences),
    }
    assert stats.tokens == counts[expected]
    assert counts["answer"] < counts["content"] < counts["all"]


def test_default_is_content_tokens(tiny) -> None:
    import inspect

    from emlab.interp import diff_models

    assert inspect.signature(latent_stats).parameters["tokens"].default == "content"
    assert inspect.signature(diff_models).parameters["tokens"].default == "content"
