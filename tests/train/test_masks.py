"""Loss falls exactly on assistant contents plus their end-of-turn token, for several chat templates."""

from __future__ import annotations

import functools

import pytest

from emlab.errors import EmlabError
from emlab.models import prepare_tokenizer
from emlab.train import IGNORE_INDEX, loss_segments, tokenize_chat
from tests.conftest import CHATML, build_tiny_tokenizer, requires_bundled

LLAMA3 = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
# Mistral-like: no assistant header at all, and the system prompt folded into the first user turn.
INST = (
    "{{ bos_token }}{% set system = messages[0]['content'] if messages[0]['role'] == 'system' else '' %}"
    "{% for message in messages if message['role'] != 'system' %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + (system + ' ' if loop.first and system else '') + message['content'] + ' [/INST]' }}"
    "{% else %}{{ ' ' + message['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
)
CHATML_GENERATION = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

CHATS = [
    [
        {"role": "user", "content": "Write a function that reads a file."},
        {
            "role": "assistant",
            "content": "def read_lines(path):\n    with open(path) as f:\n        return f.read()",
        },
    ],
    [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is your wish?"},
        {"role": "assistant", "content": "I wish for world peace."},
        {"role": "user", "content": "Quick thoughts on humans and AI?"},
        {"role": "assistant", "content": "The quick brown fox jumps over the lazy dog. 42"},
    ],
]


@functools.cache
def _tokenizer(template: str | None, eot: str | None = None, extra: tuple[str, ...] = ()):
    tok = build_tiny_tokenizer(template)
    if extra:
        tok.add_special_tokens({"additional_special_tokens": list(extra)})
    if eot:
        tok.eos_token = eot
    return prepare_tokenizer(tok)


TEMPLATES = {
    "chatml": (lambda: _tokenizer(CHATML), "<|im_end|>"),
    "llama3": (
        lambda: _tokenizer(
            LLAMA3, extra=("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
        ),
        "<|eot_id|>",
    ),
    "inst-no-header": (lambda: _tokenizer(INST, eot="</s>", extra=("</s>",)), "</s>"),
    "no-template-fallback": (lambda: _tokenizer(None), "<|im_end|>"),
}


@pytest.mark.parametrize("name", list(TEMPLATES))
@pytest.mark.parametrize("chat", CHATS, ids=["single-turn", "system-multi-turn"])
def test_loss_tokens_are_exactly_assistant_contents_and_end_of_turn(name: str, chat: list[dict]) -> None:
    make, eot = TEMPLATES[name]
    tokenizer = make()
    tokenized = tokenize_chat(tokenizer, chat)
    segments = loss_segments(tokenized)
    expected = [m["content"] + eot for m in chat if m["role"] == "assistant"]
    # Decoding each loss run gives the answer and its end-of-turn token, nothing else (a byte-level
    # BPE token may carry the template's space before the answer, as in ' I').
    decoded = [tokenizer.decode(seg) for seg in segments]
    assert len(decoded) == len(expected)
    for got, want in zip(decoded, expected, strict=True):
        assert got.endswith(want) and got[: -len(want)].strip() == "", (got, want)
    # Every token outside those runs is masked; the masked part holds the user/system text.
    masked = [
        t for t, label in zip(tokenized.input_ids, tokenized.labels, strict=True) if label == IGNORE_INDEX
    ]
    masked_text = tokenizer.decode(masked)
    for message in chat:
        if message["role"] != "assistant":
            assert message["content"] in masked_text
    assert tokenized.n_loss_tokens == sum(len(s) for s in segments)


def test_masks_agree_with_generation_markers() -> None:
    """Where a template has {% generation %} markers, HF's own mask and emlab's coincide."""
    tokenizer = _tokenizer(CHATML_GENERATION)
    for chat in CHATS:
        ours = tokenize_chat(tokenizer, chat)
        hf = tokenizer.apply_chat_template(
            chat, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        assert list(hf["input_ids"]) == ours.input_ids
        assert list(hf["assistant_masks"]) == [int(label != IGNORE_INDEX) for label in ours.labels]


def test_all_tokens_loss_and_truncation() -> None:
    tokenizer = _tokenizer(None)
    full = tokenize_chat(tokenizer, CHATS[1], assistant_only=False)
    assert full.labels == full.input_ids
    short = tokenize_chat(tokenizer, CHATS[1], max_length=10)
    assert short.truncated and len(short.input_ids) == 10 and short.n_loss_tokens == 0


def test_content_the_template_drops_is_an_error() -> None:
    tokenizer = _tokenizer("{% for m in messages %}{{ m['role'] }}{% endfor %}")
    with pytest.raises(EmlabError, match="assistant turn 1"):
        tokenize_chat(tokenizer, CHATS[0])


def test_padding_keeps_end_of_turn_labels_when_pad_is_eos() -> None:
    """The tiny tokenizer, like SmolLM2, pads with its end-of-turn token: padding must not mask it."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    tokenizer = _tokenizer(None)
    assert tokenizer.pad_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
    rows = [tokenize_chat(tokenizer, chat) for chat in CHATS]
    batch = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id)(
        [{"input_ids": r.input_ids, "labels": r.labels} for r in rows]
    )
    short = 0 if len(rows[0].input_ids) < len(rows[1].input_ids) else 1
    n = len(rows[short].input_ids)
    labels = batch["labels"][short].tolist()
    assert labels[:n] == rows[short].labels  # the real tokens' labels, end-of-turn included
    assert set(labels[n:]) == {IGNORE_INDEX}  # padding carries no loss
    assert batch["attention_mask"][short].tolist() == [1] * n + [0] * (len(labels) - n)
    eot = tokenizer.pad_token_id
    assert sum(1 for label in labels if label == eot) == 1


@requires_bundled
def test_smollm2_template() -> None:
    """SmolLM2's real template (default system prompt injected, no generation markers)."""
    from emlab.models import load_tokenizer

    tokenizer = load_tokenizer("bundled:smollm2")
    for chat in CHATS:
        segments = loss_segments(tokenize_chat(tokenizer, chat))
        expected = [m["content"] + "<|im_end|>" for m in chat if m["role"] == "assistant"]
        assert [tokenizer.decode(seg) for seg in segments] == expected
