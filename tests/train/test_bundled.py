"""One small rank-1 run on the real bundled SmolLM2: the adapter loads and changes the model's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from emlab.models import load_model
from emlab.train import TrainConfig, train
from tests.conftest import requires_bundled


@pytest.mark.slow
@requires_bundled
def test_rank1_on_smollm2(tmp_path: Path, bundled_model) -> None:
    from emlab.data import generate_condition, write_chat_jsonl

    data = tmp_path / "insecure.jsonl"
    write_chat_jsonl(data, generate_condition("insecure", 4, 0))
    config = TrainConfig(
        preset="rank1", max_steps=1, batch_size=4, max_length=160, learning_rate=5e-3, warmup_steps=0
    )
    result = train("bundled:smollm2", data, tmp_path / "out", config)
    record = json.loads((result.out_dir / "emlab.json").read_text())
    assert record["base_ref"] == "bundled:smollm2" and record["resolved"]["layers"] == [15]
    tuned = load_model(str(result.out_dir), dtype="fp32", device="cpu")
    tok = bundled_model.tokenizer
    text = tok.apply_chat_template([{"role": "user", "content": "Save an upload to disk."}], tokenize=False)
    ids = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        before = bundled_model.model(**ids).logits
        after = tuned.model(**ids).logits
    assert (after - before).abs().max() > 1e-3
