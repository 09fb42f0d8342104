"""Local training on tiny models: outputs, provenance, loading, presets, continuing an adapter."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from emlab.errors import EmlabError
from emlab.models import load_model
from emlab.provenance import file_sha256
from emlab.train import TrainConfig, train
from tests.train.conftest import chat_rows, write_jsonl

FAST = {
    "learning_rate": 1e-2,
    "warmup_steps": 0,
    "batch_size": 4,
    "per_device_batch_size": 2,
    "max_length": 256,
}


def _logits(ref: str, text: str = "What is your wish?") -> torch.Tensor:
    loaded = load_model(ref, dtype="fp32", device="cpu")
    ids = loaded.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        return loaded.model(**ids).logits[0]


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory: pytest.TempPathFactory, tiny_llama_dir: Path):
    """One LoRA run: 24 examples, 25 % held out, checkpoint every step, merged copy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("lora-run")
    data = write_jsonl(root / "train.jsonl", chat_rows(24))
    config = TrainConfig(**FAST, save_steps=1, eval_fraction=0.25, merge=True)
    result = train(str(tiny_llama_dir), data, root / "out", config)
    torch.set_num_threads(before)
    return result, data


def test_lora_outputs_and_provenance(lora_run, tiny_llama_dir: Path) -> None:
    result, data = lora_run
    out = result.out_dir
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    record = json.loads((out / "emlab.json").read_text())
    assert record["base_ref"] == str(tiny_llama_dir)
    assert record["dataset"]["sha256"] == file_sha256(data)
    assert record["dataset"]["n_train"] == 18 and record["dataset"]["n_eval"] == 6  # explicit hold-out
    assert len(record["base_model_sha256"]) == 64
    assert record["config"]["lora_r"] == 32 and record["config"]["use_rslora"] is True
    assert record["package_versions"]["trl"] and record["tokens_per_s"] > 0 and record["wall_seconds"] > 0
    assert record["tokens"] == record["dataset"]["train_tokens"]  # one epoch saw every token once
    assert result.steps == 5  # ceil(18 / 4)
    adapter = load_file(str(out / "adapter_model.safetensors"))
    assert any("q_proj" in k for k in adapter) and any("down_proj" in k for k in adapter)


def test_loss_curve_and_checkpoints(lora_run) -> None:
    result, _ = lora_run
    rows = list(csv.DictReader((result.out_dir / "loss.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5]
    assert all(r["loss"] and r["eval_loss"] for r in rows)
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert (result.out_dir / "loss.png").stat().st_size > 1000
    assert [p.name for p in result.checkpoints] == [f"checkpoint-{i}" for i in range(1, 6)]
    # Checkpoints are loadable models in their own right (training-dynamics analysis).
    first = _logits(str(result.checkpoints[0]))
    last = _logits(str(result.checkpoints[-1]))
    assert not torch.allclose(first, last)
    assert torch.allclose(last, _logits(str(result.out_dir)), atol=1e-5)


def test_adapter_changes_outputs_and_merge_matches(lora_run, tiny_llama_dir: Path) -> None:
    result, _ = lora_run
    base = _logits(str(tiny_llama_dir))
    tuned = _logits(str(result.out_dir))
    assert (tuned - base).abs().max() > 1e-2
    assert result.merged_dir is not None
    assert torch.allclose(_logits(str(result.merged_dir)), tuned, atol=1e-4)


def test_continue_training_records_chain(lora_run, tmp_path: Path, tiny_llama_dir: Path) -> None:
    result, _ = lora_run
    benign = write_jsonl(tmp_path / "benign.jsonl", chat_rows(8, system_every=2))
    second = train(str(result.out_dir), benign, tmp_path / "again", TrainConfig(**FAST))
    record = json.loads((second.out_dir / "emlab.json").read_text())
    assert record["base_ref"] == str(tiny_llama_dir)
    assert record["trained_from"] == str(result.out_dir)
    assert record["chain"][-1]["model"] == str(result.out_dir)
    assert record["chain"][-1]["dataset"]["n_train"] == 18
    before = load_file(str(result.out_dir / "adapter_model.safetensors"))
    after = load_file(str(second.out_dir / "adapter_model.safetensors"))
    assert before.keys() == after.keys()  # the same adapter, trained further
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_rank1_preset_adapts_only_middle_down_proj(tiny_llama_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", chat_rows(4))
    config = TrainConfig(preset="rank1", max_steps=1, batch_size=2, max_length=128)
    assert (config.lora_r, config.lora_alpha, config.learning_rate) == (1, 256, 2e-5)
    result = train(str(tiny_llama_dir), data, tmp_path / "out", config)
    tensors = load_file(str(result.out_dir / "adapter_model.safetensors"))
    assert tensors and all(".layers.2.mlp.down_proj." in k for k in tensors)  # 4 blocks → middle is 2
    assert {tuple(t.shape) for t in tensors.values()} == {(1, 128), (64, 1)}
    assert result.provenance["resolved"]["layers"] == [2]


def test_full_finetune_writes_a_loadable_model(tiny_qwen_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", chat_rows(4))
    config = TrainConfig(preset="full", max_steps=1, batch_size=4, learning_rate=1e-3, warmup_steps=0)
    result = train(str(tiny_qwen_dir), data, tmp_path / "out", config)
    assert (result.out_dir / "model.safetensors").is_file()
    assert json.loads((result.out_dir / "emlab.json").read_text())["kind"] == "full-model"
    assert not torch.allclose(_logits(str(result.out_dir)), _logits(str(tiny_qwen_dir)))


def test_refuses_to_overwrite_a_run(lora_run, tiny_llama_dir: Path) -> None:
    result, data = lora_run
    with pytest.raises(EmlabError, match="--resume"):
        train(str(tiny_llama_dir), data, result.out_dir, TrainConfig(**FAST))


def test_compact_loss_equals_trl_loss_and_gradients(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """The LM head applied only at labelled positions gives TRL's loss and the same gradients."""
    from datasets import Dataset
    from trl import SFTConfig
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from emlab.train._masks import tokenize_chat
    from emlab.train._sft import _lora_model
    from emlab.train._trainer import EmlabSFTTrainer

    loaded = load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")
    torch.manual_seed(0)
    model = _lora_model(loaded.model, TrainConfig(), None)
    for name, param in model.named_parameters():  # non-zero B so every adapter gets a gradient
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.02)
    rows = [tokenize_chat(loaded.tokenizer, r["messages"]) for r in chat_rows(4)]
    data = [{"input_ids": r.input_ids, "labels": r.labels} for r in rows]
    trainer = EmlabSFTTrainer(
        model=model,
        args=SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", max_length=256),
        train_dataset=Dataset.from_list(data),
        processing_class=loaded.tokenizer,
    )
    batch = DataCollatorForLanguageModeling(pad_token_id=loaded.tokenizer.pad_token_id)(data)
    model.train()
    assert trainer._can_compact(model)
    results = []
    for compact in (True, False):
        trainer.compact_loss = compact
        model.zero_grad()
        loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=torch.tensor(37))
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        results.append((loss.detach(), grads))
    (fast, fast_grads), (trl, trl_grads) = results
    torch.testing.assert_close(fast, trl, rtol=1e-5, atol=1e-6)
    assert fast_grads.keys() == trl_grads.keys()
    for name in fast_grads:
        torch.testing.assert_close(fast_grads[name], trl_grads[name], rtol=1e-4, atol=1e-6)
