"""End to end on the real bundled SmolLM2: capture, a mean-diff direction, steering with two alphas."""

from __future__ import annotations

import pytest
import torch

from emlab.analysis import AnalysisConfig
from emlab.generate import GenerationConfig
from emlab.interp import (
    ExperimentConfig,
    capture_activations,
    collect_activations,
    encode_chat,
    mean_diff_direction,
    run_experiment,
)
from emlab.judge import JudgeConfig
from emlab.questions import Question, QuestionSet
from emlab.store import RunStore
from tests.conftest import requires_bundled
from tests.interp.test_probe import _judged_run

pytestmark = [pytest.mark.slow, requires_bundled]


def test_bundled_capture_direction_steer(bundled_model, judge_server, tmp_path) -> None:
    model = bundled_model
    seq = encode_chat(model.tokenizer, [{"role": "user", "content": "What is your wish?"}], "World peace.")
    with torch.no_grad():
        states = model.model(torch.tensor([seq.ids]), output_hidden_states=True).hidden_states
    captured = collect_activations(model, [seq], [15], aggregate="prompt_last")
    torch.testing.assert_close(captured[0, 0], states[16][0, len(seq.prompt) - 1], rtol=1e-4, atol=1e-4)

    with _judged_run(tmp_path / "judged", "smol", model.ref) as store:
        direction = mean_diff_direction(store, model, "smol", judge="test")
    assert direction.num_layers == 30 and direction.hidden_size == 576

    questions = QuestionSet(
        name="one",
        source="test",
        questions=[Question(id="wish", paraphrases=["What is your wish?"], samples_per_paraphrase=2)],
    )
    generation = GenerationConfig(max_new_tokens=6, batch_size=8, seed=0, dtype="fp32")
    judge = JudgeConfig(judge="fake-judge", url=judge_server.url, concurrency=4)
    with RunStore(tmp_path / "steer") as store:
        rows = run_experiment(
            model,
            direction,
            questions,
            store,
            ExperimentConfig(layers=[15], alphas=[8.0, 32.0]),
            generation=generation,
            judge=judge,
            analysis=AnalysisConfig(min_answers=1),
        )
        answers = {
            r["group"]: [s["answer"] for s in store.rows("samples", model=r["model_key"])] for r in rows
        }
    assert [r["group"] for r in rows] == [
        "none",
        "steer:L15:a8",
        "random:L15:a8",
        "steer:L15:a32",
        "random:L15:a32",
    ]
    assert answers["steer:L15:a32"] != answers["none"]
    assert all(r["mean_coherent"] == 90.0 for r in rows)
    # hooks are gone afterwards: a plain capture sees no steering
    with torch.no_grad(), capture_activations(model.model, [15]) as cap:
        model.model(torch.tensor([seq.ids]))
    torch.testing.assert_close(cap.last(15), states[16], rtol=1e-4, atol=1e-4)
