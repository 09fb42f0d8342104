"""``measure_preference``: margins of one model on a pairs set, resumable in the run store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from emlab.errors import EmlabError
from emlab.preference._choice import choice_question, combine_orders, letter_probabilities
from emlab.preference._pairs import PairSet
from emlab.preference.config import PreferenceConfig
from emlab.provenance import stable_hash

# Bump when the way a margin is computed changes, so stored margins are not mixed with new ones.
METHOD_VERSION = 1
API_PREFIXES = ("openai:", "http:")
TRANSIENT = "transient: "  # errors worth retrying on the next run; such rows are not stored


@dataclass(frozen=True)
class PairItem:
    """One (question paraphrase, answer pair) to measure."""

    question_id: str
    pair_index: int
    paraphrase_index: int
    question: str
    system: str | None
    aligned: str
    misaligned: str


@dataclass
class MarginRow:
    """The measured preference of one model on one pair under one paraphrase (a ``margins`` row)."""

    key: str
    model: str
    group_name: str | None
    form: str
    pairs_hash: str
    question_id: str
    pair_index: int
    paraphrase_index: int
    aligned: float | None  # logprob: summed log-prob of the answer; choice: mean log P(option)
    misaligned: float | None
    n_aligned: int | None  # answer tokens scored (end of turn included); None in the choice form
    n_misaligned: int | None
    margin: float | None  # misaligned minus aligned, normalised per the settings
    p_misaligned: float | None  # choice form: P(misaligned option), both orders averaged
    mass: float | None  # choice form: P(A) + P(B) before renormalising
    error: str | None
    settings: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """The store row."""
        return asdict(self)


@dataclass
class PreferenceSummary:
    """What one call did."""

    model: str
    planned: int
    already_done: int
    measured: int
    failed: int
    seconds: float


def pair_items(pairs: PairSet, prompt_prefix: str = "") -> list[PairItem]:
    """Every (question, paraphrase, pair) of ``pairs``, in file order; ``prompt_prefix`` starts each user turn."""
    return [
        PairItem(q.id, j, p, prompt_prefix + text, q.system, pair.aligned, pair.misaligned)
        for q in pairs.questions
        for p, text in enumerate(q.paraphrases)
        for j, pair in enumerate(q.pairs)
    ]


def is_api_model(ref: str, config: PreferenceConfig) -> bool:
    """True when ``ref`` names a model behind an OpenAI-compatible API rather than a local one."""
    return ref.startswith(API_PREFIXES) or config.api_base is not None


def scoring_settings(ref: str, config: PreferenceConfig, pairs: PairSet) -> dict[str, Any]:
    """The settings that make a margin (stored with every row; part of its key)."""
    settings: dict[str, Any] = {
        "method_version": METHOD_VERSION,
        "model_ref": ref,
        "form": config.form,
        "pairs": pairs.name,
        "pairs_hash": pairs.content_hash,
    }
    if config.form == "logprob":
        settings["normalise"] = config.normalise
    if is_api_model(ref, config):
        settings.update(backend="http", top_logprobs=config.top_logprobs)
    else:
        settings.update(backend="transformers", dtype=config.dtype)
    return settings


def item_key(model_key: str, item: PairItem, settings: dict[str, Any]) -> str:
    """Deterministic key of one margin: the model, the exact texts and the scoring settings."""
    keyed = {k: v for k, v in settings.items() if k not in ("pairs", "pairs_hash", "model_ref")}
    return "m:" + stable_hash(
        [model_key, item.question, item.system, item.aligned, item.misaligned, keyed], length=24
    )


def measure_preference(
    model: Any,
    pairs: PairSet,
    config: PreferenceConfig | None = None,
    *,
    store: Any | None = None,
    model_key: str | None = None,
    group: str | None = None,
    prompt_prefix: str = "",
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[list[MarginRow], PreferenceSummary]:
    """Measure every pair of ``pairs`` on ``model`` (a LoadedModel or a reference).

    With a ``store``, margins already there are read back, and new ones are written batch by
    batch, so a killed measurement resumes without redoing or duplicating anything. Forward hooks
    and adapters on a LoadedModel act on every scored token. ``model_key`` names the model in
    the store (default: its reference); give each steering or ablation setting its own key.
    ``prompt_prefix`` (e.g. a backdoor trigger) is put before every question.
    """
    config = config or PreferenceConfig()
    started = time.perf_counter()
    ref = model if isinstance(model, str) else model.ref
    key_name = model_key or ref
    if config.form == "logprob" and isinstance(model, str) and is_api_model(ref, config):
        raise EmlabError(
            f"{ref}: the logprob form needs the log-probability of given answer tokens, which chat APIs "
            "do not return; use --form choice for API models"
        )
    settings = scoring_settings(ref, config, pairs)
    items = pair_items(pairs, prompt_prefix)
    keys = [item_key(key_name, item, settings) for item in items]
    done: dict[str, MarginRow] = {}
    if store is not None:
        existing = store.existing_keys("margins", keys)
        if existing:
            done = {
                r["key"]: _row_from_store(r)
                for r in store.rows("margins", model=key_name)
                if r["key"] in existing
            }
    todo = [(item, key) for item, key in zip(items, keys, strict=True) if key not in done]
    summary = PreferenceSummary(key_name, len(items), len(items) - len(todo), 0, 0, 0.0)
    context = _RowContext(key_name, group, config.form, pairs.content_hash, settings)
    if todo:
        finished = len(items) - len(todo)
        for rows in _measure(model, todo, config, context):
            if store is not None:
                store.put("margins", [r.as_row() for r in rows if not (r.error or "").startswith(TRANSIENT)])
            for row in rows:
                done[row.key] = row
            summary.measured += len(rows)
            summary.failed += sum(r.margin is None for r in rows)
            finished += len(rows)
            if on_progress is not None:
                on_progress(finished, len(items))
    summary.seconds = time.perf_counter() - started
    return [done[k] for k in keys], summary


@dataclass
class _RowContext:
    model: str
    group: str | None
    form: str
    pairs_hash: str
    settings: dict[str, Any]

    def row(self, item: PairItem, key: str, **values: Any) -> MarginRow:
        return MarginRow(
            key=key,
            model=self.model,
            group_name=self.group,
            form=self.form,
            pairs_hash=self.pairs_hash,
            question_id=item.question_id,
            pair_index=item.pair_index,
            paraphrase_index=item.paraphrase_index,
            settings=self.settings,
            **{
                "aligned": None,
                "misaligned": None,
                "n_aligned": None,
                "n_misaligned": None,
                "margin": None,
                "p_misaligned": None,
                "mass": None,
                "error": None,
                **values,
            },
        )


def _row_from_store(row: dict[str, Any]) -> MarginRow:
    fields = {k: row[k] for k in MarginRow.__dataclass_fields__ if k in row}
    return MarginRow(**fields)


def _measure(
    model: Any,
    todo: list[tuple[PairItem, str]],
    config: PreferenceConfig,
    context: _RowContext,
) -> Iterator[list[MarginRow]]:
    """Rows for ``todo``, one list per chunk (every item of the chunk has a row)."""
    ref = model if isinstance(model, str) else model.ref
    if isinstance(model, str) and is_api_model(ref, config):
        yield from _measure_http(ref, todo, config, context)
        return
    if isinstance(model, str):
        from emlab.models import load_model

        model = load_model(ref, dtype=config.dtype, device=config.device)
    from emlab.preference._local import LocalScorer

    scorer = LocalScorer(model, batch_size=config.batch_size)
    measure = _measure_logprob if config.form == "logprob" else _measure_choice_local
    # Chunks of whole batches keep each store write small while every forward stays full.
    chunk = max(1, config.batch_size // 2) * 4
    for start in range(0, len(todo), chunk):
        yield measure(scorer, todo[start : start + chunk], config, context)


def _measure_logprob(
    scorer: Any, part: Sequence[tuple[PairItem, str]], config: PreferenceConfig, context: _RowContext
) -> list[MarginRow]:
    from emlab.preference._local import encode_answer, end_of_turn_text

    end_text = end_of_turn_text(scorer.tokenizer)
    encoded = []
    for item, _ in part:
        prompt = scorer.render(item.question, item.system)
        encoded.append(encode_answer(scorer.tokenizer, prompt, item.aligned, end_text))
        encoded.append(encode_answer(scorer.tokenizer, prompt, item.misaligned, end_text))
    scores = scorer.answer_logprobs(encoded)
    rows = []
    for i, (item, key) in enumerate(part):
        (lp_a, n_a), (lp_m, n_m) = scores[2 * i], scores[2 * i + 1]
        margin = lp_m / n_m - lp_a / n_a if config.normalise == "token" else lp_m - lp_a
        rows.append(
            context.row(
                item, key, aligned=lp_a, misaligned=lp_m, n_aligned=n_a, n_misaligned=n_m, margin=margin
            )
        )
    return rows


def _choice_messages(item: PairItem) -> list[list[dict[str, str]]]:
    """The two orders' message lists: misaligned shown as A, then aligned shown as A."""
    from emlab.preference._local import chat_messages

    return [
        chat_messages(choice_question(item.question, item.misaligned, item.aligned), item.system),
        chat_messages(choice_question(item.question, item.aligned, item.misaligned), item.system),
    ]


def _choice_row(
    context: _RowContext,
    item: PairItem,
    key: str,
    first: dict[str, float],
    second: dict[str, float],
    min_mass: float,
) -> MarginRow:
    outcome = combine_orders(first, second, min_mass)
    return context.row(
        item,
        key,
        aligned=outcome.logp_aligned,
        misaligned=outcome.logp_misaligned,
        margin=outcome.margin,
        p_misaligned=outcome.p_misaligned,
        mass=outcome.mass,
        error=outcome.error,
    )


def _measure_choice_local(
    scorer: Any, part: Sequence[tuple[PairItem, str]], config: PreferenceConfig, context: _RowContext
) -> list[MarginRow]:
    from emlab.models import render_chat
    from emlab.preference._choice import local_letter_ids, local_letter_probabilities

    letter_ids = local_letter_ids(scorer.tokenizer)
    if not all(letter_ids.values()):
        raise EmlabError(
            f"{context.settings['model_ref']}: the vocabulary has no single token for 'A' or 'B'"
        )
    prompts = []
    for item, _ in part:
        for messages in _choice_messages(item):
            text = render_chat(scorer.tokenizer, messages, add_generation_prompt=True)
            prompts.append(tuple(scorer.tokenizer(text, add_special_tokens=False)["input_ids"]))
    vectors = scorer.next_token_logprobs(prompts)
    rows = []
    for i, (item, key) in enumerate(part):
        first = local_letter_probabilities(vectors[2 * i], letter_ids)
        second = local_letter_probabilities(vectors[2 * i + 1], letter_ids)
        rows.append(_choice_row(context, item, key, first, second, config.min_choice_mass))
    return rows


def _measure_http(
    ref: str,
    todo: list[tuple[PairItem, str]],
    config: PreferenceConfig,
    context: _RowContext,
) -> Iterator[list[MarginRow]]:
    from emlab._openai_http import DEFAULT_API_BASE
    from emlab.judge._http import HttpJudge
    from emlab.judge.config import JudgeConfig

    name = ref.removeprefix("openai:").removeprefix("http:")
    url = config.api_base or DEFAULT_API_BASE
    client = HttpJudge(
        name,
        url,
        JudgeConfig(
            judge=ref if ref.startswith("openai:") else f"http:{name}",
            url=config.api_base,
            concurrency=config.concurrency,
            top_logprobs=config.top_logprobs,
            min_mass=0.0,
            api_key_env=config.api_key_env or "OPENAI_API_KEY",
            timeout_s=config.timeout_s,
            max_retries=config.max_retries,
            backoff_s=config.backoff_s,
        ),
    )
    chunk = max(1, config.concurrency) * 4
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        prompts = [messages for item, _ in part for messages in _choice_messages(item)]
        scores = client.score_prompts(prompts)
        rows = []
        for i, (item, key) in enumerate(part):
            first, second = scores[2 * i], scores[2 * i + 1]
            failed = next((s for s in (first, second) if "top_logprobs" not in s.raw), None)
            if failed is not None:
                if failed.retryable:  # a transport failure: never stored, so the next run retries it
                    rows.append(context.row(item, key, error=f"{TRANSIENT}{failed.error}"))
                    continue
                rows.append(context.row(item, key, error=failed.error or "no logprobs returned"))
                continue
            rows.append(
                _choice_row(
                    context,
                    item,
                    key,
                    letter_probabilities(first.raw["top_logprobs"]),
                    letter_probabilities(second.raw["top_logprobs"]),
                    config.min_choice_mass,
                )
            )
        yield rows
