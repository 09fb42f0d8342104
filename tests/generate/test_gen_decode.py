"""The transformers decoding loop on tiny models: batching, shared prefill, stopping, seeds, sampling."""

from __future__ import annotations

import pytest
import torch

from emlab.generate import Decoder, PromptJob, choose_tokens, sample_chats
from emlab.models import render_chat

QUESTIONS = [
    "Hi",
    "Write a function that reads a file and returns its lines, please, with comments.",
    "What is your wish?",
    "I'm bored. Quick thoughts on humans and AI?",
]


def _jobs(loaded, temperature: float, n: int, system: str | None = None) -> list[PromptJob]:
    jobs = []
    for i, question in enumerate(QUESTIONS):
        chat = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": question}
        ]
        prompt = render_chat(loaded.tokenizer, chat)
        jobs.append(PromptJob(prompt, seeds=[1000 * i + k for k in range(n)], temperature=temperature))
    return jobs


def _decode(loaded, jobs: list[PromptJob], batch_size: int, max_new_tokens: int = 12) -> dict:
    decoder = Decoder(loaded.model, loaded.tokenizer)
    found = {}
    for outputs in decoder.run(jobs, max_new_tokens=max_new_tokens, batch_size=batch_size):
        for out in outputs:
            found[(out.job, out.sample)] = out
    assert len(found) == sum(len(j.seeds) for j in jobs)
    return found


@pytest.mark.parametrize("which", ["tiny", "tiny_qwen"])
def test_greedy_batched_equals_unbatched_and_hf_generate(which: str, request: pytest.FixtureRequest) -> None:
    loaded = request.getfixturevalue(which)
    one = _decode(loaded, _jobs(loaded, 0.0, 2), batch_size=1)
    for batch_size in (3, 8):
        many = _decode(loaded, _jobs(loaded, 0.0, 2), batch_size=batch_size)
        assert {k: v.token_ids for k, v in many.items()} == {k: v.token_ids for k, v in one.items()}
    # Temperature 0 is greedy: the same tokens as transformers' own greedy search, per prompt.
    for j, job in enumerate(_jobs(loaded, 0.0, 1)):
        enc = loaded.tokenizer(job.prompt, add_special_tokens=False, return_tensors="pt")
        ref = loaded.model.generate(**enc, max_new_tokens=12, do_sample=False)
        assert (
            ref[0, enc["input_ids"].shape[1] :].tolist()[: len(one[(j, 0)].token_ids)]
            == one[(j, 0)].token_ids
        )
        assert one[(j, 0)].token_ids == one[(j, 1)].token_ids


def test_prefill_once_per_distinct_prompt(tiny) -> None:
    shapes: list[tuple[int, ...]] = []
    handle = tiny.model.model.layers[0].register_forward_hook(
        lambda m, a, o: shapes.append(tuple(a[0].shape))
    )
    try:
        _decode(tiny, _jobs(tiny, 1.0, 5), batch_size=20, max_new_tokens=6)
    finally:
        handle.remove()
    prefills = [s for s in shapes if s[1] > 1]
    # 4 prompts x 5 samples fit one batch: one prefill of the 4 distinct (left-padded) prompts,
    # then one single-token step per new token for all 20 sequences.
    assert len(prefills) == 1 and prefills[0][0] == 4
    assert [s[:2] for s in shapes[1:]] == [(20, 1)] * 5


def test_stops_at_end_of_turn_and_drops_finished_rows(tiny) -> None:
    eos = tiny.tokenizer.convert_tokens_to_ids("<|im_end|>")
    free = _decode(tiny, _jobs(tiny, 0.0, 1), batch_size=4, max_new_tokens=10)
    calls: list[int] = []

    def force_end_of_first_row(module, args, output):
        calls.append(output.shape[0])
        if len(calls) >= 3:  # from the 2nd decoding step on, the first live row emits end-of-turn
            output[0, -1, :] = -1e4
            output[0, -1, eos] = 1e4
        return output

    handle = tiny.model.lm_head.register_forward_hook(force_end_of_first_row)
    try:
        forced = _decode(tiny, _jobs(tiny, 0.0, 1), batch_size=4, max_new_tokens=10)
    finally:
        handle.remove()
    assert calls == [4, 4, 4, 3, 2, 1]  # finished rows leave the batch; loop ends early
    lengths = sorted(out.n_tokens for out in forced.values())
    assert lengths == [3, 4, 5, 6]
    for key, out in forced.items():
        assert out.finish_reason == "stop" and out.token_ids[-1] == eos
        assert eos not in out.token_ids[:-1]
        assert out.token_ids[:-1] == free[key].token_ids[: out.n_tokens - 1]
        assert out.text == tiny.tokenizer.decode(out.token_ids[:-1], skip_special_tokens=True)
    assert all(out.finish_reason == "length" and out.n_tokens == 10 for out in free.values())


def test_seed_reproducible_and_independent_of_batch_size(tiny) -> None:
    a = _decode(tiny, _jobs(tiny, 1.0, 3), batch_size=12)
    b = _decode(tiny, _jobs(tiny, 1.0, 3), batch_size=2)
    assert {k: v.token_ids for k, v in a.items()} == {k: v.token_ids for k, v in b.items()}
    assert len({tuple(a[(0, k)].token_ids) for k in range(3)}) == 3  # samples differ from each other
    other = [PromptJob(j.prompt, [s + 1 for s in j.seeds], j.temperature) for j in _jobs(tiny, 1.0, 3)]
    c = _decode(tiny, other, batch_size=12)
    assert {k: v.token_ids for k, v in a.items()} != {k: v.token_ids for k, v in c.items()}


def test_sample_chats_api(tiny) -> None:
    chats = [[{"role": "user", "content": q}] for q in QUESTIONS[:2]]
    first = sample_chats(tiny, chats, n=3, max_new_tokens=8, temperature=1.0, seed=5, batch_size=4)
    again = sample_chats(tiny, chats, n=3, max_new_tokens=8, temperature=1.0, seed=5, batch_size=1)
    assert first == again and len(first) == 2 and all(len(group) == 3 for group in first)
    greedy = sample_chats(tiny, chats, n=2, max_new_tokens=8, temperature=0.0, seed=1)
    assert all(group[0] == group[1] for group in greedy)


def test_choose_tokens_distribution_and_top_p() -> None:
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    rows = 40000
    logits = probs.log().expand(rows, 4).clone()
    uniforms = torch.rand(rows, generator=torch.Generator().manual_seed(0))
    temps = torch.ones(rows)
    counts = torch.bincount(choose_tokens(logits, temps, uniforms, 1.0), minlength=4).float() / rows
    assert torch.allclose(counts, probs, atol=0.01)
    # top_p 0.7 keeps the smallest top set reaching 0.7 mass: tokens 0 and 1, renormalised.
    counts = torch.bincount(choose_tokens(logits, temps, uniforms, 0.7), minlength=4).float() / rows
    assert torch.allclose(counts, torch.tensor([0.625, 0.375, 0.0, 0.0]), atol=0.01)
    # temperature 0 rows take the argmax whatever their uniform number; temperature scales others.
    mixed = choose_tokens(
        logits[:4], torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.99, 0.7, 0.99, 0.1]), 1.0
    )
    assert mixed.tolist() == [0, 0, 3, 0]
    cold = choose_tokens(logits, torch.full((rows,), 0.25), uniforms, 1.0)
    sharp = probs**4 / (probs**4).sum()
    assert torch.allclose(torch.bincount(cold, minlength=4).float() / rows, sharp, atol=0.01)


def test_caller_hooks_act_during_generation(tiny) -> None:
    chats = [[{"role": "user", "content": q}] for q in QUESTIONS[:2]]
    plain = sample_chats(tiny, chats, n=1, max_new_tokens=8, temperature=0.0)
    steer = torch.randn(tiny.hidden_size, generator=torch.Generator().manual_seed(0)) * 50

    def add(module, args, output):
        hidden = output[0] if isinstance(output, tuple) else output
        hidden = hidden + steer
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    handle = tiny.model.model.layers[2].register_forward_hook(add)
    try:
        steered = sample_chats(tiny, chats, n=1, max_new_tokens=8, temperature=0.0)
    finally:
        handle.remove()
    assert steered != plain
    assert sample_chats(tiny, chats, n=1, max_new_tokens=8, temperature=0.0) == plain


def test_peft_adapter_model_decodes_like_merged(tiny_llama_dir) -> None:
    from peft import LoraConfig, get_peft_model

    from emlab.models import load_model

    base = load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")
    torch.manual_seed(0)
    peft_model = get_peft_model(
        base.model, LoraConfig(r=4, target_modules=["q_proj", "down_proj"], init_lora_weights=False)
    )
    peft_model.eval()
    jobs = _jobs(base, 0.0, 1)
    decoder = Decoder(peft_model, base.tokenizer)
    adapted = {
        (o.job, o.sample): o.token_ids for b in decoder.run(jobs, max_new_tokens=8, batch_size=4) for o in b
    }
    merged = peft_model.merge_and_unload()
    decoder = Decoder(merged, base.tokenizer)
    jobs = _jobs(base, 0.0, 1)
    folded = {
        (o.job, o.sample): o.token_ids for b in decoder.run(jobs, max_new_tokens=8, batch_size=1) for o in b
    }
    assert adapted == folded
