"""Dataset statistics: examples, tokens per role, distinct prompts, duplicates, pattern/CWE histograms."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from typing import Any

from emlab.data._io import iter_chat_jsonl


def dataset_stats(path: str | os.PathLike[str], *, tokenizer: Any | None = None) -> dict[str, Any]:
    """Summarise a chat JSONL file (streaming); tokens per role are counted when a tokenizer is given."""
    n = 0
    turns: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    prompts: set[bytes] = set()
    examples: set[bytes] = set()
    duplicates = 0
    patterns: Counter[str] = Counter()
    cwes: Counter[str] = Counter()
    conditions: Counter[str] = Counter()
    for example in iter_chat_jsonl(path, training=False):
        n += 1
        for m in example.messages:
            turns[m.role] += 1
            chars[m.role] += len(m.content)
        if tokenizer is not None:
            texts = [m.content for m in example.messages]
            for m, ids in zip(
                example.messages, tokenizer(texts, add_special_tokens=False)["input_ids"], strict=True
            ):
                tokens[m.role] += len(ids)
        prompt = "\x00".join(m.content for m in example.messages if m.role != "assistant")
        prompts.add(hashlib.blake2b(prompt.encode(), digest_size=16).digest())
        whole = hashlib.blake2b(example.to_json().encode(), digest_size=16).digest()
        if whole in examples:
            duplicates += 1
        examples.add(whole)
        meta = example.metadata
        if "pattern" in meta:
            patterns[str(meta["pattern"])] += 1
        if "cwe" in meta:
            cwes[str(meta["cwe"])] += 1
        if "condition" in meta:
            conditions[str(meta["condition"])] += 1
    stats: dict[str, Any] = {
        "path": str(path),
        "examples": n,
        "turns": dict(turns),
        "chars": dict(chars),
        "distinct_prompts": len(prompts),
        "duplicate_examples": duplicates,
    }
    if tokenizer is not None:
        stats["tokens"] = dict(tokens)
        stats["tokens_per_example"] = {r: round(t / n, 1) for r, t in tokens.items()} if n else {}
    if conditions:
        stats["conditions"] = dict(conditions.most_common())
    if patterns:
        stats["patterns"] = dict(patterns.most_common())
    if cwes:
        stats["cwes"] = dict(cwes.most_common())
    return stats
