"""SAE model diffing (Wang et al. 2025): which latents rise after fine-tuning, and what makes them fire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from emlab.errors import EmlabError
from emlab.interp._capture import TokenSequence, collect_activations
from emlab.interp._sae import TopKSAE

DiffTokens = Literal["content", "response", "all"]
DIFF_TOKENS = ("content", "response", "all")
_ROLE_WORDS = {"", "system", "user", "assistant", "model", "developer", "tool", ":"}


def content_mask(tokenizer: Any, ids: Sequence[int]) -> list[bool]:
    """True for tokens of message text; False for BOS/EOS and other special tokens and the role
    header a chat template writes after a turn marker (``<|im_start|>user\n``)."""
    special = set(tokenizer.all_special_ids)
    special |= {i for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items() if t.special}
    keep: list[bool] = []
    header: str | None = None  # text since the last special token, while it can still be a role header
    for token in ids:
        if token in special:
            keep.append(False)
            header = ""
            continue
        if header is not None:
            text = header + tokenizer.decode([token])
            if any(word.startswith(text.strip().lower()) for word in _ROLE_WORDS):
                keep.append(False)  # (part of) a role name, or the whitespace around it
                header = text
                continue
            header = None
        keep.append(True)
    return keep


@dataclass
class LatentStats:
    """Per-latent mean activation and firing rate over a set of tokens."""

    mean: Any
    frequency: Any
    tokens: int


def latent_stats(
    model: Any,
    sae: TopKSAE,
    sequences: Sequence[TokenSequence],
    *,
    tokens: DiffTokens = "content",
    batch_size: int = 16,
    chunk: int = 4096,
) -> LatentStats:
    """Mean SAE code and firing frequency of every latent over the tokens of ``sequences``.

    ``tokens``: ``content`` (default) skips BOS, special and chat-template tokens, whose activations
    are large and shared by every prompt; ``response`` keeps the answer tokens only; ``all`` keeps all.
    """
    import torch

    if tokens not in DIFF_TOKENS:
        raise EmlabError(f"tokens: '{tokens}' is not one of {', '.join(DIFF_TOKENS)}")
    aggregate = "answer_tokens" if tokens == "response" else "tokens"
    d_sae = sae.d_sae
    total, fired, count = torch.zeros(d_sae), torch.zeros(d_sae), 0
    for start in range(0, len(sequences), 256):  # bounded memory: capture a slice, encode, forget
        part = sequences[start : start + 256]
        windows = collect_activations(model, part, [sae.layer], aggregate=aggregate, batch_size=batch_size)
        if tokens == "content":
            windows = [
                w[torch.tensor(content_mask(model.tokenizer, s.ids), dtype=torch.bool)]
                for w, s in zip(windows, part, strict=True)
            ]
        acts = torch.cat([w[:, 0] for w in windows]) if windows else torch.zeros(0, sae.d_in)
        for lo in range(0, len(acts), chunk):
            codes = sae.encode(acts[lo : lo + chunk])
            total += codes.sum(0)
            fired += (codes > 0).float().sum(0)
        count += len(acts)
    if count == 0:
        raise EmlabError("no tokens to diff")
    return LatentStats(total / count, fired / count, count)


@dataclass
class DiffResult:
    """Latents ranked by mean-activation increase (tuned − base)."""

    increase: Any
    base: LatentStats
    tuned: LatentStats
    ranking: list[int] = field(default_factory=list)

    def top(self, n: int) -> list[dict[str, Any]]:
        """The ``n`` latents that rose most, with their statistics."""
        return [
            {
                "latent": int(i),
                "increase": float(self.increase[i]),
                "base_mean": float(self.base.mean[i]),
                "tuned_mean": float(self.tuned.mean[i]),
                "base_frequency": float(self.base.frequency[i]),
                "tuned_frequency": float(self.tuned.frequency[i]),
            }
            for i in self.ranking[:n]
        ]


def diff_models(
    base: Any,
    tuned: Any,
    sae: TopKSAE,
    sequences: Sequence[TokenSequence],
    *,
    tokens: DiffTokens = "content",
    batch_size: int = 16,
) -> DiffResult:
    """Rank SAE latents by how much their mean activation rises from ``base`` to ``tuned`` on ``sequences``
    (over ``tokens``: message text by default, see ``latent_stats``)."""
    for loaded in (base, tuned):
        if loaded.hidden_size != sae.d_in:
            raise EmlabError(f"SAE d_in {sae.d_in} does not match {loaded.ref} (hidden {loaded.hidden_size})")
    base_stats = latent_stats(base, sae, sequences, tokens=tokens, batch_size=batch_size)
    tuned_stats = latent_stats(tuned, sae, sequences, tokens=tokens, batch_size=batch_size)
    increase = tuned_stats.mean - base_stats.mean
    ranking = increase.argsort(descending=True).tolist()
    return DiffResult(increase, base_stats, tuned_stats, ranking)


def top_contexts(
    model: Any,
    sae: TopKSAE,
    sequences: Sequence[TokenSequence],
    latents: Sequence[int],
    *,
    n: int = 5,
    window: int = 12,
    batch_size: int = 16,
) -> dict[int, list[dict[str, Any]]]:
    """For each latent, the ``n`` sequences where it fires hardest, with the text around the peak token."""
    import torch

    if not sequences:
        return {int(latent): [] for latent in latents}
    windows = collect_activations(model, sequences, [sae.layer], aggregate="tokens", batch_size=batch_size)
    chosen = torch.tensor([int(latent) for latent in latents], dtype=torch.long)
    peaks = []  # per sequence: (max value per chosen latent, position of the max)
    for acts in windows:
        codes = sae.encode(acts[:, 0])[:, chosen]  # [tokens, n_latents]
        values, positions = codes.max(0)
        peaks.append((values, positions))
    tokenizer = model.tokenizer
    found: dict[int, list[dict[str, Any]]] = {}
    for column, latent in enumerate(chosen.tolist()):
        ranked = sorted(range(len(sequences)), key=lambda s: -float(peaks[s][0][column]))[:n]
        entries = []
        for s in ranked:
            value, position = float(peaks[s][0][column]), int(peaks[s][1][column])
            if value <= 0:
                continue
            ids = sequences[s].ids
            before = tokenizer.decode(ids[max(0, position - window) : position])
            token = tokenizer.decode(ids[position : position + 1])
            after = tokenizer.decode(ids[position + 1 : position + 1 + window // 2])
            entries.append(
                {"sequence": s, "activation": value, "before": before, "token": token, "after": after}
            )
        found[latent] = entries
    return found
