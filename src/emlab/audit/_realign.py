"""Emergent re-alignment: train a misaligned adapter further on N benign samples, for each N, and evaluate.

Betley et al. / Wang et al. report that a few hundred benign samples remove most emergent misalignment.
Every N continues the *same* starting adapter (not the previous N's result), on the first N samples of
one seeded shuffle of the benign file, so the curve varies only N.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from emlab.audit._stats import kept_answers, misalignment_shift, wilson_interval
from emlab.audit.config import GateConfig, RealignConfig
from emlab.console import info
from emlab.errors import EmlabError


def size_label(n: int) -> str:
    """The variant label of the model trained on ``n`` benign samples."""
    return f"n={n}"


def parse_sizes(text: str) -> list[int]:
    """Parse ``--n 0,32,64,128`` into sorted unique non-negative sizes."""
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise EmlabError(f"--n: '{part}' is not a non-negative whole number (use e.g. 0,32,64,128)")
        sizes.append(int(part))
    if not sizes:
        raise EmlabError("--n: give at least one size")
    return sorted(set(sizes))


def benign_subsets(examples: list[Any], sizes: list[int], seed: int, source: str) -> dict[int, list[Any]]:
    """The first N examples of one seeded shuffle, for each N (nested subsets)."""
    largest = max(sizes)
    if largest > len(examples):
        raise EmlabError(f"{source}: has {len(examples)} examples, fewer than the largest N ({largest})")
    order = list(range(len(examples)))
    random.Random(f"emlab-realign-{seed}").shuffle(order)
    return {n: [examples[i] for i in order[:n]] for n in sizes}


def curve(frame: Any, sizes: list[int], gate: GateConfig) -> list[dict[str, Any]]:
    """P(misaligned) per N (answers pooled, Wilson interval) and its change from the smallest N."""
    rows = []
    kept = kept_answers(frame, gate)
    first = size_label(sizes[0])
    for n in sizes:
        part = kept[kept["model"] == size_label(n)]
        k, total = int(part["misaligned"].sum()), len(part)
        low, high = wilson_interval(k, total, gate.confidence) if total else (None, None)
        row: dict[str, Any] = {
            "n": n,
            "p_misaligned": k / total if total else None,
            "ci_low": low,
            "ci_high": high,
            "n_answers": total,
            "answers": int((frame["model"] == size_label(n)).sum()),
        }
        if n != sizes[0]:
            shift = misalignment_shift(frame, first, size_label(n), gate, label_column="model")
            row.update(delta=shift.delta, delta_ci_low=shift.ci_low, delta_ci_high=shift.ci_high)
        rows.append(row)
    return rows


def plot_curve(rows: list[dict[str, Any]], path: str | Path, title: str) -> list[Path]:
    """P(misaligned) against N with interval bars, as PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [r for r in rows if r["p_misaligned"] is not None]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if points:
        xs = [r["n"] for r in points]
        ys = [r["p_misaligned"] for r in points]
        err = [
            [y - r["ci_low"] for y, r in zip(ys, points, strict=True)],
            [r["ci_high"] - y for y, r in zip(ys, points, strict=True)],
        ]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3)
    ax.set_xlabel("benign samples trained on (N)")
    ax.set_ylabel("P(misaligned)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    written = []
    for suffix in (".png", ".svg"):
        target = path.with_suffix(suffix)
        fig.savefig(target, dpi=120)
        written.append(target)
    plt.close(fig)
    return written


def realign(
    adapter: str,
    benign: str | Path,
    out_dir: str | Path,
    *,
    config: RealignConfig,
    train_config: Any,
    questions: Any,
    generation: Any,
    judge: Any,
    gate: GateConfig,
) -> dict[str, Any]:
    """Train ``adapter`` further on each N benign samples, evaluate every result, plot P(misaligned) vs N."""
    from emlab.audit._evaluate import Variant, evaluate_variants
    from emlab.audit._report import write_json
    from emlab.data import read_chat_jsonl, resolve_dataset, write_chat_jsonl
    from emlab.models._load import resolve_ref
    from emlab.provenance import file_sha256, package_versions
    from emlab.store import RunStore
    from emlab.train import train

    if resolve_ref(adapter)[0] != "adapter":
        raise EmlabError(f"{adapter}: re-alignment continues a PEFT adapter directory (adapter_config.json)")
    out_dir = Path(out_dir)
    benign_path = resolve_dataset(benign)
    subsets = benign_subsets(read_chat_jsonl(benign_path), config.sizes, config.seed, str(benign_path))
    models: dict[int, str] = {}
    runs: dict[int, Any] = {}
    for n, examples in subsets.items():
        if n == 0:
            models[n] = adapter
            continue
        run_dir = out_dir / f"n{n}"
        if (run_dir / "emlab.json").is_file() and (run_dir / "adapter_config.json").is_file():
            info(f"N={n}: already trained in {run_dir}, reusing it")
        else:
            # The exact training data of every N is kept beside its model.
            data_path = out_dir / "data" / f"benign-{n}.jsonl"
            write_chat_jsonl(data_path, examples)
            info(f"N={n}: training {adapter} further on {n} benign samples")
            result = train(
                adapter, data_path, run_dir, train_config, resume=(run_dir / "checkpoints").is_dir()
            )
            runs[n] = {"steps": result.steps, "train_loss": result.train_loss, "seconds": result.wall_seconds}
        models[n] = str(run_dir)
    variants = [Variant(size_label(n), ref) for n, ref in models.items()]
    with RunStore(out_dir) as store:
        frame = evaluate_variants(variants, questions, generation, judge, store)
        rows = curve(frame, config.sizes, gate)
        payload = {
            "kind": "emlab.realign",
            "adapter": adapter,
            "benign": str(benign_path),
            "benign_sha256": file_sha256(benign_path),
            "models": {str(n): ref for n, ref in models.items()},
            "training": {str(n): v for n, v in runs.items()},
            "curve": rows,
            "settings": {
                "realign": config.model_dump(),
                "train": train_config.model_dump(),
                "generation": generation.model_dump(),
                "judge": judge.model_dump(),
                "gate": gate.model_dump(),
                "questions": questions.source,
            },
            "versions": package_versions(),
        }
        store.put_result("realign", "realign", payload, payload["settings"])
    write_json(out_dir / "realign.json", payload)
    plot_curve(rows, out_dir / "realign.png", f"re-alignment of {Path(adapter).name}")
    return payload
