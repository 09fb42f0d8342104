"""``GenerationConfig``: how answers are sampled (docs/science.md, Evaluation questions and sampling)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class GenerationConfig(BaseModel):
    """Sampling settings; question-file fields (temperature, samples) win unless overridden here."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["transformers", "vllm", "openai"] = Field("transformers", description="Sampler backend.")
    max_new_tokens: int = Field(600, ge=1, description="Upper bound on answer length.")
    temperature: float | None = Field(
        None, ge=0, description="Override every question's temperature (None = the file's, default 1)."
    )
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling mass.")
    samples_per_paraphrase: int | None = Field(None, ge=1, description="Override the question file's count.")
    batch_size: int = Field(64, ge=1, description="Sequences decoded together (transformers backend).")
    seed: int = Field(0, description="Sampling seed.")
    dtype: str = Field("auto", description="Model precision for local backends.")
    device: str = Field("auto", description="Device for the transformers backend (auto, cpu, cuda, ...).")
    api_base: str | None = Field(None, description="OpenAI-compatible base URL (openai backend).")
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="Environment variable holding the API key (never stored or logged)."
    )
    concurrency: int = Field(16, ge=1, description="Parallel requests (openai backend).")
    max_retries: int = Field(
        8, ge=0, description="Retries per request on 429 / 5xx / timeouts (openai backend)."
    )
    retry_base_s: float = Field(
        1.0, gt=0, description="First retry delay in seconds; doubles each retry, with full jitter."
    )
    retry_max_s: float = Field(60.0, gt=0, description="Longest wait between two retries.")
    request_timeout_s: float = Field(120.0, gt=0, description="Timeout of one API request in seconds.")
    write_every: int = Field(
        16, ge=1, description="Samples per store transaction for backends that finish one at a time."
    )
    gpu_memory_utilization: float = Field(
        0.85, gt=0, le=1, description="Fraction of GPU memory vLLM may take (vllm backend)."
    )
    max_lora_rank: int = Field(64, ge=1, description="Largest LoRA rank vLLM must serve (vllm backend).")
