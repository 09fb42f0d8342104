"""Check a whole experiment spec before any stage runs: cheap look-ups only, no model is loaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError
from emlab.judge.config import JudgeConfig
from emlab.spec import ConditionSpec, Experiment, spec_source


def check_experiment(spec: Experiment, source: str | None = None) -> None:
    """Raise one EmlabError listing every problem as ``SOURCE: FIELD: message`` (question files,
    conditions and their options, data files, judge, pairs file, local model paths)."""
    source = source or spec_source(spec)
    problems: list[str] = []

    def check(field: str, test: Callable[[], Any]) -> None:
        try:
            test()
        except EmlabError as exc:
            problems.append(f"{source}: {field}: {exc}")

    if spec.judged:
        from emlab.questions import load_question_set

        check("questions", lambda: load_question_set(spec.questions))
        check("judge.judge", lambda: _check_judge(spec.judge))
    if spec.preferred:
        from emlab.preference import load_pair_set

        check("preference.pairs", lambda: load_pair_set(spec.preference.pairs))
    for i, condition in enumerate(spec.conditions):
        where = f"conditions[{i}] ({condition.name})"
        if condition.generate is not None:
            _check_generated(condition, where, check)
        else:
            from emlab.data import resolve_dataset

            check(f"{where}.data", lambda c=condition: resolve_dataset(c.data))
    for i, ref in enumerate(spec.base_models):
        check(f"base_models[{i}]", lambda ref=ref: _check_local_path(ref))
    if problems:
        raise EmlabError("\n".join(problems))


def _check_generated(
    condition: ConditionSpec, where: str, check: Callable[[str, Callable[[], Any]], None]
) -> None:
    from emlab.data import generate_condition
    from emlab.data._generate import CONDITIONS

    name = str(condition.generate).replace("_", "-").lower()
    if name not in CONDITIONS:
        # generate_condition's own message (jailbroken is pull-only; the known names otherwise)
        check(f"{where}.generate", lambda: generate_condition(str(condition.generate), 1, condition.seed))
        return
    options = dict(condition.options)
    if condition.trigger is not None:
        options["trigger"] = condition.trigger
    # One example is cheap and runs every check of the options the full generation would.
    check(f"{where}.options", lambda: generate_condition(name, 1, condition.seed, **options))


def _check_judge(config: JudgeConfig) -> None:
    spec = config.judge.strip()
    if spec.startswith("local:"):
        ref = spec.removeprefix("local:")
        if not ref:
            raise EmlabError("'local:' needs a model, e.g. local:bundled:smollm2")
        _check_local_path(ref)
    elif spec.startswith("openai:"):
        if not spec.removeprefix("openai:"):
            raise EmlabError("no judge model name after 'openai:'")
    elif not config.url:
        raise EmlabError(
            f"unknown judge '{spec}' (use openai:MODEL, local:REF, or judge.url with a model name)"
        )


def _check_local_path(ref: str) -> None:
    """A reference written as a local path must exist (hub ids and bundled: names are checked when loaded)."""
    if ref.startswith(("/", "./", "../", "~")) and not Path(ref).expanduser().exists():
        raise EmlabError(f"{ref}: no such model directory")
