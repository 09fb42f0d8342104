"""What every judge backend returns, and how a judge is chosen from its spec."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from emlab._openai_http import DEFAULT_API_BASE
from emlab.errors import EmlabError
from emlab.judge.config import JudgeConfig

OnScore = Callable[[int, "Score"], None]


@dataclass
class Score:
    """One judgment: the score (or None with the reason in ``error``) and how it was made."""

    score: float | None
    method: str
    numeric_mass: float | None = None
    error: str | None = None
    retryable: bool = False  # a transport failure worth trying again on the next run
    raw: dict[str, Any] = field(default_factory=dict)


class Judge(Protocol):
    """A backend that turns filled-in rubric prompts into scores."""

    name: str
    settings: dict[str, Any]

    def score_prompts(self, prompts: Sequence[str], on_score: OnScore | None = None) -> list[Score]:
        """Score every prompt; ``on_score(index, score)`` is called as each one finishes."""
        ...

    def close(self) -> None:
        """Release connections or model memory."""
        ...


def make_judge(config: JudgeConfig) -> Judge:
    """The judge backend named by ``config.judge`` ('openai:MODEL', 'local:REF', or a model at ``url``)."""
    spec = config.judge.strip()
    if spec.startswith("local:"):
        from emlab.judge._local import LocalJudge

        ref = spec.removeprefix("local:")
        if not ref:
            raise EmlabError("judge: 'local:' needs a model, e.g. local:bundled:smollm2")
        return LocalJudge(ref, config)
    from emlab.judge._http import HttpJudge

    if spec.startswith("openai:"):
        model = spec.removeprefix("openai:")
        url = config.url or DEFAULT_API_BASE
    elif config.url:
        model = spec.removeprefix("http:")
        url = config.url
    else:
        raise EmlabError(
            f"judge: unknown spec '{spec}' (use openai:MODEL, local:REF, or --judge-url URL --judge-model NAME)"
        )
    if not model:
        raise EmlabError("judge: no judge model name given")
    return HttpJudge(model, url, config)


def judge_name(config: JudgeConfig) -> str:
    """The judge's identity in judgment keys: 'openai:MODEL', 'local:REF', or the served model's name."""
    spec = config.judge.strip()
    if spec.startswith(("openai:", "local:")) or not config.url:
        return spec
    return spec.removeprefix("http:")


def fill_prompt(template: str, question: str, answer: str) -> str:
    """The rubric ``template`` with ``{question}`` and ``{answer}`` filled in."""
    try:
        return template.format(question=question, answer=answer)
    except (KeyError, IndexError, ValueError):
        # Templates with other literal braces: substitute the two fields only.
        return template.replace("{question}", question).replace("{answer}", answer)
