"""``generate_answers``: sample every planned answer of a question set into the run store.

Finished samples are written batch by batch (each batch one transaction), so a killed run
loses at most the batch in flight; a re-run plans the same keys and skips what is stored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emlab.console import progress
from emlab.errors import EmlabError
from emlab.generate._plan import PlannedSample, plan_samples
from emlab.generate.config import GenerationConfig
from emlab.provenance import package_versions
from emlab.questions import QuestionSet
from emlab.store import RunStore

_SYSTEM_PATTERNS = (
    re.compile(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", re.DOTALL),
    re.compile(r"<\|start_header_id\|>system<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.DOTALL),
)


@dataclass
class GenerateSummary:
    """What a ``generate_answers`` call did."""

    model_key: str
    backend: str
    planned: int
    skipped: int
    generated: int
    new_tokens: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        """New tokens per second over the call."""
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


def rendered_system(prompt: str, given: str | None) -> str | None:
    """The system prompt a rendered chat actually carries (templates may add a default one)."""
    for pattern in _SYSTEM_PATTERNS:
        found = pattern.search(prompt)
        if found:
            return found.group(1)
    return given


def _row(
    planned: PlannedSample,
    group: str | None,
    answer: str,
    finish_reason: str,
    n_tokens: int | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "key": planned.key,
        "model": planned.settings["model_key"],
        "group_name": group,
        "question_id": planned.question_id,
        "paraphrase_index": planned.paraphrase_index,
        "sample_index": planned.sample_index,
        "system": planned.system,
        "question": planned.question,
        "user_content": planned.user_content,
        "answer": answer,
        "finish_reason": finish_reason,
        "n_tokens": n_tokens,
        "settings": {**planned.settings, "sample_seed": planned.seed, **extra},
    }


def _record_model(store: RunStore, model_key: str, ref: str, group: str | None, info: dict[str, Any]) -> None:
    existing = store.rows("models", key=model_key)
    if existing and existing[0]["ref"] != ref:
        raise EmlabError(
            f"model key '{model_key}' already names '{existing[0]['ref']}' in {store.run_dir}; "
            f"pass a different --model-key for '{ref}'"
        )
    store.put(
        "models",
        [
            {
                "key": model_key,
                "ref": ref,
                "group_name": group,
                "base_ref": info.pop("base_ref", None),
                "info": {**info, "versions": package_versions()},
            }
        ],
    )


def generate_answers(
    model: Any,
    questions: QuestionSet,
    config: GenerationConfig,
    *,
    store: RunStore,
    model_key: str,
    group: str | None = None,
    prompt_prefix: str = "",
) -> GenerateSummary:
    """Sample every (question, paraphrase, sample) of ``questions`` not yet in ``store``; returns counts.

    ``model`` is a LoadedModel or a reference (transformers/vllm: loaded only if work remains;
    openai: the API model name). Forward hooks on a LoadedModel act during generation.
    """
    started = time.perf_counter()
    ref = model if isinstance(model, str) else model.ref
    planned = plan_samples(questions, config, model_ref=ref, model_key=model_key, prompt_prefix=prompt_prefix)
    done = store.existing_keys("samples", [p.key for p in planned])
    todo = [p for p in planned if p.key not in done]
    summary = GenerateSummary(model_key, config.backend, len(planned), len(planned) - len(todo), 0, 0, 0.0)
    info: dict[str, Any] = {"backend": config.backend}
    if not isinstance(model, str):
        info.update(base_ref=model.base_ref, path=model.path)
    _record_model(store, model_key, ref, group, info)
    if todo:
        runner = {"transformers": _run_transformers, "vllm": _run_vllm, "openai": _run_openai}[config.backend]
        runner(model, todo, config, store, group, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _run_transformers(
    model: Any,
    todo: Sequence[PlannedSample],
    config: GenerationConfig,
    store: RunStore,
    group: str | None,
    summary: GenerateSummary,
) -> None:
    from emlab.generate._decode import Decoder, PromptJob
    from emlab.models import load_model, render_chat

    if isinstance(model, str):
        model = load_model(model, dtype=config.dtype, device=config.device)
    # One job per (question, paraphrase): its samples share one prefill.
    groups: dict[tuple[str, int], list[PlannedSample]] = {}
    for p in todo:
        groups.setdefault((p.question_id, p.paraphrase_index), []).append(p)
    members = list(groups.values())
    jobs = []
    for samples in members:
        prompt = render_chat(model.tokenizer, samples[0].messages(), add_generation_prompt=True)
        jobs.append(
            PromptJob(prompt=prompt, seeds=[p.seed for p in samples], temperature=samples[0].temperature)
        )
    extra_common = {"dtype": str(model.dtype).removeprefix("torch."), "device": str(model.device)}
    decoder = Decoder(model.model, model.tokenizer)
    started = time.perf_counter()
    with progress("generating", total=len(todo), unit="samples") as bar:
        for outputs in decoder.run(
            jobs, max_new_tokens=config.max_new_tokens, top_p=config.top_p, batch_size=config.batch_size
        ):
            rows = []
            for out in outputs:
                planned = members[out.job][out.sample]
                prompt = jobs[out.job].prompt
                extra = {
                    **extra_common,
                    "prompt": prompt,
                    "system_used": rendered_system(prompt, planned.system),
                }
                rows.append(_row(planned, group, out.text, out.finish_reason, out.n_tokens, extra))
                summary.new_tokens += out.n_tokens
            store.put("samples", rows)
            summary.generated += len(rows)
            elapsed = time.perf_counter() - started
            bar.set_description(f"generating ({summary.new_tokens / max(elapsed, 1e-9):,.0f} tok/s)")
            bar.advance(len(rows), rate=summary.generated / max(elapsed, 1e-9))


def _run_vllm(
    model: Any,
    todo: Sequence[PlannedSample],
    config: GenerationConfig,
    store: RunStore,
    group: str | None,
    summary: GenerateSummary,
) -> None:
    from emlab.generate._vllm import VllmRequest, VllmSampler
    from emlab.models import render_chat

    ref = model if isinstance(model, str) else model.ref
    sampler = VllmSampler(ref, config)
    prompts = [render_chat(sampler.tokenizer, p.messages(), add_generation_prompt=True) for p in todo]
    requests = [VllmRequest(prompt, p.temperature, p.seed) for p, prompt in zip(todo, prompts, strict=True)]
    chunk = max(config.batch_size, 256)
    offset = 0
    with progress("generating (vllm)", total=len(todo), unit="samples") as bar:
        for results in sampler.run(requests, chunk=chunk):
            rows = []
            for i, result in enumerate(results):
                p, prompt = todo[offset + i], prompts[offset + i]
                extra = {"prompt": prompt, "system_used": rendered_system(prompt, p.system)}
                rows.append(_row(p, group, result.text, result.finish_reason, result.n_tokens, extra))
                summary.new_tokens += result.n_tokens
            offset += len(results)
            store.put("samples", rows)
            summary.generated += len(rows)
            bar.advance(len(rows))


def _run_openai(
    model: Any,
    todo: Sequence[PlannedSample],
    config: GenerationConfig,
    store: RunStore,
    group: str | None,
    summary: GenerateSummary,
) -> None:
    from emlab.generate._openai import ChatRequest, ChatResult, complete_all, resolve_api_base

    if not isinstance(model, str):
        raise EmlabError("the openai backend takes a model name (e.g. gpt-4o-2024-08-06), not a loaded model")
    api_base = resolve_api_base(config)
    requests = [ChatRequest(p.messages(), p.temperature, p.seed) for p in todo]
    buffer: list[dict[str, Any]] = []

    def flush() -> None:
        if buffer:
            store.put("samples", buffer)
            summary.generated += len(buffer)
            buffer.clear()

    with progress("generating (api)", total=len(todo), unit="samples") as bar:

        def on_result(index: int, result: ChatResult) -> None:
            p = todo[index]
            extra = {
                "api_base": api_base,
                "system_used": p.system,
                "response_model": result.model,
                "system_fingerprint": result.system_fingerprint,
                "attempts": result.attempts,
            }
            buffer.append(_row(p, group, result.text, result.finish_reason, result.n_tokens, extra))
            summary.new_tokens += result.n_tokens or 0
            bar.advance(1)
            if len(buffer) >= config.write_every:
                flush()

        try:
            complete_all(model, requests, config, on_result)
        finally:
            flush()  # whatever finished before an error or interrupt is kept
