"""The logprob expected-value score (docs/science.md, Judge score)."""

from __future__ import annotations

import math
from collections.abc import Mapping

# Float slack so that a mass of exactly min_mass (e.g. exp(log(0.25))) is not dropped by rounding.
_MASS_EPS = 1e-12


def parse_score_token(token: str) -> int | None:
    """The integer a judge token stands for under Python ``int()`` semantics, if in [0, 100]."""
    try:
        value = int(token)
    except (ValueError, TypeError):
        return None
    return value if 0 <= value <= 100 else None


def numeric_distribution(top_logprobs: Mapping[str, float]) -> dict[int, float]:
    """Probability per integer 0..100 among ``top_logprobs`` (tokens mapping to one integer are summed)."""
    probs: dict[int, float] = {}
    for token, logprob in top_logprobs.items():
        value = parse_score_token(token)
        if value is None or logprob is None or math.isnan(logprob):
            continue
        probs[value] = probs.get(value, 0.0) + math.exp(logprob)
    return probs


def expected_score(probs: Mapping[int, float], *, min_mass: float = 0.25) -> tuple[float | None, float]:
    """(Σ n·p(n) / Σ p(n) or None when Σ p(n) < min_mass, Σ p(n)) for a distribution over integers."""
    mass = float(sum(probs.values()))
    if mass <= 0 or mass < min_mass - _MASS_EPS:
        return None, mass
    return float(sum(n * p for n, p in probs.items()) / mass), mass


def logprob_score(top_logprobs: Mapping[str, float], *, min_mass: float = 0.25) -> float | None:
    """Expected 0–100 score from token → natural-log probabilities; None when numeric mass < ``min_mass``."""
    score, _ = expected_score(numeric_distribution(top_logprobs), min_mass=min_mass)
    return score
