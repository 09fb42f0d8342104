"""Tokenise chats with labels on assistant tokens only, for any chat template.

``return_assistant_tokens_mask`` needs ``{% generation %}`` markers that most templates (SmolLM2's,
Llama-3's) lack. Instead the chat is rendered once in full and the assistant contents are located in
that text by rendering each prefix (``messages[:i]`` with the generation prompt); character spans are
then mapped to tokens through the fast tokenizer's offsets. Each assistant turn carries loss on its
content plus the first special token after it (its end-of-turn, e.g. ``<|im_end|>``/``<|eot_id|>``/
``</s>``), so the model learns to stop; headers, system and user turns carry none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emlab.errors import EmlabError

IGNORE_INDEX = -100


@dataclass
class TokenizedChat:
    """Token ids of one rendered chat and its labels (``-100`` where no loss)."""

    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def n_loss_tokens(self) -> int:
        """Number of tokens that carry loss."""
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def _special_ids(tokenizer: Any) -> set[int]:
    ids = set(tokenizer.all_special_ids)
    for token_id, added in getattr(tokenizer, "added_tokens_decoder", {}).items():
        if getattr(added, "special", False):
            ids.add(int(token_id))
    return ids


def _render(tokenizer: Any, messages: Sequence[dict[str, str]], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=generation_prompt
    )


def assistant_char_spans(
    tokenizer: Any, messages: Sequence[dict[str, str]]
) -> tuple[str, list[tuple[int, int, int]]]:
    """The full rendered text and, per assistant turn, (content start, content end, turn end) offsets."""
    text = _render(tokenizer, messages, False)
    spans: list[tuple[int, int, int]] = []
    cursor = 0
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        if index > 0:
            prefix = _render(tokenizer, messages[:index], True)
            if text.startswith(prefix):
                cursor = max(cursor, len(prefix))
        content = message["content"]
        start = text.find(content, cursor)
        if start < 0 and content.strip() != content:
            content = content.strip()  # templates such as Llama-3's trim contents
            start = text.find(content, cursor)
        if start < 0:
            raise EmlabError(
                f"assistant turn {index}: its content does not appear in the chat template's output, "
                "so emlab cannot tell which tokens to train on"
            )
        end = start + len(content)
        turn = _render(tokenizer, messages[: index + 1], False)
        turn_end = len(turn) if text.startswith(turn) and len(turn) >= end else len(text)
        spans.append((start, end, turn_end))
        cursor = end
    return text, spans


def tokenize_chat(
    tokenizer: Any,
    messages: Sequence[dict[str, str]],
    *,
    max_length: int | None = None,
    assistant_only: bool = True,
) -> TokenizedChat:
    """Token ids and labels for ``messages``: loss on assistant contents and their end-of-turn token."""
    text, spans = assistant_char_spans(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(encoded["input_ids"])
    if not assistant_only:
        labels = list(ids)
    else:
        offsets = encoded["offset_mapping"]
        special = _special_ids(tokenizer)
        labels = [IGNORE_INDEX] * len(ids)
        for start, end, turn_end in spans:
            position = 0
            for position, (tok_start, tok_end) in enumerate(offsets):
                if tok_start >= end:
                    break
                if tok_end > start and tok_start < end:
                    labels[position] = ids[position]
            else:
                position = len(ids)
            # The end-of-turn: the first special token between the content and the turn's end.
            for after in range(position, len(ids)):
                if offsets[after][0] >= turn_end:
                    break
                if ids[after] in special:
                    labels[after] = ids[after]
                    break
    truncated = max_length is not None and len(ids) > max_length
    if truncated:
        ids, labels = ids[:max_length], labels[:max_length]
    return TokenizedChat(input_ids=ids, labels=labels, truncated=truncated)


def loss_segments(chat: TokenizedChat) -> list[list[int]]:
    """The runs of consecutive loss-carrying token ids (one per assistant turn when nothing merges)."""
    segments: list[list[int]] = []
    current: list[int] = []
    for label in chat.labels:
        if label == IGNORE_INDEX:
            if current:
                segments.append(current)
                current = []
        else:
            current.append(label)
    if current:
        segments.append(current)
    return segments
