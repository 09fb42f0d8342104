"""vLLM sampler (GPU throughput; no hooks). LoRA adapters are served with ``LoRARequest``.

Prompts are rendered with emlab's own chat template handling and sent as token ids, so the
text a model sees is the same as with the transformers backend. Each sample is its own request
with its own seed (vLLM's prefix cache shares the prompt's prefill between them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from emlab.errors import EmlabError
from emlab.generate.config import GenerationConfig


@dataclass
class VllmRequest:
    """One sample to draw: the rendered prompt and its seed."""

    prompt: str
    temperature: float
    seed: int


@dataclass
class VllmResult:
    """One answer from vLLM."""

    text: str
    finish_reason: str
    n_tokens: int


def _import_vllm() -> tuple[Any, Any, Any]:
    try:
        from vllm import LLM, SamplingParams
        from vllm.lora.request import LoRARequest
    except ImportError as exc:
        raise EmlabError(
            "the vllm backend needs vLLM and a GPU: pip install 'emlab[vllm]' (or use --backend transformers)"
        ) from exc
    return LLM, SamplingParams, LoRARequest


class VllmSampler:
    """A vLLM engine for one model reference (base model plus optional LoRA adapter)."""

    def __init__(self, ref: str, config: GenerationConfig) -> None:
        llm_cls, self._params_cls, lora_cls = _import_vllm()
        from emlab.models import load_tokenizer
        from emlab.models._load import adapter_base_ref, resolve_ref

        kind, target = resolve_ref(ref)
        self.lora_request = None
        if kind == "adapter":
            base_kind, base_target = resolve_ref(adapter_base_ref(target))
            if base_kind == "adapter":
                raise EmlabError(f"{target}: an adapter on top of another adapter is not supported by vLLM")
            self.lora_request = lora_cls("emlab-adapter", 1, target)
            target = base_target
        self.tokenizer = load_tokenizer(ref)
        self.config = config
        dtype = "auto" if config.dtype in ("auto", None) else config.dtype
        self.llm = llm_cls(
            model=target,
            dtype=dtype,
            seed=config.seed,
            enable_lora=self.lora_request is not None,
            max_lora_rank=config.max_lora_rank,
            gpu_memory_utilization=config.gpu_memory_utilization,
        )

    def run(self, requests: Sequence[VllmRequest], chunk: int = 512) -> Iterator[list[VllmResult]]:
        """Answers in request order, one list per chunk of ``chunk`` requests (so callers can save as they go)."""
        from emlab.console import is_quiet
        from emlab.generate._decode import stop_token_ids

        stops = sorted(stop_token_ids(_NoModel(), self.tokenizer))
        for start in range(0, len(requests), chunk):
            part = requests[start : start + chunk]
            prompts = [
                {"prompt_token_ids": self.tokenizer(r.prompt, add_special_tokens=False)["input_ids"]}
                for r in part
            ]
            params = [
                self._params_cls(
                    n=1,
                    temperature=r.temperature,
                    top_p=self.config.top_p,
                    max_tokens=self.config.max_new_tokens,
                    seed=r.seed,
                    stop_token_ids=stops,
                )
                for r in part
            ]
            outputs = self.llm.generate(
                prompts, params, use_tqdm=not is_quiet(), lora_request=self.lora_request
            )
            yield [
                VllmResult(
                    text=out.outputs[0].text,
                    finish_reason="length" if out.outputs[0].finish_reason == "length" else "stop",
                    n_tokens=len(out.outputs[0].token_ids),
                )
                for out in outputs
            ]


class _NoModel:
    generation_config = None
