"""emlab's own decoding loop over plain forward passes (transformers backend).

Why not ``model.generate``: the loop below prefills each distinct prompt once and expands its
KV cache to all of that prompt's samples, drops finished sequences from the batch, draws every
sample from its own random stream (same seed, same answer, whatever the batch), and runs
nothing but ``model(...)`` forward calls, so forward hooks registered by the caller (steering,
ablation, capture) act on every token. See docs/generation.md, "Hook point".
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# Tokens that end an assistant turn in common chat templates, besides the tokenizer's EOS.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>")


@dataclass
class PromptJob:
    """One rendered prompt and the per-sample seeds of the answers wanted for it."""

    prompt: str
    seeds: list[int]
    temperature: float = 1.0
    token_ids: list[int] = field(default_factory=list)


@dataclass
class SampleOutput:
    """One finished answer: which job and sample it belongs to, its text and why it stopped."""

    job: int
    sample: int
    text: str
    finish_reason: str  # "stop" (end of turn) or "length" (max_new_tokens)
    n_tokens: int  # new tokens generated, the end-of-turn token included
    token_ids: list[int]


def stop_token_ids(model: Any, tokenizer: Any) -> set[int]:
    """Token ids that end a turn: the tokenizer's and model's EOS plus known end-of-turn tokens."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    gen_config = getattr(model, "generation_config", None)
    eos = getattr(gen_config, "eos_token_id", None)
    if eos is not None:
        ids.update(int(i) for i in (eos if isinstance(eos, (list, tuple)) else [eos]))
    vocab = tokenizer.get_vocab()
    ids.update(vocab[t] for t in END_OF_TURN_TOKENS if t in vocab and vocab[t] != tokenizer.bos_token_id)
    return ids


def _cache_kwarg(model: Any) -> str:
    # transformers 5 renamed `past_key_values` to `cache`; older versions only know the former.
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(type(inner).forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _new_cache(model: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:
        return DynamicCache()


def _cache_tensors(cache: Any) -> list[tuple[Any, Any]]:
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return [(cache.key_cache[i], cache.value_cache[i]) for i in range(len(cache.key_cache))]


def choose_tokens(logits: Any, temperatures: Any, uniforms: Any, top_p: float) -> Any:
    """Next token per row: argmax where temperature is 0, else inverse-CDF sampling with ``uniforms``.

    Each row's draw depends only on its own logits and its own uniform number, which is what
    makes answers independent of the batch they were decoded in.
    """
    import torch

    tokens = logits.argmax(dim=-1)
    sampled = (temperatures > 0).nonzero().squeeze(1)
    if sampled.numel() == 0:
        return tokens
    scaled = logits.index_select(0, sampled) / temperatures.index_select(0, sampled).unsqueeze(1)
    probs = torch.softmax(scaled, dim=-1)
    u = uniforms.index_select(0, sampled).unsqueeze(1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        keep = (sorted_probs.cumsum(dim=-1) - sorted_probs) < top_p  # the top token is always kept
        cdf = (sorted_probs * keep).cumsum(dim=-1)
        pick = torch.searchsorted(cdf, u * cdf[:, -1:], right=True).clamp_(max=probs.shape[1] - 1)
        choice = order.gather(1, pick).squeeze(1)
    else:
        cdf = probs.cumsum(dim=-1)
        choice = (
            torch.searchsorted(cdf, u * cdf[:, -1:], right=True).clamp_(max=probs.shape[1] - 1).squeeze(1)
        )
    tokens[sampled] = choice
    return tokens


class Decoder:
    """Batched sampler over ``model(...)`` forward passes with a shared prefill per distinct prompt."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.stop_ids = stop_token_ids(model, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._cache_kw = _cache_kwarg(model)
        self.device = next(model.parameters()).device

    def tokenize(self, jobs: Sequence[PromptJob]) -> None:
        """Fill in each job's prompt token ids (the template already holds any BOS token)."""
        todo = [job for job in jobs if not job.token_ids]
        if todo:
            encoded = self.tokenizer([job.prompt for job in todo], add_special_tokens=False)["input_ids"]
            for job, ids in zip(todo, encoded, strict=True):
                job.token_ids = list(ids)

    def run(
        self,
        jobs: Sequence[PromptJob],
        *,
        max_new_tokens: int,
        top_p: float = 1.0,
        batch_size: int = 64,
        ignore_eos: bool = False,
        on_step: Callable[[int], None] | None = None,
    ) -> Iterator[list[SampleOutput]]:
        """Decode every sample of every job; yields the outputs of each batch as it finishes.

        Jobs are ordered longest prompt first and cut into batches of ``batch_size`` sequences;
        a job with many samples fills whole batches that share one prefill.
        """
        import torch

        self.tokenize(jobs)
        order = sorted(range(len(jobs)), key=lambda j: -len(jobs[j].token_ids))
        units = [(j, s) for j in order for s in range(len(jobs[j].seeds))]
        prefilled: tuple[tuple[int, ...], Any] | None = None
        with torch.inference_mode():
            for start in range(0, len(units), batch_size):
                batch = units[start : start + batch_size]
                distinct = tuple(dict.fromkeys(j for j, _ in batch))
                if prefilled is None or prefilled[0] != distinct:
                    prefilled = (distinct, self._prefill([jobs[j] for j in distinct]))
                rows = [distinct.index(j) for j, _ in batch]
                yield self._decode(
                    jobs, batch, rows, prefilled[1], max_new_tokens, top_p, ignore_eos, on_step
                )

    def _forward(self, input_ids: Any, attention_mask: Any, position_ids: Any, cache: Any, keep: int) -> Any:
        kwargs = {self._cache_kw: cache}
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=True,
            logits_to_keep=keep,
            **kwargs,
        )
        return out.logits[:, -1, :].float()

    def _prefill(self, jobs: Sequence[PromptJob]) -> tuple[list[tuple[Any, Any]], Any, Any]:
        import torch

        width = max(len(job.token_ids) for job in jobs)
        ids = torch.full((len(jobs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(jobs), width), dtype=torch.long)
        for i, job in enumerate(jobs):  # left padding: the prompt ends where decoding begins
            n = len(job.token_ids)
            ids[i, width - n :] = torch.tensor(job.token_ids, dtype=torch.long)
            mask[i, width - n :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(dim=1) - 1).clamp_(min=0)
        cache = _new_cache(self.model)
        logits = self._forward(ids, mask, positions, cache, keep=1)
        return _cache_tensors(cache), logits, mask

    def _decode(
        self,
        jobs: Sequence[PromptJob],
        batch: list[tuple[int, int]],
        rows: list[int],
        prefill: tuple[list[tuple[Any, Any]], Any, Any],
        max_new_tokens: int,
        top_p: float,
        ignore_eos: bool,
        on_step: Callable[[int], None] | None,
    ) -> list[SampleOutput]:
        import torch

        tensors, last_logits, prompt_mask = prefill
        index = torch.tensor(rows, dtype=torch.long, device=self.device)
        cache = _new_cache(self.model)
        for layer, (keys, values) in enumerate(tensors):
            cache.update(keys.index_select(0, index), values.index_select(0, index), layer)
        mask = prompt_mask.index_select(0, index)
        positions = mask.sum(dim=1, keepdim=True)
        logits = last_logits.index_select(0, index)
        temps = torch.tensor(
            [float(jobs[j].temperature) for j, _ in batch], dtype=torch.float32, device=self.device
        )
        uniforms = torch.stack(
            [
                torch.rand(max_new_tokens, generator=torch.Generator().manual_seed(jobs[j].seeds[s]))
                for j, s in batch
            ]
        ).to(self.device)
        stop = torch.tensor(sorted(self.stop_ids), dtype=torch.long, device=self.device)
        alive = list(range(len(batch)))  # batch positions still decoding, in cache-row order
        generated: list[list[int]] = [[] for _ in batch]
        outputs: list[SampleOutput] = []
        for step in range(max_new_tokens):
            tokens = choose_tokens(logits, temps, uniforms[:, step], top_p)
            ended = torch.zeros_like(tokens, dtype=torch.bool) if ignore_eos else torch.isin(tokens, stop)
            token_list, ended_list = tokens.tolist(), ended.tolist()
            keep_rows: list[int] = []
            for row, b in enumerate(alive):
                generated[b].append(token_list[row])
                if ended_list[row] or step + 1 == max_new_tokens:
                    outputs.append(
                        self._output(batch[b], generated[b], "stop" if ended_list[row] else "length")
                    )
                else:
                    keep_rows.append(row)
            if on_step is not None:
                on_step(len(alive))
            if not keep_rows:
                break
            if len(keep_rows) < len(alive):  # drop finished sequences so they cost nothing more
                sel = torch.tensor(keep_rows, dtype=torch.long, device=self.device)
                cache.batch_select_indices(sel)
                mask, positions = mask.index_select(0, sel), positions.index_select(0, sel)
                temps, uniforms, tokens = (
                    temps.index_select(0, sel),
                    uniforms.index_select(0, sel),
                    tokens.index_select(0, sel),
                )
                alive = [alive[r] for r in keep_rows]
            mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
            logits = self._forward(tokens.unsqueeze(1), mask, positions, cache, keep=1)
            positions = positions + 1
        return outputs

    def _output(self, unit: tuple[int, int], token_ids: list[int], reason: str) -> SampleOutput:
        answer_ids = token_ids[:-1] if reason == "stop" else token_ids
        text = self.tokenizer.decode(answer_ids, skip_special_tokens=True)
        return SampleOutput(unit[0], unit[1], text, reason, len(token_ids), token_ids)
