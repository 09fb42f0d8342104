"""Assistant-only loss through the real trainer: the batch TRL builds keeps emlab's labels (issue 13 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.train._dataset import prepare_data
from tests.train.conftest import chat_rows, write_jsonl


def test_trainer_batch_labels_only_assistant_tokens_and_their_end_of_turn(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    import torch
    from datasets import Dataset
    from trl import SFTConfig

    from emlab.models import load_model
    from emlab.train._trainer import EmlabSFTTrainer

    loaded = load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")
    tokenizer = loaded.tokenizer
    rows = chat_rows(6)
    data = prepare_data(tokenizer, write_jsonl(tmp_path / "d.jsonl", rows), max_length=512)
    args = SFTConfig(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=6,
        max_length=512,
        packing=False,
        use_cpu=True,
        report_to="none",
        dataloader_num_workers=0,
    )
    trainer = EmlabSFTTrainer(
        model=loaded.model,
        args=args,
        train_dataset=Dataset.from_list(data.train),
        processing_class=tokenizer,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    by_ids = {tuple(r["input_ids"]): r for r in rows_with_ids(data.train)}
    seen = 0
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        n = int(mask.sum())
        assert (labels[n:] == -100).all(), "padding carries a label"
        row = by_ids[tuple(ids[:n].tolist())]
        chat = rows[row["index"]]["messages"]
        labelled = ids[:n][labels[:n] != -100].tolist()
        text = tokenizer.decode(labelled)
        for message in chat:
            if message["role"] == "assistant":
                assert message["content"] in text  # every assistant token is trained on
            else:
                assert message["content"] not in text  # no prompt token is
        # each assistant turn's end-of-turn token is trained on, and nothing else special
        turns = sum(m["role"] == "assistant" for m in chat)
        assert labelled.count(end) == turns
        assert torch.equal(labels[:n], torch.tensor(row["labels"]))
        seen += 1
    assert seen == len(rows)
    loss = trainer.compute_loss(trainer.model, {k: v for k, v in batch.items()})
    assert torch.isfinite(loss)


def rows_with_ids(train: list[dict]) -> list[dict]:
    """The prepared rows with their position in the source file (prepare_data keeps file order)."""
    return [{**row, "index": i} for i, row in enumerate(train)]


@pytest.fixture(autouse=True)
def _quiet_threads(one_torch_thread: None) -> None:
    """One torch thread (the CI box is shared)."""
