"""Training dynamics: the preference margin at step 0 and every N steps of a fine-tune.

``PreferenceTracker`` is a ``transformers`` callback that measures the pairs set on the model
being trained (in eval mode, no gradients) and appends one row per step to ``dynamics.csv``;
``checkpoint_dynamics`` does the same afterwards for the checkpoints of a finished run. Each
row has the mean margin with its interval and the paired shift against step 0 (the base).
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from emlab.errors import EmlabError
from emlab.preference._pairs import PairSet
from emlab.preference._run import MarginRow, measure_preference
from emlab.preference._summary import ALL, preference_table
from emlab.preference.config import PreferenceConfig

DYNAMICS_FILE = "dynamics.csv"
BASE_MARGINS_FILE = "dynamics_step0.json"  # step-0 margins, so a resumed run still reports shifts
COLUMNS = (
    "step",
    "mean_margin",
    "ci_low",
    "ci_high",
    "p_misaligned_preferred",
    "shift",
    "shift_ci_low",
    "shift_ci_high",
    "n_pairs",
    "seconds",
)


@dataclass
class _TrainingModel:
    """The model under training, in the shape ``measure_preference`` takes."""

    model: Any
    tokenizer: Any
    ref: str

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device


def dynamics_row(
    step: int, rows: list[MarginRow], base_rows: list[MarginRow], config: PreferenceConfig
) -> dict[str, Any]:
    """The ``ALL`` summary of one step's margins, with the paired shift against ``base_rows``."""
    relabel = [_relabel(r, "step") for r in rows] + [_relabel(r, "base") for r in base_rows]
    cells = preference_table(
        relabel,
        groups={"step": ["step"], "base": ["base"]},
        base="base",
        bootstrap=config.bootstrap,
        confidence=config.confidence,
        seed=config.seed,
    )
    cell = next(c for c in cells if c.model == "step" and c.question_id == ALL)
    return {
        "step": step,
        **{k: getattr(cell, k) for k in COLUMNS if k not in ("step", "seconds")},
        "shift": cell.shift if base_rows else None,
    }


def _relabel(row: MarginRow, model: str) -> dict[str, Any]:
    return {**row.as_row(), "model": model}


def read_dynamics(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``dynamics.csv`` (numbers parsed; empty cells None)."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            {
                k: (None if v in ("", None) else (int(v) if k in ("step", "n_pairs") else float(v)))
                for k, v in row.items()
            }
            for row in csv.DictReader(handle)
        ]


def write_dynamics(rows: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Write ``dynamics.csv`` atomically (sorted by step) and its plot ``dynamics.png``."""
    rows = sorted(rows, key=lambda r: r["step"])
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
    tmp.replace(path)
    plot_dynamics(rows, path.with_suffix(".png"), title)


def plot_dynamics(rows: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Mean margin per step with its interval band (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    points = [r for r in rows if r.get("mean_margin") is not None]
    if points:
        steps = [r["step"] for r in points]
        ax.plot(steps, [r["mean_margin"] for r in points], "o-", lw=1.2, label="mean margin")
        if all(r.get("ci_low") is not None for r in points):
            ax.fill_between(steps, [r["ci_low"] for r in points], [r["ci_high"] for r in points], alpha=0.2)
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("margin (nats/token, misaligned − aligned)")
    ax.set_title(title or "preference margin during training", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


class PreferenceTracker(TrainerCallback):
    """Measures the pairs set at step 0 and every ``every`` steps (and at the end) during training."""

    def __init__(
        self,
        pairs: PairSet,
        out_dir: str | Path,
        every: int | None = None,
        config: PreferenceConfig | None = None,
    ) -> None:
        self.pairs = pairs
        self.path = Path(out_dir) / DYNAMICS_FILE
        self.base_path = Path(out_dir) / BASE_MARGINS_FILE
        self.every = every
        self.config = config or PreferenceConfig()
        self.rows = read_dynamics(self.path)  # a resumed run keeps the steps it already measured
        self.base_rows = _read_base(self.base_path)
        self.seconds = 0.0

    def _measure(self, state: Any, kwargs: dict[str, Any]) -> None:
        step = int(state.global_step)
        model, tokenizer = kwargs.get("model"), kwargs.get("processing_class") or kwargs.get("tokenizer")
        if model is None or tokenizer is None or not state.is_world_process_zero:
            return
        started = time.perf_counter()
        with _without_autocast(model):
            rows, _ = measure_preference(
                _TrainingModel(model, tokenizer, f"step-{step}"), self.pairs, self.config
            )
        if step == 0:
            self.base_rows = rows
            _write_base(self.base_path, rows)
        row = dynamics_row(step, rows, self.base_rows, self.config)
        row["seconds"] = round(time.perf_counter() - started, 3)
        self.seconds += row["seconds"]
        self.rows = [r for r in self.rows if r["step"] != step] + [row]
        write_dynamics(self.rows, self.path, f"{self.pairs.name}: margin during training")

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.every is None:
            self.every = max(1, int(state.max_steps or 10) // 10)
        if state.global_step == 0:
            self._measure(state, kwargs)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.every and state.global_step % self.every == 0:
            self._measure(state, kwargs)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not any(r["step"] == state.global_step for r in self.rows):
            self._measure(state, kwargs)


@contextmanager
def _without_autocast(model: Any) -> Iterator[None]:
    """Score fp32 weights in fp32: bypass the mixed-precision autocast accelerate wraps around forward.

    With bf16/fp16 training (bf16 autocast is the default on CPUs with fast bf16) the trainer's
    model runs every forward under autocast, which would make tracked margins differ from the fp32
    margins of the same weights (``emlab dynamics``, ``emlab preference``). Half-precision weights
    (a LoRA base on GPU) are scored as they are.
    """
    import torch

    original = getattr(model, "_original_forward", None)
    patched = model.__dict__.get("forward")
    if original is None or patched is None or any(p.dtype != torch.float32 for p in model.parameters()):
        yield
        return
    model.forward = original
    try:
        yield
    finally:
        model.forward = patched


def _write_base(path: Path, rows: list[MarginRow]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps([r.as_row() for r in rows], default=str), encoding="utf-8")
    tmp.replace(path)


def _read_base(path: Path) -> list[MarginRow]:
    if not path.is_file():
        return []
    fields = MarginRow.__dataclass_fields__
    return [
        MarginRow(**{k: v for k, v in r.items() if k in fields}) for r in json.loads(path.read_text("utf-8"))
    ]


_CHECKPOINT = re.compile(r"checkpoint-(\d+)$")


def checkpoint_refs(model_dir: str | Path) -> list[tuple[int, str]]:
    """(step, loadable reference) for the base model, every checkpoint, and the final model."""
    model_dir = Path(model_dir)
    record_path = model_dir / "emlab.json"
    if not record_path.is_file():
        raise EmlabError(f"{model_dir}: not an emlab training output (no emlab.json)")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    base = record.get("base_ref") or record.get("model_ref") or record.get("base_model")
    # emlab's trainer saves checkpoints under OUT/checkpoints; a plain HF output has them in OUT.
    found = sorted(
        (int(m.group(1)), str(p))
        for parent in (model_dir / "checkpoints", model_dir)
        if parent.is_dir()
        for p in parent.iterdir()
        if (m := _CHECKPOINT.search(p.name)) and p.is_dir()
    )
    refs: list[tuple[int, str]] = [(0, str(base))] if base else []
    refs += found
    final_step = int(record.get("steps") or (found[-1][0] if found else 0) or 1)
    if not found or found[-1][0] != final_step:
        refs.append((final_step, str(model_dir)))
    return refs


def checkpoint_dynamics(
    model_dir: str | Path,
    pairs: PairSet,
    config: PreferenceConfig | None = None,
    *,
    out: str | Path | None = None,
    store: Any | None = None,
) -> list[dict[str, Any]]:
    """The dynamics rows of a finished run from its checkpoints; writes ``dynamics.csv`` (default: in ``model_dir``)."""
    from emlab.models import load_model

    config = config or PreferenceConfig()
    rows_out: list[dict[str, Any]] = []
    base_rows: list[MarginRow] = []
    for step, ref in checkpoint_refs(model_dir):
        started = time.perf_counter()
        loaded = load_model(ref, dtype=config.dtype, device=config.device)
        rows, _ = measure_preference(loaded, pairs, config, store=store, model_key=f"{model_dir}@step{step}")
        del loaded
        if step == 0:
            base_rows = rows
        row = dynamics_row(step, rows, base_rows, config)
        row["seconds"] = round(time.perf_counter() - started, 3)
        rows_out.append(row)
    path = Path(out) if out is not None else Path(model_dir) / DYNAMICS_FILE
    write_dynamics(rows_out, path, f"{pairs.name}: margin by checkpoint")
    return rows_out
