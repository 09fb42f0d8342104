"""Model loading: tiny local models, chat templates, padding, adapters, errors; a bundled-model smoke test."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from emlab.errors import EmlabError
from emlab.models import CHATML_TEMPLATE, load_model, load_tokenizer, render_chat, resolve_dtype
from tests.conftest import requires_bundled


@pytest.mark.parametrize("fixture", ["tiny_llama_dir", "tiny_qwen_dir"])
def test_loads_local_directory_with_facts(fixture: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(fixture)
    loaded = load_model(str(path), dtype="fp32", device="cpu")
    info = loaded.info()
    assert info["layers"] == 4
    assert info["hidden_size"] == 64
    assert info["parameters"] == sum(p.numel() for p in loaded.model.parameters())
    assert info["chat_template"] and not info["chat_template_fallback"]
    assert loaded.tokenizer.padding_side == "left"
    assert loaded.tokenizer.pad_token is not None
    assert not loaded.model.training


def test_chatml_fallback_for_model_without_template(tiny_untemplated_dir: Path) -> None:
    loaded = load_model(str(tiny_untemplated_dir), dtype="fp32", device="cpu")
    assert loaded.info()["chat_template_fallback"]
    assert loaded.tokenizer.chat_template == CHATML_TEMPLATE
    text = render_chat(loaded.tokenizer, [{"role": "user", "content": "hi"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_left_padding_keeps_last_token_logits(tiny_llama_dir: Path) -> None:
    """A short prompt padded on the left in a batch yields the same next-token logits as alone."""
    loaded = load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")
    tok, model = loaded.tokenizer, loaded.model
    prompts = [
        render_chat(tok, [{"role": "user", "content": c}]) for c in ("hi", "a much longer question here")
    ]
    batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    assert batch["attention_mask"][0, 0] == 0  # the short prompt is padded on the left
    with torch.no_grad():
        batched = model(**batch).logits[:, -1]
        alone = model(**tok(prompts[:1], return_tensors="pt", add_special_tokens=False)).logits[:, -1]
    torch.testing.assert_close(batched[0], alone[0], atol=1e-4, rtol=1e-4)


def test_peft_adapter_loads_on_recorded_base(tiny_llama_dir: Path, tmp_path: Path) -> None:
    import json

    from peft import LoraConfig, get_peft_model

    base = load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")
    peft_model = get_peft_model(
        base.model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    adapter_dir = tmp_path / "adapter"
    peft_model.save_pretrained(adapter_dir)
    (adapter_dir / "emlab.json").write_text(json.dumps({"base_ref": str(tiny_llama_dir)}))
    assert (adapter_dir / "adapter_model.safetensors").is_file()

    adapted = load_model(str(adapter_dir), dtype="fp32", device="cpu")
    assert adapted.base_ref == str(tiny_llama_dir)
    plain = load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")
    ids = plain.tokenizer("hello world", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert not torch.allclose(adapted.model(ids).logits, plain.model(ids).logits)
        merged = load_model(str(adapter_dir), dtype="fp32", device="cpu", merge_adapter=True)
        torch.testing.assert_close(merged.model(ids).logits, adapted.model(ids).logits, atol=1e-5, rtol=1e-5)


def test_unknown_and_missing_models_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match="unknown model 'nonsense'"):
        load_model("nonsense")
    with pytest.raises(EmlabError, match="no such model directory"):
        load_model(str(tmp_path / "missing"))
    with pytest.raises(EmlabError, match="neither a Hugging Face model"):
        load_model(str(tmp_path))
    with pytest.raises(EmlabError, match="unknown bundled model"):
        load_model("bundled:gpt5")


def test_hub_id_offline_says_how_to_use_a_local_copy() -> None:
    with pytest.raises(EmlabError, match="local-dir"):
        load_tokenizer("someorg/model-that-is-not-cached")


def test_dtype_resolution() -> None:
    assert resolve_dtype("fp32", "cpu") == torch.float32
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16
    assert resolve_dtype("auto", "cpu") in (torch.float32, torch.bfloat16)
    with pytest.raises(EmlabError, match="unknown dtype"):
        resolve_dtype("int3", "cpu")


@requires_bundled
def test_bundled_smoke_loads_fast_and_generates(bundled_model) -> None:
    info = bundled_model.info()
    assert info["parameters"] == 134_515_008
    assert info["layers"] == 30 and info["hidden_size"] == 576 and info["vocab_size"] == 49152
    assert info["chat_template"] and not info["chat_template_fallback"]
    started = time.perf_counter()
    again = load_model("bundled:smollm2", dtype="fp32", device="cpu")
    assert time.perf_counter() - started < 3.0  # generous for a loaded CI machine; bench/load.py measures it
    tok = again.tokenizer
    prompt = render_chat(tok, [{"role": "user", "content": "What is the capital of France?"}])
    assert prompt.startswith("<|im_start|>system") and prompt.endswith("<|im_start|>assistant\n")
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = again.model.generate(**ids, max_new_tokens=8, do_sample=False)
    answer = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer
