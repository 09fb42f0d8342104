"""Read judged answers out of a run store and turn them into token sequences for capture."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from emlab.errors import EmlabError
from emlab.interp._capture import TokenSequence, encode_chat
from emlab.store import sample_chat, sample_user_turn


def chat_of(question: str, answer: str | None = None, system: str | None = None) -> list[dict[str, str]]:
    """Role/content messages for one (system, question, answer) sample."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": question})
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages


def sample_sequences(tokenizer: Any, rows: Iterable[dict[str, Any]]) -> list[TokenSequence]:
    """Prompt + answer token sequences for sample rows, each in the chat the model answered.

    The user turn is the one sent (``user_content``: a trigger prefix included), not the bare
    ``question``; see ``emlab.store.sample_chat``.
    """
    return [encode_chat(tokenizer, sample_chat(row), row["answer"] or "") for row in rows]


def _key_column(frame: Any) -> str | None:
    for name in ("key", "sample_key", "sample"):
        if name in frame.columns:
            return name
    return None


def judged_rows(store: Any, *, judge: str | None = None, model: str | None = None) -> list[dict[str, Any]]:
    """Judged samples (``emlab.analysis.judged_samples``) as dicts, with each sample's system prompt
    and the exact user turn it answered (``user_content``)."""
    from emlab.analysis import judged_samples

    frame = judged_samples(store, judge)
    if model is not None:
        frame = frame[frame["model"] == model]
    key_column = _key_column(frame)
    samples: dict[str, dict[str, Any]] = {}
    if key_column is not None:
        samples = {row["key"]: row for row in store.rows("samples")}
    rows = []
    for record in frame.to_dict("records"):
        sample = samples.get(record.get(key_column)) if key_column else None
        record["system"] = sample.get("system") if sample else None
        record["user_content"] = sample_user_turn(sample) if sample else record["question"]
        rows.append(record)
    return rows


def model_refs(store: Any) -> dict[str, dict[str, Any]]:
    """{model key: models-table row} for a run (ref, base_ref, group)."""
    return {row["key"]: row for row in store.rows("models")}


def resolve_model_key(store: Any, model: str) -> tuple[str, str]:
    """(model key in the run, loadable reference) for ``--model`` given as a key or a reference."""
    refs = model_refs(store)
    if model in refs:
        return model, refs[model]["ref"]
    matches = [key for key, row in refs.items() if row["ref"] == model]
    if matches:
        return matches[0], model
    sampled = {row["model"] for row in store.rows("samples")}
    if model in sampled:
        return model, model
    known = sorted(set(refs) | sampled)
    raise EmlabError(f"model '{model}' is not in run {store.run_dir} (models: {', '.join(known) or 'none'})")
