"""Trainer callbacks: live progress (loss, tokens/s, ETA), the loss-curve CSV, checkpoint provenance."""

from __future__ import annotations

import csv
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

LOSS_COLUMNS = ["step", "epoch", "loss", "eval_loss", "learning_rate", "grad_norm", "tokens_seen"]


def write_loss_csv(log_history: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """Write the trainer's log history as one row per logged step; returns the rows."""
    by_step: dict[int, dict[str, Any]] = {}
    for entry in log_history:
        if "step" not in entry or not ({"loss", "eval_loss"} & entry.keys()):
            continue
        row = by_step.setdefault(int(entry["step"]), {"step": int(entry["step"])})
        for key in LOSS_COLUMNS[1:]:
            if key in entry:
                row[key] = entry[key]
        if "num_input_tokens_seen" in entry:
            row["tokens_seen"] = entry["num_input_tokens_seen"]
    rows = [by_step[step] for step in sorted(by_step)]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LOSS_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: row.get(key, "") for key in LOSS_COLUMNS})
    tmp.replace(path)
    return rows


def plot_loss(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """Save the loss curve (train and, when present, eval) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    train = [(r["step"], r["loss"]) for r in rows if r.get("loss") not in (None, "")]
    evals = [(r["step"], r["eval_loss"]) for r in rows if r.get("eval_loss") not in (None, "")]
    if train:
        ax.plot(*zip(*train, strict=True), label="train", lw=1.2)
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", label="eval", lw=1.2)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if train or evals:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


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
