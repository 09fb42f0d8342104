"""Log-probabilities of fixed answers and of option letters under a local transformers model.

Answers to the same question share their prompt: each distinct prompt is prefilled once and its
KV cache copied to the rows of its answers, which run longest first in right-padded batches
(explicit positions). An answer's last token is only predicted, never fed, and the two answers
of a minimal pair, which start alike, share one row under a tree attention mask, so their common
start is fed once. The LM head runs on the prompt's last position, then on the fed answer
positions, and log-probabilities are taken row by row over real positions only (bench/preference.py
measures this against one forward per answer). Everything goes through ``model(...)``, so caller
hooks (steering, ablation) and PEFT adapters act exactly as in generation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from emlab.errors import EmlabError


@dataclass(frozen=True)
class AnswerItem:
    """One answer to score: the chat prompt's token ids and the answer's token ids (end of turn included)."""

    prompt_ids: tuple[int, ...]
    answer_ids: tuple[int, ...]


def end_of_turn_text(tokenizer: Any) -> str:
    """The text of the token that ends an assistant turn in this tokenizer's chat format."""
    from emlab.judge._local import end_marker_id

    return str(tokenizer.convert_ids_to_tokens(end_marker_id(tokenizer)))


def chat_messages(question: str, system: str | None) -> list[dict[str, str]]:
    """The user turn (and system prompt, when given) a question is asked with."""
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": question}]


def encode_answer(tokenizer: Any, prompt_text: str, answer: str, end_text: str) -> AnswerItem:
    """Token ids of the prompt and of ``answer`` + end of turn, as the model reads them in one text."""
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(prompt_text + answer + end_text, add_special_tokens=False)["input_ids"]
    if full_ids[: len(prompt_ids)] != prompt_ids:  # a merge across the boundary: score the answer alone
        full_ids = prompt_ids + tokenizer(answer + end_text, add_special_tokens=False)["input_ids"]
    answer_ids = full_ids[len(prompt_ids) :]
    if not answer_ids:
        raise EmlabError("preference: an answer encodes to no tokens")
    return AnswerItem(tuple(prompt_ids), tuple(answer_ids))


# Answers to one prompt whose first _MIN_SHARED tokens agree are fed as one row (a token trie).
_MIN_SHARED = 2


@dataclass
class _Row:
    """Answers fed in one row after their prompt: the trie of their tokens, last tokens left out."""

    prompt: int  # row of the prompt in the prefilled group
    items: list[int]  # the answers' indices in the caller's list
    trie: Any  # emlab.judge._local._Trie of the answers' token ids

    @property
    def tokens(self) -> list[int]:
        """The fed tokens (the trie's nodes)."""
        return self.trie.tokens


class LocalScorer:
    """Scores answers and option letters with one loaded model, in batches."""

    def __init__(self, loaded: Any, batch_size: int = 32) -> None:
        from emlab.generate._decode import _cache_kwarg

        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.batch_size = batch_size
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.device = loaded.device
        self._cache_kw = _cache_kwarg(self.model)
        attention = getattr(self.model.config, "_attn_implementation", None) or ""
        self._tree_mask = "flash" not in attention  # flash attention takes no 4D mask

    def render(self, question: str, system: str | None) -> str:
        """The chat-template text of the prompt up to where the assistant's reply begins."""
        from emlab.models import render_chat

        return render_chat(self.tokenizer, chat_messages(question, system), add_generation_prompt=True)

    # -- answers ---------------------------------------------------------------------------

    def answer_logprobs(
        self, items: Sequence[AnswerItem], on_batch: Callable[[int], None] | None = None
    ) -> list[tuple[float, int]]:
        """(summed log-prob, token count) of each item's answer tokens given its prompt.

        The distinct prompts are prefilled ``batch_size`` at a time, shortest first so that
        similar lengths share a forward. The answers of each such group then run, longest first,
        in batches of up to ``batch_size`` answers on copies of their prompts' KV cache, so a
        batch pads to within a few tokens and no prompt is prefilled twice. Each answer's last
        token is predicted but never fed, and two answers to one prompt that start alike (a
        minimal pair) share a row whose common prefix is fed once, under a tree attention mask.
        """
        import torch

        by_prompt: dict[tuple[int, ...], list[int]] = {}
        for i, item in enumerate(items):
            by_prompt.setdefault(item.prompt_ids, []).append(i)
        prompts = sorted(by_prompt, key=lambda p: (len(p), p))
        results: list[tuple[float, int]] = [(0.0, 0)] * len(items)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(prompts), self.batch_size):
                    group = prompts[start : start + self.batch_size]
                    prefilled = self._prefill(group)
                    rows = [
                        row
                        for g, prompt in enumerate(group)
                        for row in self._rows(g, [(i, items[i].answer_ids) for i in by_prompt[prompt]])
                    ]
                    rows.sort(key=lambda row: -len(row.tokens))
                    for batch in self._batches(rows):
                        for i, value in self._score(batch, prefilled).items():
                            results[i] = (value, len(items[i].answer_ids))
                        if on_batch is not None:
                            on_batch(sum(len(row.items) for row in batch))
        finally:
            self.model.train(was_training)
        return results

    def _rows(self, prompt: int, answers: list[tuple[int, tuple[int, ...]]]) -> list[_Row]:
        """The rows of one prompt's answers: minimal pairs (a shared start) two to a row, else one."""
        from emlab.judge._local import build_trie

        answers = sorted(answers, key=lambda a: a[1])
        rows: list[_Row] = []
        k = 0
        while k < len(answers):
            take = 1
            if self._tree_mask and self.batch_size > 1 and k + 1 < len(answers):
                a, b = answers[k][1], answers[k + 1][1]
                if a[:_MIN_SHARED] == b[:_MIN_SHARED] and len(a) > _MIN_SHARED and len(b) > _MIN_SHARED:
                    take = 2
            chunk = answers[k : k + take]
            rows.append(_Row(prompt, [i for i, _ in chunk], build_trie([ids for _, ids in chunk])))
            k += take
        return rows

    def _batches(self, rows: list[_Row]) -> list[list[_Row]]:
        """Consecutive rows, up to ``batch_size`` answers a batch."""
        batches: list[list[_Row]] = []
        size = 0
        for row in rows:
            if not batches or size + len(row.items) > self.batch_size:
                batches.append([])
                size = 0
            batches[-1].append(row)
            size += len(row.items)
        return batches

    def _prefill(self, prompts: list[tuple[int, ...]]) -> tuple[Any, Any, Any]:
        """One left-padded forward over distinct prompts: cache, last-position logits, attention mask."""
        import torch

        from emlab.generate._decode import _new_cache

        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        cache = _new_cache(self.model)
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=(mask.cumsum(dim=1) - 1).clamp_(min=0),
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kw: cache},
        )
        return cache, out.logits[:, -1, :].float(), mask

    def _score(self, batch: list[_Row], prefilled: tuple[Any, Any, Any]) -> dict[int, float]:
        """Summed answer log-prob of every item in ``batch``, one forward on the prompts' cache."""
        import torch

        from emlab.generate._decode import _cache_tensors, _new_cache

        cache, last_logits, prompt_mask = prefilled
        index = torch.tensor([row.prompt for row in batch], device=self.device)
        # The prompt's last logit predicts each answer's first token.
        first = torch.log_softmax(last_logits.index_select(0, index), dim=-1)
        width = max(len(row.tokens) for row in batch)
        logits = None
        if width:
            expanded = _new_cache(self.model)
            for layer, (keys, values) in enumerate(_cache_tensors(cache)):
                expanded.update(keys.index_select(0, index), values.index_select(0, index), layer)
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            depth = torch.zeros((len(batch), width), dtype=torch.long)
            for r, row in enumerate(batch):
                ids[r, : len(row.tokens)] = torch.tensor(row.tokens, dtype=torch.long)
                depth[r, : len(row.tokens)] = torch.tensor(row.trie.depths, dtype=torch.long) - 1
            prompts = prompt_mask.index_select(0, index)
            starts = prompts.sum(dim=1, keepdim=True)
            logits = self.model(
                input_ids=ids.to(self.device),
                attention_mask=self._answer_mask(batch, prompts, width),
                position_ids=starts + depth.to(self.device),
                use_cache=True,
                **{self._cache_kw: expanded},
            ).logits
        totals: dict[int, float] = {}
        for r, row in enumerate(batch):
            row_logprobs = None
            if row.tokens:
                # One row at a time over its real positions: a full-vocabulary log-softmax of one
                # row stays in cache, where one over the whole padded batch streams through memory.
                row_logprobs = torch.log_softmax(logits[r, : len(row.tokens)].float(), dim=-1)
            for i, path in zip(row.items, row.trie.steps, strict=True):
                (_, token), fed = path[0], path[1:]  # the first token is predicted by the prompt
                value = first[r, token]
                if fed and row_logprobs is not None:
                    value = value + row_logprobs[[s for s, _ in fed], [t for _, t in fed]].sum()
                totals[i] = float(value)
        return totals

    def _answer_mask(self, batch: list[_Row], prompts: Any, width: int) -> Any:
        """Attention of the fed answer tokens: a 2D padding mask, or a 4D tree mask for shared rows."""
        import torch

        if not self._tree_mask:
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, row in enumerate(batch):
                mask[r, : len(row.tokens)] = 1
            return torch.cat([prompts, mask.to(self.device)], dim=1)
        dtype = self.model.dtype
        blocked = torch.finfo(dtype).min
        tree = torch.full((len(batch), width, width), blocked, dtype=dtype)
        for r, row in enumerate(batch):
            for node, ancestors in enumerate(row.trie.ancestors):
                tree[r, node, ancestors] = 0
            pad = torch.arange(len(row.tokens), width)
            tree[r, pad, pad] = 0  # padding sees itself, so no row of the mask is empty
        prefix = torch.where(prompts.bool(), 0.0, blocked).to(dtype)
        full = torch.cat([prefix[:, None, :].expand(-1, width, -1), tree.to(self.device)], dim=-1)
        return full[:, None, :, :]

    # -- option letters ----------------------------------------------------------------------

    def next_token_logprobs(
        self, prompts: Sequence[tuple[int, ...]], on_batch: Callable[[int], None] | None = None
    ) -> list[Any]:
        """The next-token log-probability vector (float32, on CPU) after each prompt."""
        import torch

        out: list[Any] = [None] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(order), self.batch_size):
                    chunk = order[start : start + self.batch_size]
                    _, logits, _ = self._prefill([prompts[i] for i in chunk])
                    logprobs = torch.log_softmax(logits, dim=-1).cpu()
                    for row, i in enumerate(chunk):
                        out[i] = logprobs[row]
                    if on_batch is not None:
                        on_batch(len(chunk))
        finally:
            self.model.train(was_training)
        return out
