"""The loss curve: CSV rows from a trainer log history, and its PNG plot."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

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
