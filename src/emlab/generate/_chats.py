"""``sample_chats``: raw generations for ad-hoc chats, without a run store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emlab.generate._decode import Decoder, PromptJob
from emlab.provenance import stable_hash


def sample_seed(*parts: Any) -> int:
    """A 63-bit seed derived from ``parts`` (e.g. run seed, question id, paraphrase, sample index)."""
    return int(stable_hash(list(parts), length=16), 16) & ((1 << 63) - 1)


def sample_chats(
    model: Any,
    chats: Sequence[Sequence[dict[str, str]]],
    *,
    n: int = 1,
    max_new_tokens: int = 600,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int = 0,
    batch_size: int = 64,
    ignore_eos: bool = False,
) -> list[list[str]]:
    """``n`` answers for each chat (a list of role/content dicts) from a loaded model; runs caller hooks."""
    from emlab.models import render_chat

    jobs = [
        PromptJob(
            prompt=render_chat(model.tokenizer, list(chat), add_generation_prompt=True),
            seeds=[sample_seed(seed, index, k) for k in range(n)],
            temperature=temperature,
        )
        for index, chat in enumerate(chats)
    ]
    answers: list[list[str]] = [[""] * n for _ in chats]
    decoder = Decoder(model.model, model.tokenizer)
    for outputs in decoder.run(
        jobs, max_new_tokens=max_new_tokens, top_p=top_p, batch_size=batch_size, ignore_eos=ignore_eos
    ):
        for out in outputs:
            answers[out.job][out.sample] = out.text
    return answers
