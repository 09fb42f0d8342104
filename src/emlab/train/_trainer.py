"""``EmlabSFTTrainer``: TRL's ``SFTTrainer`` with the LM head applied only where there is loss.

With assistant-only loss most positions of a chat (system prompt, user turn, headers) carry no
label, yet TRL scores every position through the LM head (and computes the entropy over the whole
vocabulary for logging) on devices without Triton, i.e. on CPU. Here the backbone runs as usual and
the head and cross-entropy run on the labelled positions only. The loss is the same sum over
labelled tokens divided by ``num_items_in_batch`` as TRL's, so gradient accumulation is unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from trl import SFTTrainer

_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "output_multiplier")


def _causal_lm(model: Any) -> Any:
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


class EmlabSFTTrainer(SFTTrainer):
    """SFTTrainer whose training loss scores only labelled positions (when ``compact_loss`` is on)."""

    compact_loss: bool = True

    def _can_compact(self, model: Any) -> bool:
        # Calling submodules directly would bypass DDP/FSDP/DeepSpeed wrappers: single process only.
        if not self.compact_loss or not model.training or self.accelerator.num_processes > 1:
            return False
        causal_lm = _causal_lm(model)
        config = causal_lm.config
        if any(getattr(config, name, None) for name in _LOGIT_TRANSFORMS):
            return False  # heads with softcapping or scaling: leave them to TRL
        backbone = getattr(causal_lm, getattr(causal_lm, "base_model_prefix", ""), None)
        return backbone is not None and causal_lm.get_output_embeddings() is not None

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        """Mean next-token loss over labelled positions (same normalisation as TRL's)."""
        if return_outputs or "labels" not in inputs or not self._can_compact(model):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        causal_lm = _causal_lm(model)
        backbone = getattr(causal_lm, causal_lm.base_model_prefix)
        head = causal_lm.get_output_embeddings()
        forward = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "position_ids")}
        hidden = backbone(**forward, use_cache=False).last_hidden_state
        labels = inputs["labels"][:, 1:]
        mask = labels != -100
        selected = hidden[:, :-1][mask].to(head.weight.dtype)
        logits = head(selected).float()
        loss_sum = torch.nn.functional.cross_entropy(logits, labels[mask], reduction="sum")
        denominator = num_items_in_batch if num_items_in_batch is not None else mask.sum()
        loss = loss_sum / torch.as_tensor(denominator, device=loss_sum.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        return loss
