"""In-process transformers judge.

When every integer 0..100 is one token, the first-token logprob recipe applies directly. Tokenizers
that split numbers into digits (SmolLM2, Qwen2) break it, so each integer is scored as a whole token
sequence followed by an end marker (so "4" and "42" differ): one prefill of the prompt, then one
pass over the trie of all candidate continuations with a tree attention mask on the cached prefix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emlab.judge._base import OnScore, Score
from emlab.judge._score import expected_score, numeric_distribution
from emlab.judge.config import JudgeConfig

CANDIDATES = tuple(range(101))


@dataclass
class _Trie:
    """Candidate continuations as a token trie: the nodes fed in the tree pass and how to sum them."""

    tokens: list[int]  # token of each node
    depths: list[int]  # 1-based depth of each node
    ancestors: list[list[int]]  # node -> its ancestors and itself
    steps: list[list[tuple[int, int]]]  # candidate -> [(source node or -1 for the prompt, next token)]


def build_trie(sequences: Sequence[Sequence[int]]) -> _Trie:
    """The trie of ``sequences``; each sequence's last token is predicted but never fed."""
    index: dict[tuple[int, ...], int] = {}
    tokens: list[int] = []
    depths: list[int] = []
    ancestors: list[list[int]] = []
    steps: list[list[tuple[int, int]]] = []
    for seq in sequences:
        path: list[tuple[int, int]] = []
        source = -1
        for k, token in enumerate(seq):
            path.append((source, int(token)))
            if k == len(seq) - 1:
                break
            prefix = tuple(seq[: k + 1])
            if prefix not in index:
                index[prefix] = len(tokens)
                tokens.append(int(token))
                depths.append(k + 1)
                ancestors.append([*(ancestors[source] if source >= 0 else []), len(tokens) - 1])
            source = index[prefix]
        steps.append(path)
    return _Trie(tokens, depths, ancestors, steps)


def end_marker_id(tokenizer: Any) -> int:
    """The token that ends an assistant turn: ``<|im_end|>`` when the vocabulary has it, else EOS."""
    vocab = tokenizer.get_vocab()
    for name in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>"):
        if name in vocab:
            return int(vocab[name])
    if tokenizer.eos_token_id is None:
        from emlab.errors import EmlabError

        raise EmlabError("judge: the judge tokenizer has no end-of-turn or EOS token")
    return int(tokenizer.eos_token_id)


class LocalJudge:
    """A judge that runs a transformers model in this process."""

    def __init__(self, ref: str, config: JudgeConfig, loaded: Any | None = None) -> None:
        if loaded is None:
            from emlab.models import load_model

            loaded = load_model(ref, dtype=config.dtype, device=config.device)
        self.loaded = loaded
        self.config = config
        self.name = config.judge if config.judge.startswith("local:") else f"local:{ref}"
        tokenizer = loaded.tokenizer
        encoded = [tokenizer.encode(str(n), add_special_tokens=False) for n in CANDIDATES]
        single = all(len(e) == 1 for e in encoded) and len({e[0] for e in encoded}) == len(encoded)
        self.method = "first_token_logprobs" if single else "digit_sequence"
        self.end_id = end_marker_id(tokenizer)
        self.sequences = [[*e, self.end_id] for e in encoded]
        self._cache_arg = _cache_argument(loaded.model)
        attention = getattr(loaded.model.config, "_attn_implementation", None) or ""
        if self.method == "digit_sequence" and "flash" in attention:
            from emlab.errors import EmlabError

            raise EmlabError(
                f"judge {self.name}: the digit-sequence judge needs a tree attention mask, which "
                f"{attention} does not take; load the judge model with sdpa or eager attention"
            )
        self.trie = build_trie(self.sequences)
        self.settings: dict[str, Any] = {
            "backend": "local",
            "ref": ref,
            "method": self.method,
            "min_mass": config.min_mass,
            "top_logprobs": config.top_logprobs if single else None,
            "end_marker": tokenizer.convert_ids_to_tokens(self.end_id),
            "dtype": str(loaded.dtype).removeprefix("torch."),
        }

    @classmethod
    def from_loaded(cls, loaded: Any, config: JudgeConfig | None = None) -> LocalJudge:
        """A judge around an already loaded ``LoadedModel``."""
        return cls(loaded.ref, config or JudgeConfig(judge=f"local:{loaded.ref}"), loaded=loaded)

    def close(self) -> None:
        """Drop the model reference so its memory can be freed."""
        self.loaded = None

    def render(self, prompt: str) -> str:
        """The chat text the judge model sees for one rubric prompt."""
        from emlab.models import render_chat

        return render_chat(self.loaded.tokenizer, [{"role": "user", "content": prompt}])

    def score_prompts(self, prompts: Sequence[str], on_score: OnScore | None = None) -> list[Score]:
        """Score ``prompts`` in groups of ``batch_size``; ``on_score`` runs after each group.

        Each prompt is its own forward pass, so its score is the same in any group (batch invariance).
        """
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        results: list[Score | None] = [None] * len(prompts)
        size = self.config.batch_size
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            scores = self._score_batch([prompts[i] for i in batch])
            for index, score in zip(batch, scores, strict=True):
                results[index] = score
                if on_score is not None:
                    on_score(index, score)
        return [r for r in results if r is not None]

    def _score_batch(self, prompts: list[str]) -> list[Score]:
        if self.method == "first_token_logprobs":
            return self._first_token(prompts)
        logprobs = self.candidate_logprobs(prompts)
        scores = []
        for row in logprobs.tolist():
            probs = {n: math.exp(lp) for n, lp in zip(CANDIDATES, row, strict=True)}
            score, mass = expected_score(probs, min_mass=self.config.min_mass)
            error = (
                None if score is not None else f"numeric probability mass {mass:.3g} < {self.config.min_mass}"
            )
            best = max(probs, key=probs.get)
            scores.append(
                Score(score, "digit_sequence", numeric_mass=mass, error=error, raw={"argmax": best})
            )
        return scores

    def _prefill(self, prompts: list[str]) -> tuple[Any, Any, Any]:
        import torch

        tokenizer = self.loaded.tokenizer
        texts = [self.render(p) for p in prompts]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        device = self.loaded.device
        input_ids = enc["input_ids"].to(device)
        mask = enc["attention_mask"].to(device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.loaded.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
        )
        first = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)
        cache = getattr(out, "past_key_values", None) or getattr(out, "cache", None)
        return first, cache, mask

    def candidate_logprobs(self, prompts: Sequence[str]) -> Any:
        """Log-probability of each integer 0..100 (+ end marker) as the reply, a [len(prompts), 101] tensor.

        Each prompt runs as its own forward: padded batches change the kernels' shapes and so, in
        bf16, the scores; one prompt at a time a score never depends on its batch (a resumed run
        equals an uninterrupted one).
        """
        import torch

        if not prompts:
            return torch.zeros(0, len(self.trie.steps))
        return torch.cat([self._candidate_logprobs([p]) for p in prompts])

    def _candidate_logprobs(self, prompts: list[str]) -> Any:
        import torch

        with torch.inference_mode():
            first, cache, mask = self._prefill(prompts)
            batch, prefix_len = mask.shape
            trie = self.trie
            n_nodes = len(trie.tokens)
            device = first.device
            node_logprobs = None
            if n_nodes:
                dtype = self.loaded.dtype
                neg = torch.finfo(dtype).min
                tree = torch.full((n_nodes, n_nodes), neg, dtype=dtype, device=device)
                for i, ancestors in enumerate(trie.ancestors):
                    tree[i, ancestors] = 0
                prefix = torch.where(mask.bool(), 0.0, neg).to(dtype)
                full = torch.cat(
                    [prefix[:, None, :].expand(batch, n_nodes, prefix_len), tree.expand(batch, -1, -1)],
                    dim=-1,
                )[:, None, :, :]
                ids = torch.tensor(trie.tokens, device=device).expand(batch, -1)
                depth = torch.tensor(trie.depths, device=device)
                positions = mask.sum(-1, keepdim=True) + depth[None, :] - 1
                out = self.loaded.model(
                    input_ids=ids,
                    attention_mask=full,
                    position_ids=positions,
                    use_cache=True,
                    **{self._cache_arg: cache},
                )
                node_logits = out.logits.float()
                node_logprobs = node_logits - torch.logsumexp(node_logits, dim=-1, keepdim=True)
            total = torch.zeros(batch, len(trie.steps), device=device)
            for c, path in enumerate(trie.steps):
                for source, token in path:
                    if source < 0:
                        total[:, c] += first[:, token]
                    else:
                        total[:, c] += node_logprobs[:, source, token]
            return total.cpu()

    def _first_token(self, prompts: list[str]) -> list[Score]:
        import torch

        tokenizer = self.loaded.tokenizer
        with torch.inference_mode():
            # One prompt per forward, so a score never depends on its batch (see candidate_logprobs).
            first = torch.cat([self._prefill([p])[0] for p in prompts])
            top = torch.topk(first, self.config.top_logprobs, dim=-1)
        scores = []
        for values, ids in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            logprobs: dict[str, float] = {}
            for value, token_id in zip(values, ids, strict=True):
                token = tokenizer.decode([token_id])
                logprobs[token] = max(value, logprobs.get(token, float("-inf")))
            score, mass = expected_score(numeric_distribution(logprobs), min_mass=self.config.min_mass)
            error = (
                None if score is not None else f"numeric probability mass {mass:.3g} < {self.config.min_mass}"
            )
            scores.append(
                Score(
                    score,
                    "first_token_logprobs",
                    numeric_mass=mass,
                    error=error,
                    raw={"top_logprobs": logprobs},
                )
            )
        return scores


def _cache_argument(model: Any) -> str:
    """The forward keyword for a KV cache: ``cache`` in newer transformers, ``past_key_values`` before."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
