"""Audits for practitioners: the fine-tune gate, dataset screening, trigger mining and scanning, re-alignment."""

from emlab.audit._mine import MinedTrigger, first_user_turns, mine_triggers
from emlab.audit._project import direction_at, response_projections
from emlab.audit._stats import (
    Decision,
    Shift,
    decide,
    kept_answers,
    misalignment_shift,
    newcombe_interval,
    overall_verdict,
    per_comparison_confidence,
    wilson_interval,
)
from emlab.audit.config import GateConfig, MineConfig, RealignConfig, ScreenConfig

__all__ = [
    "Decision",
    "GateConfig",
    "MineConfig",
    "MinedTrigger",
    "RealignConfig",
    "ScreenConfig",
    "Shift",
    "decide",
    "direction_at",
    "first_user_turns",
    "kept_answers",
    "mine_triggers",
    "misalignment_shift",
    "newcombe_interval",
    "overall_verdict",
    "per_comparison_confidence",
    "response_projections",
    "wilson_interval",
]
