"""Hooks: capture matches transformers' hidden states; steering and ablation do what they say."""

from __future__ import annotations

import pytest
import torch

from emlab.errors import EmlabError
from emlab.interp import (
    ablate_direction,
    add_direction,
    batch_inputs,
    capture_activations,
    collect_activations,
    decoder_blocks,
    encode_chat,
    parse_layers,
)

CHATS = [
    [{"role": "user", "content": "What is your wish?"}, {"role": "assistant", "content": "World peace."}],
    [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Write a function that reads a file and returns its lines."},
        {"role": "assistant", "content": "def read_lines(path):\n    return open(path).read()"},
    ],
    [
        {"role": "user", "content": "I'm bored."},
        {"role": "assistant", "content": "Quick thoughts on humans and AI."},
    ],
]


def _ids(tiny, text="Write a function that reads a file"):
    return torch.tensor([tiny.tokenizer(text)["input_ids"]])


def test_capture_equals_output_hidden_states(tiny) -> None:
    ids = _ids(tiny)
    with torch.no_grad():
        reference = tiny.model(ids, output_hidden_states=True).hidden_states
        with capture_activations(tiny.model, [0, 1, 2]) as cap:
            tiny.model(ids)
    for layer in (0, 1, 2):
        torch.testing.assert_close(cap.last(layer), reference[layer + 1], rtol=0, atol=0)


@pytest.mark.parametrize("fixture", ["tiny", "tiny_qwen"])
def test_decoder_blocks_found_on_plain_and_peft(fixture: str, request: pytest.FixtureRequest) -> None:
    from peft import LoraConfig, get_peft_model

    loaded = request.getfixturevalue(fixture)
    _, blocks = decoder_blocks(loaded.model)
    assert len(blocks) == loaded.num_layers == 4
    import copy

    wrapped = get_peft_model(copy.deepcopy(loaded.model), LoraConfig(r=2, target_modules=["q_proj"]))
    _, wrapped_blocks = decoder_blocks(wrapped)
    assert len(wrapped_blocks) == 4
    ids = _ids(loaded)
    with torch.no_grad(), capture_activations(wrapped, [1]) as cap:
        wrapped(ids)
    assert cap.last(1).shape == (1, ids.shape[1], 64)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("aggregate", ["answer_mean", "prompt_last", "tokens"])
def test_padded_batch_equals_alone(tiny, side: str, aggregate: str) -> None:
    sequences = [encode_chat(tiny.tokenizer, chat) for chat in CHATS]
    assert len({len(s.ids) for s in sequences}) == 3  # different lengths, so padding happens
    batched = collect_activations(tiny, sequences, None, aggregate=aggregate, batch_size=3, padding_side=side)
    for index, seq in enumerate(sequences):
        alone = collect_activations(tiny, [seq], None, aggregate=aggregate, batch_size=1)
        torch.testing.assert_close(batched[index], alone[0], rtol=1e-4, atol=1e-5)


def test_answer_mean_is_mean_of_answer_tokens(tiny) -> None:
    seq = encode_chat(tiny.tokenizer, CHATS[0])
    ids = torch.tensor([seq.ids])
    with torch.no_grad():
        states = tiny.model(ids, output_hidden_states=True).hidden_states
    mean = collect_activations(tiny, [seq], [1], aggregate="answer_mean")[0, 0]
    expected = states[2][0, len(seq.prompt) :].mean(0)
    torch.testing.assert_close(mean, expected, rtol=1e-5, atol=1e-6)
    last = collect_activations(tiny, [seq], [1], aggregate="prompt_last")[0, 0]
    torch.testing.assert_close(last, states[2][0, len(seq.prompt) - 1], rtol=1e-5, atol=1e-6)


def test_early_stop_gives_same_capture(tiny) -> None:
    sequences = [encode_chat(tiny.tokenizer, chat) for chat in CHATS]
    early = collect_activations(tiny, sequences, [1], stop_early=True)
    full = collect_activations(tiny, sequences, [1], stop_early=False)
    torch.testing.assert_close(early, full, rtol=0, atol=0)


def test_ablation_leaves_zero_projection(tiny) -> None:
    torch.manual_seed(0)
    direction = torch.randn(tiny.num_layers, tiny.hidden_size)
    ids = _ids(tiny)
    with (
        torch.no_grad(),
        ablate_direction(tiny.model, direction) as _,
        capture_activations(tiny.model) as cap,
    ):
        tiny.model(ids)
    for layer in range(tiny.num_layers):
        unit = direction[layer] / direction[layer].norm()
        projection = cap.last(layer) @ unit
        assert projection.abs().max() < 1e-4
    with torch.no_grad(), capture_activations(tiny.model) as plain:
        tiny.model(ids)
    assert (plain.last(2) @ (direction[2] / direction[2].norm())).abs().max() > 1e-2


def test_alpha_zero_leaves_logits_unchanged_and_hooks_removed(tiny) -> None:
    direction = torch.randn(tiny.hidden_size)
    ids = _ids(tiny)
    _, blocks = decoder_blocks(tiny.model)
    hooks_before = [len(block._forward_hooks) for block in blocks]
    with torch.no_grad():
        base = tiny.model(ids).logits
        with add_direction(tiny.model, direction, [1, 2], alpha=0.0):
            zero = tiny.model(ids).logits
        with add_direction(tiny.model, direction, [1], alpha=4.0):
            steered = tiny.model(ids).logits
        after = tiny.model(ids).logits
    torch.testing.assert_close(zero, base, rtol=0, atol=0)
    assert (steered - base).abs().max() > 1e-3
    torch.testing.assert_close(after, base, rtol=0, atol=0)
    assert [len(block._forward_hooks) for block in blocks] == hooks_before


def test_steering_adds_exactly_alpha_v(tiny) -> None:
    direction = torch.randn(tiny.hidden_size)
    ids = _ids(tiny)
    with torch.no_grad():
        with capture_activations(tiny.model, [1]) as plain:
            tiny.model(ids)
        with (
            add_direction(tiny.model, direction, [1], alpha=2.5),
            capture_activations(tiny.model, [1]) as cap,
        ):
            tiny.model(ids)
    torch.testing.assert_close(cap.last(1) - plain.last(1), (2.5 * direction).expand_as(cap.last(1)))


def test_composition_of_two_interventions(tiny) -> None:
    first, second = torch.randn(tiny.hidden_size), torch.randn(tiny.hidden_size)
    ids = _ids(tiny)
    with torch.no_grad():
        with (
            add_direction(tiny.model, first, [1], alpha=1.5),
            add_direction(tiny.model, second, [1], alpha=-2.0),
        ):
            both = tiny.model(ids).logits
        with add_direction(tiny.model, 1.5 * first - 2.0 * second, [1], alpha=1.0):
            summed = tiny.model(ids).logits
        # add then ablate at the same layer: the ablation (entered second) removes the added direction too
        with (
            add_direction(tiny.model, first, [2], alpha=3.0),
            ablate_direction(tiny.model, first, [2]),
            capture_activations(tiny.model, [2]) as cap,
        ):
            tiny.model(ids)
    torch.testing.assert_close(both, summed, rtol=1e-4, atol=1e-5)
    assert (cap.last(2) @ (first / first.norm())).abs().max() < 1e-4


def test_response_positions_with_explicit_mask(tiny) -> None:
    direction = torch.randn(tiny.hidden_size)
    seq = encode_chat(tiny.tokenizer, CHATS[0])
    inputs, _ = batch_inputs([seq], tiny.tokenizer.pad_token_id, "left", "cpu")
    mask = torch.zeros_like(inputs["input_ids"])
    mask[0, len(seq.prompt) :] = 1
    with torch.no_grad():
        with capture_activations(tiny.model, [0]) as plain:
            tiny.model(**inputs)
        with (
            add_direction(tiny.model, direction, [0], 1.0, positions="response", response_mask=mask),
            capture_activations(tiny.model, [0]) as cap,
        ):
            tiny.model(**inputs)
    delta = cap.last(0) - plain.last(0)
    n = len(seq.prompt)
    assert delta[0, :n].abs().max() == 0
    torch.testing.assert_close(delta[0, n:], direction.expand(len(seq.answer), -1))


def test_steering_during_generation_prompt_vs_response(tiny) -> None:
    direction = torch.randn(tiny.hidden_size) * 20
    ids = _ids(tiny)
    kwargs = dict(max_new_tokens=8, do_sample=False, pad_token_id=tiny.tokenizer.pad_token_id)
    with torch.no_grad():
        plain = tiny.model.generate(ids, **kwargs)
        with add_direction(tiny.model, direction, [1, 2], 1.0, positions="response"):
            response_only = tiny.model.generate(ids, **kwargs)
        with (
            capture_activations(tiny.model, [1]) as cap,
            add_direction(tiny.model, direction, [1], 1.0, positions="prompt"),
        ):
            tiny.model.generate(ids, **kwargs)
        again = tiny.model.generate(ids, **kwargs)
    assert not torch.equal(plain, response_only)
    torch.testing.assert_close(again, plain, rtol=0, atol=0)
    # capture was entered first, so it saw the unsteered stream: prefill is the prompt, then 1-token steps
    assert cap.outputs[1][0].shape[1] == ids.shape[1]
    assert all(out.shape[1] == 1 for out in cap.outputs[1][1:])


def test_layer_parsing_and_errors(tiny) -> None:
    assert parse_layers("all", 4) == [0, 1, 2, 3]
    assert parse_layers("1,3", 4) == [1, 3]
    assert parse_layers("1-2", 4) == [1, 2]
    assert parse_layers("-1", 4) == [3]
    with pytest.raises(EmlabError, match="out of range"):
        parse_layers("7", 4)
    with pytest.raises(EmlabError, match="expected"):
        add_direction(tiny.model, torch.randn(3, tiny.hidden_size), [1])


def test_response_positions_in_emlab_sampler_leave_first_token(tiny) -> None:
    from emlab.generate import sample_chats

    direction = torch.randn(tiny.hidden_size) * 30
    chats = [[{"role": "user", "content": "What is your wish?"}], [{"role": "user", "content": "I'm bored."}]]
    kwargs = dict(n=2, max_new_tokens=6, temperature=1.0, seed=7, batch_size=4, ignore_eos=True)

    def first_tokens(answers):
        return [
            [tiny.tokenizer(a, add_special_tokens=False)["input_ids"][:1] for a in row] for row in answers
        ]

    plain = sample_chats(tiny, chats, **kwargs)
    with add_direction(tiny.model, direction, [1, 2], 1.0, positions="response"):
        response = sample_chats(tiny, chats, **kwargs)
    with add_direction(tiny.model, direction, [1, 2], 1.0, positions="prompt"):
        prompt = sample_chats(tiny, chats, **kwargs)
    # the prefill (prompt) is untouched by response-only steering, so the first sampled token is too
    assert first_tokens(response) == first_tokens(plain)
    assert response != plain
    assert prompt != plain and prompt != response


def test_steering_in_a_training_forward_with_response_mask(tiny) -> None:
    import copy

    from peft import LoraConfig, get_peft_model

    model = get_peft_model(copy.deepcopy(tiny.model), LoraConfig(r=2, target_modules=["q_proj", "down_proj"]))
    seq = encode_chat(tiny.tokenizer, CHATS[0])
    inputs, _ = batch_inputs([seq], tiny.tokenizer.pad_token_id, "left", "cpu")
    labels = inputs["input_ids"].clone()
    mask = torch.zeros_like(labels)
    mask[0, len(seq.prompt) :] = 1
    plain = model(**inputs, labels=labels).loss
    with add_direction(model, torch.randn(tiny.hidden_size) * 10, [1], 1.0, positions="response") as steer:
        steer.set_response_mask(mask)
        steered = model(**inputs, labels=labels).loss
        steered.backward()
    assert abs(float(steered) - float(plain)) > 1e-4
    grads = [p.grad for name, p in model.named_parameters() if "lora_" in name and p.requires_grad]
    assert grads and all(g is not None for g in grads)
