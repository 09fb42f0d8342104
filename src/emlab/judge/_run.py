"""Judge every sample of a run: rubric per question, deterministic keys, durable batched writes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from emlab.console import info, progress
from emlab.errors import EmlabError
from emlab.judge._base import Judge, Score, fill_prompt, judge_name, make_judge
from emlab.judge.config import JudgeConfig
from emlab.provenance import package_versions, stable_hash
from emlab.questions import QuestionSet, default_judge_prompts
from emlab.store import RunStore

# Seconds between store writes while judging, so that a crash loses little.
_FLUSH_SECONDS = 1.0


@dataclass
class JudgeSummary:
    """What a judging run did: items needed, cached, scored, unscorable and failed."""

    judge: str
    samples: int
    items: int
    cached: int
    to_judge: int
    scored: int = 0
    unscored: int = 0  # judged, but too little numeric mass (e.g. CODE / REFUSAL)
    failed: int = 0  # no usable answer from the judge in this call (retryable + non-retryable)
    failed_retryable: int = 0  # timeouts, rate limits, 5xx: retried by the next run
    failed_non_retryable: int = 0  # unusable 200 answers, refused requests: retried only on request
    # Failures the store holds for this judge's items after the call (earlier runs' included).
    stored_retryable: int = 0
    stored_non_retryable: int = 0
    retry_failed: bool = False
    calls: int | None = None
    seconds: float = 0.0
    dry_run: bool = False
    estimated_cost_usd: float | None = None
    estimated_input_tokens: int | None = None
    methods: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # a few example reasons

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready data."""
        return dict(self.__dict__)


@dataclass
class _Item:
    key: str
    metric: str
    rubric_hash: str
    question: str
    answer: str
    prompt: str


def rubric_hash(template: str) -> str:
    """Short hash identifying a rubric template."""
    return stable_hash({"rubric": template})


def judgment_key(judge: str, metric: str, rubric: str, question: str, answer: str) -> str:
    """Deterministic key of one judgment: judge, metric, rubric hash, question and answer."""
    return stable_hash(
        {"judge": judge, "metric": metric, "rubric": rubric, "question": question, "answer": answer}, 32
    )


def recorded_question_set(store: RunStore, *, strict: bool = False) -> QuestionSet | None:
    """The question set a run recorded (its spec's ``questions`` or the samples' settings), if loadable.

    With ``strict``, a recorded question file that cannot be reloaded is an error (not None).
    """
    from emlab.questions import load_question_set

    refs: list[str] = []
    for row in store.rows("results", kind="spec"):
        ref = (row.get("payload") or {}).get("questions") if isinstance(row.get("payload"), dict) else None
        if ref:
            refs.append(str(ref))
    for row in store.iter_rows("samples"):
        settings = row.get("settings") or {}
        ref = (
            settings.get("questions") or settings.get("question_set") if isinstance(settings, dict) else None
        )
        if ref:
            refs.append(str(ref))
            break
    problems: list[str] = []
    for ref in dict.fromkeys(refs):
        try:
            return load_question_set(ref)
        except (EmlabError, OSError) as exc:
            problems.append(str(exc) if ref in str(exc) else f"{ref}: {exc}")
            continue
    if strict and problems:
        raise EmlabError(
            f"{store.path}: the run's question file cannot be reloaded ({'; '.join(problems)}); "
            "its rubrics are needed to judge. Restore the file or name one with `emlab judge RUN "
            "--questions FILE`; emlab does not fall back to its built-in rubric"
        )
    return None


def _rubrics(
    question_id: str, questions: QuestionSet | None, metrics: Sequence[str], defaults: dict[str, str]
) -> dict[str, str]:
    prompts: dict[str, str] = {}
    if questions is not None:
        try:
            prompts = questions.by_id(question_id).judge_prompts
        except KeyError:
            prompts = {}
    rubric = {}
    for metric in metrics:
        template = prompts.get(metric) or defaults.get(metric)
        if template is None:
            raise EmlabError(
                f"judge: no rubric for metric '{metric}' (question '{question_id}' has "
                f"{sorted(prompts) or 'none'}; built-in rubric has {sorted(defaults)})"
            )
        rubric[metric] = template
    return rubric


def plan_items(
    store: RunStore, name: str, metrics: Sequence[str], questions: QuestionSet | None
) -> tuple[int, list[_Item]]:
    """(number of samples, unique judgment items) for judge ``name``: every sample and metric in the store."""
    defaults = default_judge_prompts()
    cache: dict[str, dict[str, str]] = {}
    items: dict[str, _Item] = {}
    n_samples = 0
    for sample in store.iter_rows("samples", order_by="key"):
        n_samples += 1
        qid = sample["question_id"]
        if qid not in cache:
            cache[qid] = _rubrics(qid, questions, metrics, defaults)
        for metric, template in cache[qid].items():
            digest = rubric_hash(template)
            key = judgment_key(name, metric, digest, sample["question"], sample["answer"])
            if key not in items:
                prompt = fill_prompt(template, sample["question"], sample["answer"])
                items[key] = _Item(key, metric, digest, sample["question"], sample["answer"], prompt)
    return n_samples, list(items.values())


def _stored_failures(store: RunStore, items: list[_Item]) -> tuple[set[str], set[str]]:
    """Keys of ``items`` whose stored judgment failed: (retryable, non-retryable)."""
    wanted = {i.key for i in items}
    retryable: set[str] = set()
    permanent: set[str] = set()
    for row in store.iter_rows("judgments"):
        # A judgment with numeric mass is a result (too little mass to score), not a failure.
        if row["key"] in wanted and row["score"] is None and row["numeric_mass"] is None:
            (retryable if (row.get("raw") or {}).get("retryable") else permanent).add(row["key"])
    return retryable, permanent


def _pending(store: RunStore, items: list[_Item], retry: set[str]) -> list[_Item]:
    done = store.existing_keys("judgments", [i.key for i in items])
    return [i for i in items if i.key not in done or i.key in retry]


def failure_advice(summary: JudgeSummary, run_dir: Any) -> list[str]:
    """What to do about the failures the store holds (empty when there are none)."""
    lines = []
    if summary.stored_retryable:
        lines.append(
            f"{summary.stored_retryable} judgment(s) failed on timeouts, rate limits or server errors; "
            "run the same command again to retry them"
        )
    if summary.stored_non_retryable:
        lines.append(
            f"{summary.stored_non_retryable} judgment(s) got no usable answer (malformed JSON, no logprobs, "
            "or a refused request); running again does not retry them: fix the judge, then "
            f"`emlab judge {run_dir} --retry-failed` (with the same judge options) judges them again"
        )
    return lines


def judge_run(
    store: RunStore,
    config: JudgeConfig,
    questions: QuestionSet | None = None,
    *,
    dry_run: bool = False,
    judge: Judge | None = None,
    retry_failed: bool = False,
) -> JudgeSummary:
    """Judge every sample in ``store`` for each metric; finished judgments are skipped, failures recorded.

    Failed judgments that are worth retrying (timeouts, rate limits, server errors) are judged again
    on every call; the others (a 200 answer without usable logprobs, a refused request) only with
    ``retry_failed``. The summary's ``stored_*`` counts are the failures the store holds afterwards.
    """
    if questions is None:
        questions = recorded_question_set(store, strict=True)
    name = judge.name if judge is not None else judge_name(config)
    n_samples, items = plan_items(store, name, config.metrics, questions)
    retryable, permanent = _stored_failures(store, items)
    pending = _pending(store, items, retryable | permanent if retry_failed else retryable)
    summary = JudgeSummary(
        judge=name,
        samples=n_samples,
        items=len(items),
        cached=len(items) - len(pending),
        to_judge=len(pending),
        retry_failed=retry_failed,
        stored_retryable=len(retryable),
        stored_non_retryable=len(permanent),
    )
    if dry_run:
        summary.dry_run = True
        if name.startswith("openai:"):
            from emlab.judge._pricing import estimate_cost, estimate_tokens

            prompts = [i.prompt for i in pending]
            summary.estimated_input_tokens = estimate_tokens(prompts)
            summary.estimated_cost_usd = estimate_cost(name, prompts)
        return summary
    if pending:
        _judge_pending(store, config, judge, pending, summary)
        _count_stored(summary, store, items)
    for line in failure_advice(summary, store.run_dir):
        info(line)
    return summary


def _judge_pending(
    store: RunStore, config: JudgeConfig, judge: Judge | None, pending: list[_Item], summary: JudgeSummary
) -> None:
    own = judge is None
    judge = judge or make_judge(config)
    settings = {**judge.settings, "judge": judge.name, "versions": package_versions()}
    started = time.perf_counter()
    buffer: list[dict[str, Any]] = []
    last_flush = [time.monotonic()]
    methods: Counter[str] = Counter()

    def flush() -> None:
        if buffer:
            store.put("judgments", buffer, replace=True)
            buffer.clear()
        last_flush[0] = time.monotonic()

    try:
        with progress(f"judging with {judge.name}", total=len(pending), unit="judgments") as bar:

            def on_score(index: int, score: Score) -> None:
                item = pending[index]
                buffer.append(_row(judge.name, item, score, settings))
                methods[score.method] += 1
                if score.score is not None:
                    summary.scored += 1
                elif score.numeric_mass is not None:
                    summary.unscored += 1
                else:
                    summary.failed += 1
                    if score.retryable:
                        summary.failed_retryable += 1
                    else:
                        summary.failed_non_retryable += 1
                    if len(summary.errors) < 5:
                        summary.errors.append(score.error or "unknown error")
                elapsed = time.perf_counter() - started
                done = summary.scored + summary.failed + summary.unscored
                bar.advance(1, rate=done / elapsed if elapsed > 0 else None)
                if len(buffer) >= config.flush_every or time.monotonic() - last_flush[0] > _FLUSH_SECONDS:
                    flush()

            judge.score_prompts([i.prompt for i in pending], on_score)
    finally:
        flush()
        summary.seconds = time.perf_counter() - started
        summary.methods = dict(methods)
        summary.calls = getattr(judge, "calls", None)
        if own:
            judge.close()


def _count_stored(summary: JudgeSummary, store: RunStore, items: list[_Item]) -> None:
    retryable, permanent = _stored_failures(store, items)
    summary.stored_retryable, summary.stored_non_retryable = len(retryable), len(permanent)


def _row(judge: str, item: _Item, score: Score, settings: dict[str, Any]) -> dict[str, Any]:
    raw = dict(score.raw)
    if score.retryable:
        raw["retryable"] = True
    return {
        "key": item.key,
        "judge": judge,
        "metric": item.metric,
        "rubric_hash": item.rubric_hash,
        "question": item.question,
        "answer": item.answer,
        "score": score.score,
        "method": score.method,
        "numeric_mass": score.numeric_mass,
        "error": score.error,
        "raw": raw,
        "settings": settings,
    }


def score_texts(judge: Judge, items: list[tuple[str, str]], prompt_template: str) -> list[Score]:
    """Scores for ad-hoc (question, answer) pairs under a custom rubric, without a store."""
    prompts = [fill_prompt(prompt_template, q, a) for q, a in items]
    return judge.score_prompts(prompts)
