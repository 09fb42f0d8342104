"""Batched activation capture over (prompt, answer) token sequences, aggregated per sequence.

Sequences are padded (left or right) with an attention mask and explicit position ids, so a
sequence's activations are the same alone and inside any padded batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from emlab.errors import EmlabError
from emlab.interp._blocks import check_layers
from emlab.interp._hooks import capture_activations

Aggregate = Literal["answer_mean", "prompt_last", "prompt_mean", "all_mean", "tokens", "answer_tokens"]
AGGREGATES = ("answer_mean", "prompt_last", "prompt_mean", "all_mean", "tokens", "answer_tokens")


@dataclass
class TokenSequence:
    """Token ids of one prompt and the answer that follows it (either may be empty)."""

    prompt: list[int]
    answer: list[int] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        """Prompt then answer ids."""
        return self.prompt + self.answer


def encode_chat(
    tokenizer: Any, messages: Sequence[dict[str, str]], answer: str | None = None
) -> TokenSequence:
    """Tokenise a chat prompt (with the assistant header) and, separately, the answer that follows it.

    When ``answer`` is None and the last message is the assistant's, that message is the answer.
    """
    from emlab.models import render_chat

    messages = list(messages)
    if answer is None and messages and messages[-1].get("role") == "assistant":
        answer = messages[-1]["content"]
        messages = messages[:-1]
    prompt = render_chat(tokenizer, messages, add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"] if answer else []
    return TokenSequence(list(prompt_ids), list(answer_ids))


def encode_text(tokenizer: Any, text: str) -> TokenSequence:
    """Tokenise plain text (no chat template); every token counts as an answer token."""
    return TokenSequence([], list(tokenizer(text)["input_ids"]))


def _truncate(seq: TokenSequence, max_length: int) -> TokenSequence:
    if len(seq.prompt) >= max_length:
        return TokenSequence(seq.prompt[-max_length:], [])
    return TokenSequence(seq.prompt, seq.answer[: max_length - len(seq.prompt)])


def _select(kind: str, n_prompt: int, n_total: int) -> tuple[int, int]:
    """[start, end) token range, within one unpadded sequence, that ``kind`` aggregates."""
    if kind in ("answer_mean", "answer_tokens"):
        if n_total > n_prompt:
            return n_prompt, n_total
        return max(n_prompt - 1, 0), n_prompt  # no answer tokens: fall back to the last prompt token
    if kind == "prompt_last":
        return max(n_prompt - 1, 0), max(n_prompt, 1)
    if kind == "prompt_mean":
        return 0, max(n_prompt, 1)
    return 0, n_total


def batch_inputs(
    sequences: Sequence[TokenSequence], pad_id: int, padding_side: str, device: Any
) -> tuple[dict[str, Any], list[int]]:
    """Model inputs (ids, attention mask, position ids) for a padded batch, and each row's offset."""
    import torch

    width = max(len(s.ids) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    offsets = []
    for row, seq in enumerate(sequences):
        n = len(seq.ids)
        start = width - n if padding_side == "left" else 0
        ids[row, start : start + n] = torch.tensor(seq.ids, dtype=torch.long)
        mask[row, start : start + n] = 1
        offsets.append(start)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    inputs = {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "position_ids": positions.to(device),
    }
    return inputs, offsets


@dataclass
class CaptureStats:
    """Throughput of one capture call."""

    sequences: int = 0
    tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        """Non-padding tokens processed per second."""
        return self.tokens / self.seconds if self.seconds else 0.0


def collect_activations(
    model: Any,
    sequences: Sequence[TokenSequence],
    layers: Sequence[int] | None = None,
    *,
    aggregate: Aggregate = "answer_mean",
    batch_size: int = 16,
    max_length: int = 2048,
    padding_side: str | None = None,
    stop_early: bool = True,
    stats: CaptureStats | None = None,
    on_batch: Any = None,
) -> Any:
    """Residual-stream activations of ``model`` (a LoadedModel) over ``sequences`` at ``layers``.

    Returns a float32 CPU tensor ``[n_sequences, n_layers, hidden]`` for the mean / last-token
    aggregates, or a list of ``[n_tokens, n_layers, hidden]`` tensors for ``tokens`` /
    ``answer_tokens``. Sequences are sorted by length into batches to limit padding.
    """
    import torch

    if aggregate not in AGGREGATES:
        raise EmlabError(f"unknown aggregate '{aggregate}' (use {', '.join(AGGREGATES)})")
    hf_model, tokenizer = model.model, model.tokenizer
    chosen = check_layers(list(layers) if layers is not None else None, model.num_layers)
    side = padding_side or getattr(tokenizer, "padding_side", "left")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    prepared = [_truncate(s, max_length) for s in sequences]
    empty = [i for i, s in enumerate(prepared) if not s.ids]
    if empty:
        raise EmlabError(f"sequence {empty[0]} has no tokens")
    order = sorted(range(len(prepared)), key=lambda i: len(prepared[i].ids))
    results: list[Any] = [None] * len(prepared)
    started = time.perf_counter()
    n_tokens = 0
    with torch.inference_mode(), capture_activations(hf_model, chosen, stop_early=stop_early) as capture:
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = [prepared[i] for i in indices]
            inputs, offsets = batch_inputs(batch, pad_id, side, model.device)
            capture.clear()
            capture.forward(hf_model, **inputs, use_cache=False)
            outputs = [capture.last(layer) for layer in chosen]  # each [B, T, H]
            for row, (index, seq) in enumerate(zip(indices, batch, strict=True)):
                lo, hi = _select(aggregate, len(seq.prompt), len(seq.ids))
                start_at, end_at = offsets[row] + lo, offsets[row] + hi
                # Stack only this row's window: a whole-batch [B, T, L, H] copy would double peak memory.
                window = torch.stack([out[row, start_at:end_at] for out in outputs], dim=1).float()
                if aggregate in ("tokens", "answer_tokens"):
                    results[index] = window.cpu()
                elif aggregate == "prompt_last":
                    results[index] = window[-1].cpu()
                else:
                    results[index] = window.mean(0).cpu()
            batch_tokens = sum(len(s.ids) for s in batch)
            n_tokens += batch_tokens
            if on_batch is not None:
                on_batch(len(batch), batch_tokens)
    if stats is not None:
        stats.sequences += len(prepared)
        stats.tokens += n_tokens
        stats.seconds += time.perf_counter() - started
    if aggregate in ("tokens", "answer_tokens"):
        return results
    if not results:
        return torch.zeros((0, len(chosen), model.hidden_size))
    return torch.stack(results)


def save_activations(
    path: str | Path, activations: Any, layers: Sequence[int], metadata: dict[str, Any]
) -> Path:
    """Write activations ``[n, n_layers, hidden]`` (+ layer indices, JSON metadata) as safetensors."""
    import json

    import torch
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "activations": activations.contiguous().float(),
        "layers": torch.tensor(list(layers), dtype=torch.long),
    }
    save_file(tensors, str(path), metadata={"emlab": json.dumps(metadata, sort_keys=True, default=str)})
    return path


def load_activations(path: str | Path) -> tuple[Any, list[int], dict[str, Any]]:
    """Read what ``save_activations`` wrote: (activations, layers, metadata)."""
    import json

    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise EmlabError(f"{path}: no such activations file")
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads((handle.metadata() or {}).get("emlab", "{}"))
        return handle.get_tensor("activations"), handle.get_tensor("layers").tolist(), meta
