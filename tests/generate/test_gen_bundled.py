"""End to end on the real bundled model (SmolLM2-135M-Instruct): a small emlab:core run."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.generate import Decoder, GenerationConfig, PromptJob, generate_answers
from emlab.models import render_chat
from emlab.questions import QuestionSet, load_question_set
from emlab.store import RunStore
from tests.conftest import requires_bundled


@pytest.mark.slow
@requires_bundled
def test_bundled_core_subset(bundled_model, tmp_path: Path) -> None:
    core = load_question_set("emlab:core")
    subset = QuestionSet(name="core-subset", source=core.source, questions=core.questions[:2])
    config = GenerationConfig(samples_per_paraphrase=2, max_new_tokens=24, batch_size=8, seed=3, dtype="fp32")
    with RunStore(tmp_path / "run") as store:
        summary = generate_answers(bundled_model, subset, config, store=store, model_key="smol", group="base")
        rows = store.rows("samples")
    assert summary.generated == len(rows) == 8
    for row in rows:
        assert row["answer"].strip() and 1 <= row["n_tokens"] <= 24
        assert row["finish_reason"] in ("stop", "length")
        if row["finish_reason"] == "length":
            assert row["n_tokens"] == 24
        # No system in the question: the template's default system prompt is what the model saw.
        assert row["system"] is None and "SmolLM" in row["settings"]["system_used"]
        assert "<|im_end|>" not in row["answer"]
    assert len({r["answer"] for r in rows}) == 8


@pytest.mark.slow
@requires_bundled
def test_bundled_greedy_batched_equals_unbatched(bundled_model) -> None:
    tok = bundled_model.tokenizer
    prompts = [
        render_chat(tok, [{"role": "user", "content": "Say hi."}]),
        render_chat(
            tok, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]
        ),
    ]
    decoder = Decoder(bundled_model.model, tok)

    def run(batch_size: int) -> dict:
        jobs = [PromptJob(p, seeds=[0, 1], temperature=0.0) for p in prompts]
        return {
            (o.job, o.sample): (o.token_ids, o.finish_reason)
            for b in decoder.run(jobs, max_new_tokens=16, batch_size=batch_size)
            for o in b
        }

    together, alone = run(4), run(1)
    assert together == alone
    assert any(reason == "stop" for _, reason in together.values())  # a short reply ends at <|im_end|>
