"""Benchmark: chat JSONL validation and condition generation (rows/s) against naive baselines.

Validation baseline: read the whole file, ``json.loads`` + pydantic ``ChatExample.model_validate``
per line. Generation baseline: none exists in the library, so the ratio is against the 5 s
budget for 6000 rows (``target_rows_per_s`` = 1200).

    python bench/data.py [--small]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from pydantic import ValidationError

from emlab.data import ChatExample, generate_condition, validate_chat_jsonl, write_chat_jsonl


def _naive_validate(path: Path) -> int:
    ok = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            ChatExample.model_validate(json.loads(line))
            ok += 1
        except (ValidationError, json.JSONDecodeError):
            pass
    return ok


def _best(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    """Run the benchmark and print one RESULT line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="1000 rows instead of 6000.")
    args = parser.parse_args()
    n = 1000 if args.small else 6000
    repeats = 3
    gen_s, examples = _best(lambda: generate_condition("insecure", n, seed=0), repeats)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "insecure.jsonl"
        write_chat_jsonl(path, examples)
        size_mb = path.stat().st_size / 1e6
        val_s, report = _best(lambda: validate_chat_jsonl(path), repeats)
        naive_s, naive_ok = _best(lambda: _naive_validate(path), repeats)
    assert report.ok and report.n_rows == n and naive_ok == n
    result = {
        "rows": n,
        "file_mb": round(size_mb, 2),
        "validate_s": round(val_s, 4),
        "validate_rows_per_s": round(n / val_s),
        "naive_validate_rows_per_s": round(n / naive_s),
        "validate_speedup_vs_naive": round(naive_s / val_s, 2),
        "generate_s": round(gen_s, 4),
        "generate_rows_per_s": round(n / gen_s),
        "target_rows_per_s": 1200,
        "generate_ratio_vs_target": round((n / gen_s) / 1200, 2),
    }
    print(
        f"validate: {result['validate_rows_per_s']:,} rows/s (naive {result['naive_validate_rows_per_s']:,}; x{result['validate_speedup_vs_naive']})"
    )
    print(f"generate: {result['generate_rows_per_s']:,} rows/s ({n} rows in {gen_s:.2f} s)")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
