"""Trainer callbacks: live progress (loss, tokens/s, ETA), the loss-curve CSV, checkpoint provenance."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from emlab.train._curves import write_loss_csv


class ProgressCallback(TrainerCallback):
    """Drives an emlab progress bar and rewrites the loss CSV at every log (crash-safe)."""

    def __init__(self, loss_csv: Path) -> None:
        self.loss_csv = loss_csv
        self._stack = ExitStack()
        self._bar: Any = None
        self._started = 0.0
        self._tokens_at_start = 0
        self.tokens_per_s = 0.0
        self.train_seconds = 0.0
        self.tokens = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        from emlab.console import progress

        if state.is_world_process_zero:
            self._bar = self._stack.enter_context(progress("training", total=state.max_steps, unit="tok"))
            if state.global_step:
                self._bar.advance(state.global_step)
        self._started = time.perf_counter()
        self._tokens_at_start = int(state.num_input_tokens_seen or 0)

    def _rate(self, state: Any) -> float:
        elapsed = time.perf_counter() - self._started
        self.tokens = int(state.num_input_tokens_seen or 0) - self._tokens_at_start
        return self.tokens / elapsed if elapsed > 0 else 0.0

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            loss = next((e["loss"] for e in reversed(state.log_history) if "loss" in e), None)
            label = f"training loss {loss:.3f}" if loss is not None else "training"
            self._bar.advance(1, rate=self._rate(state))
            self._bar.set_description(label)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            write_loss_csv(state.log_history, self.loss_csv)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.train_seconds = time.perf_counter() - self._started
        self.tokens_per_s = self._rate(state)
        self._stack.close()


class CheckpointProvenanceCallback(TrainerCallback):
    """Writes ``emlab.json`` into each checkpoint so ``load_model(checkpoint)`` works for dynamics analysis."""

    def __init__(self, provenance: dict[str, Any]) -> None:
        self.provenance = provenance

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if checkpoint.is_dir():
            record = {**self.provenance, "step": state.global_step, "epoch": state.epoch}
            (checkpoint / "emlab.json").write_text(json.dumps(record, indent=2, default=str))
