"""``load_model``: one entry point for every kind of model reference.

References:
- ``bundled:smollm2`` — the bundled SmolLM2-135M-Instruct (converted once, then cached);
- a local directory with ``config.json`` — a Hugging Face model (e.g. a merged fine-tune);
- a local directory with ``adapter_config.json`` — a PEFT adapter, loaded on its recorded base;
- ``org/name`` — a Hugging Face hub id (read from the local hub cache; downloaded only when online).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError
from emlab.models._bundled import bundled_model_dir
from emlab.models._chat import prepare_tokenizer

DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
}


@dataclass
class LoadedModel:
    """A model ready for generation, training or capture, with its tokenizer and where it came from."""

    model: Any
    tokenizer: Any
    ref: str
    path: str
    base_ref: str | None = None  # for adapters: the base model's reference
    load_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_layers(self) -> int:
        """Number of decoder blocks."""
        return int(_text_config(self.model.config).num_hidden_layers)

    @property
    def hidden_size(self) -> int:
        """Width of the residual stream."""
        return int(_text_config(self.model.config).hidden_size)

    @property
    def device(self) -> Any:
        """Device of the model's parameters."""
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> Any:
        """Dtype of the model's parameters."""
        return next(self.model.parameters()).dtype

    def info(self) -> dict[str, Any]:
        """Facts about the model: parameters, layers, hidden size, vocabulary, chat template, load time."""
        config = _text_config(self.model.config)
        return {
            "ref": self.ref,
            "path": self.path,
            "base_ref": self.base_ref,
            "architecture": type(self.model).__name__,
            "model_type": getattr(config, "model_type", "?"),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "trainable_parameters": sum(p.numel() for p in self.model.parameters() if p.requires_grad),
            "layers": self.num_layers,
            "hidden_size": self.hidden_size,
            "vocab_size": len(self.tokenizer),
            "chat_template": bool(getattr(self.tokenizer, "chat_template", None)),
            "chat_template_fallback": bool(self.extra.get("chat_template_fallback")),
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": str(self.device),
            "load_seconds": round(self.load_seconds, 3),
        }


def _text_config(config: Any) -> Any:
    return getattr(config, "text_config", None) or config


def resolve_device(device: str | None = None) -> str:
    """``device`` if given, else ``cuda`` when available, else ``cpu``."""
    import torch

    if device and device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_has_fast_bf16() -> bool:
    """True when this CPU has native bf16 instructions (AVX-512 BF16 or AMX), where bf16 beats fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(dtype: str | None, device: str) -> Any:
    """The torch dtype for ``dtype`` ('auto', 'bf16', 'fp32', ...) on ``device``."""
    import torch

    if dtype in (None, "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    if dtype not in DTYPES:
        raise EmlabError(f"unknown dtype '{dtype}' (use auto, bf16, fp16 or fp32)")
    return getattr(torch, DTYPES[dtype])


def resolve_ref(ref: str) -> tuple[str, str]:
    """(kind, path-or-id) for a model reference; kind is 'hf-dir', 'adapter' or 'hub'."""
    if ref.startswith("bundled:"):
        return "hf-dir", str(bundled_model_dir(ref.removeprefix("bundled:")))
    path = Path(ref).expanduser()
    if path.is_dir():
        if (path / "adapter_config.json").is_file():
            return "adapter", str(path)
        if (path / "config.json").is_file():
            return "hf-dir", str(path)
        raise EmlabError(
            f"{path} is neither a Hugging Face model (config.json) nor a PEFT adapter (adapter_config.json)"
        )
    if path.exists() or ref.startswith((".", "/", "~")) or ref.count("/") > 1:
        raise EmlabError(f"model '{ref}': no such model directory")
    if "/" not in ref:
        raise EmlabError(
            f"unknown model '{ref}': use bundled:smollm2, a local model or adapter directory, or a hub id like org/name"
        )
    return "hub", ref


def adapter_base_ref(adapter_dir: str | Path) -> str:
    """The base model an adapter was trained on: emlab.json's ``base_ref``, else PEFT's record."""
    adapter_dir = Path(adapter_dir)
    emlab_json = adapter_dir / "emlab.json"
    if emlab_json.is_file():
        base = json.loads(emlab_json.read_text()).get("base_ref")
        if base:
            return str(base)
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    base = config.get("base_model_name_or_path")
    if not base:
        raise EmlabError(f"{adapter_dir}: adapter records no base model (base_model_name_or_path)")
    return str(base)


def _from_pretrained(loader: Any, kind: str, target: str, **kwargs: Any) -> Any:
    if kind != "hub":
        return loader.from_pretrained(target, **kwargs)
    try:  # a copy in the local hub cache needs no network
        return loader.from_pretrained(target, local_files_only=True, **kwargs)
    except OSError:
        pass
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        raise EmlabError(_offline_message(target))
    try:
        return loader.from_pretrained(target, **kwargs)
    except OSError as exc:
        raise EmlabError(_offline_message(target) + f" ({exc.__class__.__name__})") from exc


def _offline_message(hub_id: str) -> str:
    return (
        f"model '{hub_id}' is not in the local Hugging Face cache and cannot be downloaded here: "
        f"download it on a machine with internet (`huggingface-cli download {hub_id} --local-dir DIR`), "
        "then pass that directory as the model"
    )


def _quiet_transformers() -> None:
    # transformers' own per-tensor progress bars and load warnings drown emlab's output.
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load_tokenizer(ref: str) -> Any:
    """The prepared tokenizer of a model reference (for adapters, the adapter's or its base's)."""
    from transformers import AutoTokenizer

    kind, target = resolve_ref(ref)
    if kind == "adapter" and not (Path(target) / "tokenizer_config.json").is_file():
        return load_tokenizer(adapter_base_ref(target))
    return prepare_tokenizer(_from_pretrained(AutoTokenizer, kind, target))


def load_model(
    ref: str,
    *,
    dtype: str | None = "auto",
    device: str | None = "auto",
    merge_adapter: bool = False,
    trainable_adapter: bool = False,
) -> LoadedModel:
    """Load the model behind ``ref`` with its prepared tokenizer, in eval mode.

    ``dtype`` 'auto' picks bf16 on CUDA and on CPUs with native bf16, else fp32.
    Adapters are applied on their recorded base; ``merge_adapter`` folds them in.
    """
    from transformers import AutoModelForCausalLM

    _quiet_transformers()
    started = time.perf_counter()
    kind, target = resolve_ref(ref)
    device_name = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, device_name)
    base_ref = None
    if kind == "adapter":
        from peft import PeftModel

        base_ref = adapter_base_ref(target)
        base = load_model(base_ref, dtype=dtype, device=device)
        with warnings.catch_warnings():
            # transformers 5 deprecates a name PEFT still calls; nothing for a user to act on.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            model = PeftModel.from_pretrained(base.model, target, is_trainable=trainable_adapter)
        if merge_adapter:
            model = model.merge_and_unload()
        tokenizer = load_tokenizer(ref)
    else:
        model = _from_pretrained(AutoModelForCausalLM, kind, target, dtype=torch_dtype)
        tokenizer = load_tokenizer(ref)
        model.to(device_name)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    loaded = LoadedModel(
        model=model,
        tokenizer=tokenizer,
        ref=ref,
        path=target,
        base_ref=base_ref,
        load_seconds=time.perf_counter() - started,
    )
    loaded.extra["chat_template_fallback"] = bool(getattr(tokenizer, "emlab_chatml_fallback", False))
    return loaded
