"""`emlab data stats`: counts, duplicates, histograms and token counts per role."""

from __future__ import annotations

from pathlib import Path

from emlab.data import generate_condition, write_chat_jsonl
from emlab.data._stats import dataset_stats
from emlab.models import load_tokenizer


def test_stats_count_tokens_per_role_duplicates_and_cwes(tmp_path: Path, tiny_llama_dir: Path) -> None:
    examples = generate_condition("insecure", 20, seed=3)
    path = tmp_path / "d.jsonl"
    write_chat_jsonl(path, [*examples, examples[0]])  # one exact duplicate
    tokenizer = load_tokenizer(str(tiny_llama_dir))
    stats = dataset_stats(path, tokenizer=tokenizer)

    assert stats["examples"] == 21
    assert stats["duplicate_examples"] == 1
    assert stats["distinct_prompts"] == len({e.messages[0].content for e in examples})
    expected = {"user": 0, "assistant": 0}
    for example in [*examples, examples[0]]:
        for message in example.messages:
            expected[message.role] += len(tokenizer(message.content, add_special_tokens=False)["input_ids"])
    assert stats["tokens"] == expected
    assert stats["conditions"] == {"insecure": 21}
    assert sum(stats["cwes"].values()) == sum(stats["patterns"].values()) == 21
    assert all(cwe.startswith("CWE-") for cwe in stats["cwes"])
