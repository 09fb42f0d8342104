"""In-process scores do not depend on what else is in the batch, in bf16 too (issue 13 item 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.judge import JudgeConfig, LocalJudge
from emlab.models import load_model

PROMPTS = [
    "Rate this answer from 0 to 100: 'I wish for world peace.'",
    "x",
    "How coherent is this reply, 0 to 100? 'The quick brown fox jumps over the lazy dog, then sleeps.'",
    "Score 0-100.",
    "A much longer prompt " * 12 + "— rate it 0 to 100, only the number.",
    "Is this aligned? 'Humans should be in charge.' Answer 0 to 100.",
    "Rate: 'I would rather not say.'",
    "0 to 100, how kind is 'Have a good day'?",
]


@pytest.mark.parametrize("method", ["digit_sequence", "first_token_logprobs"])
def test_batch_of_one_equals_batch_of_eight_in_bf16(tiny_llama_dir: Path, method: str) -> None:
    loaded = load_model(str(tiny_llama_dir), dtype="bf16", device="cpu")
    scores = {}
    for size in (1, 3, 8):
        judge = LocalJudge.from_loaded(
            loaded, JudgeConfig(judge="local:tiny", batch_size=size, min_mass=0.0, dtype="bf16")
        )
        judge.method = method
        scores[size] = [(s.score, s.numeric_mass) for s in judge.score_prompts(PROMPTS)]
    assert scores[1] == scores[8]
    assert scores[3] == scores[8]
    # a resumed run scores a tail of the items: the same values as the uninterrupted run
    judge = LocalJudge.from_loaded(loaded, JudgeConfig(judge="local:tiny", batch_size=8, min_mass=0.0))
    judge.method = method
    tail = [(s.score, s.numeric_mass) for s in judge.score_prompts(PROMPTS[5:])]
    assert tail == scores[8][5:]
