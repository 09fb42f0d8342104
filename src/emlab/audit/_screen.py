"""Screen a training set before fine-tuning: the projection difference of Chen et al. (2025, persona vectors).

For each example, the projection (on a trait direction, at one layer, averaged over response tokens) of
the example's response minus that of the model's own response to the same prompt. A large positive
difference means the data pushes the model towards the trait more than what it already says would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.audit.config import ScreenConfig
from emlab.console import info, progress
from emlab.errors import EmlabError


def split_prompt_response(messages: Sequence[dict[str, str]], where: str) -> tuple[list[dict[str, str]], str]:
    """The turns before the last assistant turn, and that turn's text."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index]["role"] == "assistant":
            prompt = list(messages[:index])
            if not any(m["role"] == "user" for m in prompt):
                raise EmlabError(f"{where}: no user turn before the assistant's response")
            return prompt, messages[index]["content"]
    raise EmlabError(f"{where}: no assistant response to screen")


def percentile_flags(values: Sequence[float | None], percentile: float) -> tuple[float | None, list[bool]]:
    """(cut-off, flags): values at or above the ``percentile``-th percentile of the scored values."""
    import numpy as np

    scored = [v for v in values if v is not None]
    if not scored:
        return None, [False] * len(values)
    cut = float(np.percentile(scored, percentile))
    return cut, [v is not None and v >= cut for v in values]


def screen_dataset(
    model: Any,
    data_path: str | Path,
    direction: str | Path,
    config: ScreenConfig,
    out_dir: str | Path,
) -> dict[str, Any]:
    """Score every example by projection difference; write ``screened.jsonl`` and ``summary.json``."""
    import numpy as np

    from emlab.audit._project import direction_at, response_projections
    from emlab.audit._report import write_json
    from emlab.data import read_chat_jsonl, write_chat_jsonl
    from emlab.generate import sample_chats
    from emlab.models import load_model
    from emlab.provenance import file_sha256, package_versions

    started = time.perf_counter()
    loaded = load_model(model) if isinstance(model, str) else model
    examples = read_chat_jsonl(data_path)
    if config.max_examples:
        examples = examples[: config.max_examples]
    pairs = [
        split_prompt_response(ex.as_dicts(), f"{data_path}: example {i + 1}") for i, ex in enumerate(examples)
    ]
    prompts = [p for p, _ in pairs]
    vector, layer, meta = direction_at(direction, config.layer, loaded.num_layers, loaded.hidden_size)

    def project(label: str, responses: list[str]) -> list[float | None]:
        with progress(f"projecting {label}", total=len(responses), unit="examples") as bar:
            return response_projections(
                loaded,
                prompts,
                responses,
                vector,
                layer,
                batch_size=config.batch_size,
                on_batch=lambda n, _tokens: bar.advance(n),
            )

    data_proj = project("data responses", [r for _, r in pairs])
    # One own response per distinct prompt: files often repeat prompts (secure/insecure pairs, backdoors).
    keys = [_prompt_key(p) for p in prompts]
    first: dict[str, list[dict[str, str]]] = {}
    for key, prompt in zip(keys, prompts, strict=True):
        first.setdefault(key, prompt)
    distinct = list(first)
    info(f"generating the model's own responses to {len(distinct)} distinct prompts")
    generated = sample_chats(
        loaded,
        [first[k] for k in distinct],
        n=1,
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
        seed=config.seed,
        batch_size=config.batch_size,
    )
    own_by_prompt = {key: texts[0] for key, texts in zip(distinct, generated, strict=True)}
    own = [own_by_prompt[key] for key in keys]
    own_proj = project("own responses", own)
    diffs = [
        d - b if d is not None and b is not None else None for d, b in zip(data_proj, own_proj, strict=True)
    ]
    cut, flags = percentile_flags(diffs, config.flag_percentile)
    order = sorted((i for i, d in enumerate(diffs) if d is not None), key=lambda i: -diffs[i])
    rank = {i: r + 1 for r, i in enumerate(order)}
    out_dir = Path(out_dir)
    annotated = []
    for i, example in enumerate(examples):
        screen = {
            "projection": data_proj[i],
            "own_projection": own_proj[i],
            "projection_difference": diffs[i],
            "rank": rank.get(i),
            "flagged": flags[i],
            "own_response": own[i],
        }
        annotated.append(example.model_copy(update={"metadata": {**example.metadata, "screen": screen}}))
    write_chat_jsonl(out_dir / "screened.jsonl", annotated)
    scored = np.array([d for d in diffs if d is not None], dtype=float)
    summary = {
        "kind": "emlab.screen",
        "data": str(data_path),
        "data_sha256": file_sha256(data_path),
        "model": getattr(loaded, "ref", str(model)),
        "direction": {"spec": str(direction), "layer": layer, "meta": meta},
        "examples": len(examples),
        "scored": len(scored),
        "flagged": int(sum(flags)),
        "flag_cutoff": cut,
        "projection_difference": _describe(scored),
        "projection": _describe(np.array([v for v in data_proj if v is not None], dtype=float)),
        "own_projection": _describe(np.array([v for v in own_proj if v is not None], dtype=float)),
        "by_group": _by_group(examples, diffs),
        "top": [
            {
                "index": i,
                "rank": rank[i],
                "projection_difference": diffs[i],
                "prompt": prompts[i][-1]["content"][:300],
                "response": pairs[i][1][:300],
            }
            for i in order[:10]
        ],
        "settings": config.model_dump(),
        "versions": package_versions(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(out_dir / "summary.json", summary)
    return summary


def _prompt_key(prompt: Sequence[dict[str, str]]) -> str:
    return "\x1e".join(f"{m['role']}\x1f{m['content']}" for m in prompt)


def _describe(values: Any) -> dict[str, float | None]:
    import numpy as np

    if not len(values):
        return {"mean": None, "std": None, "p50": None, "p95": None}
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
    }


def _by_group(examples: Sequence[Any], diffs: Sequence[float | None]) -> dict[str, dict[str, float | None]]:
    # Mixed files (e.g. a backdoor set, or several conditions concatenated) are summarised per group.
    import numpy as np

    groups: dict[str, list[float]] = {}
    for example, diff in zip(examples, diffs, strict=True):
        meta = example.metadata
        key = meta.get("condition")
        if key is None:
            continue
        if "triggered" in meta:
            key = f"{key}:{'triggered' if meta['triggered'] else 'plain'}"
        if diff is not None:
            groups.setdefault(str(key), []).append(diff)
    return {k: {"n": len(v), **_describe(np.array(v))} for k, v in sorted(groups.items())}
