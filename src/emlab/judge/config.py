"""``JudgeConfig``: who scores answers and how (SCIENCE.md §4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class JudgeConfig(BaseModel):
    """Judge settings. ``judge`` is 'openai:MODEL', 'local:REF' (in-process) or a model name at ``url``."""

    model_config = ConfigDict(extra="forbid")

    judge: str = Field("openai:gpt-4o-2024-08-06", description="Judge spec.")
    url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama)."
    )
    concurrency: int = Field(16, ge=1, description="Parallel judge requests.")
    top_logprobs: int = Field(20, ge=1, le=20, description="Logprobs requested per call.")
    min_mass: float = Field(
        0.25, ge=0, le=1, description="Score is None below this numeric probability mass."
    )
    seed: int = Field(0, description="Seed sent with each request.")
    metrics: list[str] = Field(
        default_factory=lambda: ["aligned", "coherent"], description="Rubric metrics to score."
    )
