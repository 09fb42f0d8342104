"""``JudgeConfig``: who scores answers and how (docs/science.md, Judge score)."""

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
    api_key_env: str | None = Field(
        None,
        description=(
            "Environment variable holding the API key (never stored or logged). Default: OPENAI_API_KEY "
            "for openai:MODEL, EMLAB_JUDGE_API_KEY for other servers, so an OpenAI key never goes elsewhere."
        ),
    )
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout in seconds (HTTP judge).")
    max_retries: int = Field(
        6, ge=0, description="Retries on 429 / 5xx / timeouts before an item is recorded as failed."
    )
    backoff_s: float = Field(1.0, ge=0, description="First retry delay; doubles each retry, with jitter.")
    max_backoff_s: float = Field(60.0, ge=0, description="Upper bound on one retry delay.")
    batch_size: int = Field(
        8,
        ge=1,
        description="In-process judge: judgments scored between store writes (each is its own forward).",
    )
    dtype: str = Field("auto", description="Precision of the in-process judge model.")
    device: str = Field("auto", description="Device of the in-process judge model.")
    flush_every: int = Field(16, ge=1, description="Write finished judgments to the store every N items.")
