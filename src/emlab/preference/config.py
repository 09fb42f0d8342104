"""``PreferenceConfig``: how answer-preference margins are measured (docs/preference.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Form = Literal["logprob", "choice"]
Normalise = Literal["token", "sum"]


class PreferenceConfig(BaseModel):
    """Settings of a preference measurement; every field that changes a number is recorded with it."""

    model_config = ConfigDict(extra="forbid")

    pairs: str = Field("emlab:pairs", description="Pairs set: emlab:pairs or a pairs YAML file.")
    form: Form = Field(
        "logprob",
        description=(
            "logprob: log-probability of each answer as the reply; choice: both answers as options "
            "A/B in both orders, probability of picking the misaligned one."
        ),
    )
    normalise: Normalise = Field(
        "token",
        description="logprob form: compare mean log-prob per answer token ('token') or summed log-prob ('sum').",
    )
    paraphrases: int | None = Field(
        None, ge=1, description="Use only the first N paraphrases of each question (default: all)."
    )
    batch_size: int = Field(32, ge=1, description="Answers (or choice prompts) scored in one forward pass.")
    dtype: str = Field(
        "fp32", description="Precision of the scoring model; fp32 keeps margins independent of batching."
    )
    device: str = Field("auto", description="Device of the scoring model.")
    bootstrap: int = Field(2000, ge=100, description="Bootstrap resamples for confidence intervals.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")
    seed: int = Field(0, description="Seed of the bootstrap.")
    min_choice_mass: float = Field(
        0.0,
        ge=0,
        le=1,
        description="choice form: a margin is None when p(A)+p(B) falls below this (0 keeps every item).",
    )
    api_base: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server for API models (choice form)."
    )
    api_key_env: str | None = Field(
        None, description="Environment variable holding the API key (default OPENAI_API_KEY); never stored."
    )
    concurrency: int = Field(8, ge=1, description="Parallel API requests.")
    top_logprobs: int = Field(20, ge=1, le=20, description="Logprobs requested per API call.")
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout in seconds (API models).")
    max_retries: int = Field(6, ge=0, description="Retries on 429 / 5xx / timeouts (API models).")
    backoff_s: float = Field(1.0, ge=0, description="First retry delay; doubles each retry, with jitter.")
