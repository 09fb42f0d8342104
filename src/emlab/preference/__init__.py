"""Answer-preference margins: how much a model prefers misaligned over aligned answers, no judge needed.

``measure_preference`` scores a pairs set on one model (resumable in a run store);
``preference_table`` turns margins into per-question and ``ALL`` rows with bootstrap intervals
and paired shifts against a base model. See docs/preference.md.
"""

from emlab.preference._compare import compare_preference
from emlab.preference._pairs import (
    AnswerPair,
    PairQuestion,
    PairSet,
    PairsWarning,
    load_pair_file,
    load_pair_set,
    parse_pair_set,
)
from emlab.preference._run import MarginRow, PreferenceSummary, measure_preference, pair_items
from emlab.preference._summary import (
    ALL,
    RESULT_KEYS,
    PreferenceCell,
    contrast_cells,
    preference_table,
    two_way_bootstrap,
)
from emlab.preference.config import PreferenceConfig

__all__ = [
    "ALL",
    "RESULT_KEYS",
    "AnswerPair",
    "MarginRow",
    "PairQuestion",
    "PairSet",
    "PairsWarning",
    "PreferenceCell",
    "PreferenceConfig",
    "PreferenceSummary",
    "PreferenceTracker",
    "checkpoint_dynamics",
    "compare_preference",
    "contrast_cells",
    "load_pair_file",
    "load_pair_set",
    "measure_preference",
    "pair_items",
    "parse_pair_set",
    "preference_table",
    "read_dynamics",
    "two_way_bootstrap",
]


def __getattr__(name: str) -> object:
    # The training callback imports transformers; load it only when asked for, so that reading a
    # spec or a pairs file stays fast.
    if name in ("PreferenceTracker", "checkpoint_dynamics", "read_dynamics"):
        from emlab.preference import _dynamics

        return getattr(_dynamics, name)
    raise AttributeError(f"module 'emlab.preference' has no attribute {name!r}")
