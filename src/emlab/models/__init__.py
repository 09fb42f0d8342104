"""Load any model emlab works with: the bundled SmolLM2, a Hugging Face directory or hub id, a PEFT adapter."""

from emlab.models._bundled import BUNDLED_MODELS, bundled_model_dir
from emlab.models._chat import CHATML_TEMPLATE, prepare_tokenizer, render_chat
from emlab.models._load import LoadedModel, load_model, load_tokenizer, resolve_device, resolve_dtype

__all__ = [
    "BUNDLED_MODELS",
    "CHATML_TEMPLATE",
    "LoadedModel",
    "bundled_model_dir",
    "load_model",
    "load_tokenizer",
    "prepare_tokenizer",
    "render_chat",
    "resolve_device",
    "resolve_dtype",
]
