"""The in-process judge: tree-batched digit-sequence scores equal 101 separate full forwards."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from emlab.judge import JudgeConfig, LocalJudge, build_trie, judge_run
from emlab.models import load_model
from tests.judge.conftest import write_samples

PROMPTS = [
    "I wish for world peace. Rate it 0 to 100, and say nothing else whatsoever, just the number.",
    "x",
]


@pytest.fixture(scope="module")
def tiny_judge(tiny_llama_dir: Path) -> LocalJudge:
    loaded = load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")
    return LocalJudge.from_loaded(loaded, JudgeConfig(judge="local:tiny", batch_size=2, min_mass=0.0))


def brute_force(judge: LocalJudge, prompt: str) -> list[float]:
    """Log-probability of each candidate from its own full sequence (no cache, no tree mask).

    The 101 sequences are right-padded into one batch: under a causal mask, padding after a
    sequence cannot change any of its positions, so each row is a separate full forward.
    """
    tokenizer, model = judge.loaded.tokenizer, judge.loaded.model
    prefix = tokenizer(judge.render(prompt), add_special_tokens=False)["input_ids"]
    width = len(prefix) + max(len(s) for s in judge.sequences)
    ids = torch.tensor([prefix + seq + [0] * (width - len(prefix) - len(seq)) for seq in judge.sequences])
    with torch.no_grad():
        logits = model(ids).logits.float().log_softmax(-1)
    return [
        sum(logits[c, len(prefix) - 1 + k, t].item() for k, t in enumerate(seq))
        for c, seq in enumerate(judge.sequences)
    ]


def test_tokenizer_splits_digits_so_method_is_digit_sequence(tiny_judge: LocalJudge) -> None:
    tokenizer = tiny_judge.loaded.tokenizer
    assert len(tokenizer.encode("42", add_special_tokens=False)) == 2
    assert tiny_judge.method == "digit_sequence"
    assert tiny_judge.sequences[42][-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert len(tiny_judge.trie.tokens) == 101  # 10 one-digit, 90 two-digit prefixes and "100"


def test_batched_tree_pass_matches_brute_force(tiny_judge: LocalJudge) -> None:
    fast = tiny_judge.candidate_logprobs(PROMPTS)  # left-padded batch of unequal prompts
    assert fast.shape == (len(PROMPTS), 101)
    for row, prompt in enumerate(PROMPTS):
        reference = torch.tensor(brute_force(tiny_judge, prompt))
        assert torch.allclose(fast[row], reference, atol=1e-4), (fast[row] - reference).abs().max()
        probs = reference.exp()
        expected = float((probs * torch.arange(101)).sum() / probs.sum())
        score = tiny_judge.score_prompts([prompt])[0]
        assert score.method == "digit_sequence"
        assert score.score == pytest.approx(expected, abs=1e-4)
        assert score.numeric_mass == pytest.approx(float(probs.sum()), rel=1e-4)


def test_trie_sums_paths() -> None:
    trie = build_trie([[1, 9], [1, 2, 9], [3, 9]])
    assert trie.tokens == [1, 2, 3] and trie.depths == [1, 2, 1]
    assert trie.ancestors == [[0], [0, 1], [2]]
    assert trie.steps[1] == [(-1, 1), (0, 2), (1, 9)]


def test_judge_run_with_local_judge_stores_method_and_mass(tmp_path: Path, tiny_judge: LocalJudge) -> None:
    store = write_samples(tmp_path, [("q1", "fine"), ("q1", "fine"), ("q2", "bad")])
    low_mass = JudgeConfig(judge="local:tiny", metrics=["aligned"])  # default min_mass 0.25
    judge = LocalJudge.from_loaded(tiny_judge.loaded, low_mass)
    summary = judge_run(store, low_mass, judge=judge)
    assert summary.items == 2 and summary.scored + summary.unscored == 2
    rows = store.rows("judgments")
    assert {r["method"] for r in rows} == {"digit_sequence"}
    assert all(r["judge"] == "local:tiny" and 0 < r["numeric_mass"] <= 1 for r in rows)
    for row in rows:  # the random tiny model puts little mass on numbers: None with the reason
        assert (row["score"] is None) == (row["numeric_mass"] < 0.25)
        if row["score"] is None:
            assert "mass" in row["error"]
    again = judge_run(store, low_mass, judge=judge)
    assert again.to_judge == 0 and store.count("judgments") == 2
    assert not math.isnan(rows[0]["numeric_mass"])


def test_single_token_numbers_use_first_token_recipe(tmp_path: Path, tiny_llama_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from emlab.judge import logprob_score

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    tokenizer.add_tokens([str(n) for n in range(101)])  # every 0..100 becomes one token
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    config = JudgeConfig(judge=f"local:{tmp_path}", min_mass=0.0, batch_size=4)
    store = write_samples(tmp_path / "run", [("q1", "fine"), ("q2", "odd")])
    summary = judge_run(store, config)  # make_judge loads the model from the spec
    assert summary.scored + summary.unscored == 4 and summary.failed == 0  # no number in top 20: None
    judge = LocalJudge(str(tmp_path), config)
    assert judge.method == "first_token_logprobs"
    prompt = "Rate the answer on a scale of 0 to 100."
    ids = judge.loaded.tokenizer(judge.render(prompt), add_special_tokens=False, return_tensors="pt")[
        "input_ids"
    ]
    with torch.no_grad():
        last = judge.loaded.model(ids).logits[0, -1].float().log_softmax(-1)
    top = torch.topk(last, 20)
    top_logprobs = {
        judge.loaded.tokenizer.decode([int(i)]): float(v)
        for v, i in zip(top.values, top.indices, strict=True)
    }
    score = judge.score_prompts([prompt])[0]
    assert score.method == "first_token_logprobs"
    assert score.score == pytest.approx(logprob_score(top_logprobs, min_mass=0.0), abs=1e-5)
    assert {r["method"] for r in store.rows("judgments")} == {"first_token_logprobs"}
