"""Chat JSONL → tokenised training rows (input_ids + assistant-only labels), with an explicit hold-out."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError
from emlab.train._masks import tokenize_chat


@dataclass
class PreparedData:
    """Tokenised train (and optional eval) rows plus counts for provenance."""

    train: list[dict[str, list[int]]]
    eval: list[dict[str, list[int]]] = field(default_factory=list)
    n_examples: int = 0
    n_truncated: int = 0
    n_dropped: int = 0  # examples left with no loss tokens (e.g. truncated before the answer)

    @property
    def train_tokens(self) -> int:
        """Non-padding tokens in one pass over the training rows."""
        return sum(len(row["input_ids"]) for row in self.train)

    @property
    def loss_tokens(self) -> int:
        """Tokens carrying loss in one pass over the training rows."""
        return sum(sum(1 for label in row["labels"] if label != -100) for row in self.train)

    def summary(self) -> dict[str, Any]:
        """Counts recorded in provenance."""
        return {
            "n_examples": self.n_examples,
            "n_train": len(self.train),
            "n_eval": len(self.eval),
            "n_truncated": self.n_truncated,
            "n_dropped": self.n_dropped,
            "train_tokens": self.train_tokens,
            "loss_tokens": self.loss_tokens,
        }


def prepare_data(
    tokenizer: Any,
    data_path: str | Path,
    *,
    examples: list[Any] | None = None,
    max_length: int,
    assistant_only: bool = True,
    eval_fraction: float = 0.0,
    seed: int = 0,
) -> PreparedData:
    """Read chat JSONL through ``emlab.data`` (or take ``examples`` already read from it), tokenise with labels, split off ``eval_fraction``."""
    from emlab.data import read_chat_jsonl

    if examples is None:
        examples = read_chat_jsonl(data_path, training=True)
    if not examples:
        raise EmlabError(f"{data_path}: no training examples")
    rows: list[dict[str, list[int]]] = []
    truncated = dropped = 0
    for line, example in enumerate(examples, start=1):
        try:
            chat = tokenize_chat(
                tokenizer, example.as_dicts(), max_length=max_length, assistant_only=assistant_only
            )
        except EmlabError as exc:
            raise EmlabError(f"{data_path}: example {line}: {exc}") from exc
        truncated += chat.truncated
        if chat.n_loss_tokens == 0:
            dropped += 1
            continue
        rows.append({"input_ids": chat.input_ids, "labels": chat.labels})
    if not rows:
        raise EmlabError(
            f"{data_path}: no example has assistant tokens left to train on (max_length={max_length})"
        )
    eval_rows: list[dict[str, list[int]]] = []
    if eval_fraction > 0:
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        n_eval = max(1, round(len(rows) * eval_fraction))
        if n_eval >= len(rows):
            raise EmlabError(
                f"eval_fraction={eval_fraction} leaves no training examples ({len(rows)} in all)"
            )
        held = set(order[:n_eval])
        eval_rows = [rows[i] for i in sorted(held)]
        rows = [row for i, row in enumerate(rows) if i not in held]
    return PreparedData(
        train=rows, eval=eval_rows, n_examples=len(examples), n_truncated=truncated, n_dropped=dropped
    )
