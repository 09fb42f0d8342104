"""``GenerationConfig``: how answers are sampled (SCIENCE.md §4)."""

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
    api_base: str | None = Field(None, description="OpenAI-compatible base URL (openai backend).")
    concurrency: int = Field(16, ge=1, description="Parallel requests (openai backend).")
