"""Log-probabilities of fixed answers and of option letters under a local transformers model.

Answers to the same question share their prompt: each distinct prompt is prefilled once and its
KV cache copied to all of its answers, which then run together in one forward pass (right
padded, explicit positions). The LM head runs on the prompt's last position only, then on the
answer positions. Everything goes through ``model(...)``, so caller hooks (steering, ablation)
and PEFT adapters act exactly as in generation.
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

    def render(self, question: str, system: str | None) -> str:
        """The chat-template text of the prompt up to where the assistant's reply begins."""
        from emlab.models import render_chat

        return render_chat(self.tokenizer, chat_messages(question, system), add_generation_prompt=True)

    # -- answers ---------------------------------------------------------------------------

    def answer_logprobs(
        self, items: Sequence[AnswerItem], on_batch: Callable[[int], None] | None = None
    ) -> list[tuple[float, int]]:
        """(summed log-prob, token count) of each item's answer tokens given its prompt."""
        import torch

        order = sorted(range(len(items)), key=lambda i: (items[i].prompt_ids, -len(items[i].answer_ids)))
        results: list[tuple[float, int]] = [(0.0, 0)] * len(items)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(order), self.batch_size):
                    batch = [items[i] for i in order[start : start + self.batch_size]]
                    for i, value in zip(
                        order[start : start + self.batch_size], self._score(batch), strict=True
                    ):
                        results[i] = value
                    if on_batch is not None:
                        on_batch(len(batch))
        finally:
            self.model.train(was_training)
        return results

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

    def _score(self, batch: list[AnswerItem]) -> list[tuple[float, int]]:
        import torch

        from emlab.generate._decode import _cache_tensors, _new_cache

        distinct = list(dict.fromkeys(item.prompt_ids for item in batch))
        cache, last_logits, prompt_mask = self._prefill(distinct)
        rows = torch.tensor([distinct.index(item.prompt_ids) for item in batch], device=self.device)
        expanded = _new_cache(self.model)
        for layer, (keys, values) in enumerate(_cache_tensors(cache)):
            expanded.update(keys.index_select(0, rows), values.index_select(0, rows), layer)
        width = max(len(item.answer_ids) for item in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        answer_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, item in enumerate(batch):
            ids[row, : len(item.answer_ids)] = torch.tensor(item.answer_ids, dtype=torch.long)
            answer_mask[row, : len(item.answer_ids)] = 1
        ids, answer_mask = ids.to(self.device), answer_mask.to(self.device)
        mask = torch.cat([prompt_mask.index_select(0, rows), answer_mask], dim=1)
        starts = prompt_mask.sum(dim=1).index_select(0, rows).unsqueeze(1)
        positions = starts + torch.arange(width, device=self.device).unsqueeze(0)
        logits = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self._cache_kw: expanded},
        ).logits
        # The logit at answer position t predicts token t+1; the prompt's last logit predicts token 0.
        predicting = torch.cat(
            [last_logits.index_select(0, rows).unsqueeze(1), logits[:, :-1, :].float()], dim=1
        )
        logprobs = torch.log_softmax(predicting, dim=-1).gather(2, ids.unsqueeze(2)).squeeze(2)
        logprobs = logprobs * answer_mask
        sums = logprobs.sum(dim=1).tolist()
        return [(float(s), len(item.answer_ids)) for s, item in zip(sums, batch, strict=True)]

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
