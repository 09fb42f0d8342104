"""Rough cost of a judging run on the OpenAI API (for ``--dry-run``)."""

from __future__ import annotations

from collections.abc import Sequence

PRICES_DATE = "2025-08-01"
# USD per 1M tokens (input, output), from openai.com/api/pricing on PRICES_DATE; standard tier, no batch discount.
PRICES_USD_PER_1M: dict[str, tuple[float, float]] = {
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "gpt-4o-2024-08-06": (2.50, 10.00),
    "gpt-4o-2024-11-20": (2.50, 10.00),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}
# Chat formatting adds a few tokens per request around the prompt.
_OVERHEAD_TOKENS = 8
_CHARS_PER_TOKEN = 4.0


def model_price(model: str) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens for a known OpenAI model (longest matching name), else None."""
    model = model.removeprefix("openai:")
    if model in PRICES_USD_PER_1M:
        return PRICES_USD_PER_1M[model]
    matches = [name for name in PRICES_USD_PER_1M if model.startswith(name + "-")]
    return PRICES_USD_PER_1M[max(matches, key=len)] if matches else None


def estimate_tokens(prompts: Sequence[str]) -> int:
    """Approximate input tokens for ``prompts`` (4 characters per token plus chat overhead)."""
    return int(sum(len(p) / _CHARS_PER_TOKEN + _OVERHEAD_TOKENS for p in prompts))


def estimate_cost(model: str, prompts: Sequence[str]) -> float | None:
    """Estimated USD to judge ``prompts`` once each with one output token, or None for unknown models."""
    price = model_price(model)
    if price is None:
        return None
    return (estimate_tokens(prompts) * price[0] + len(prompts) * price[1]) / 1e6
