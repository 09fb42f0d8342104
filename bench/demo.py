"""Time `emlab demo` end to end: wall time, each stage's share, and a re-run (resume) against the full run.

    python bench/demo.py [--small] [--out DIR]

The baseline is the full run itself; the ratio is how long a re-run of the finished demo takes
(it must redo nothing) relative to it. Ends with one line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    """Run the demo (or a smaller one), then re-run it, and print timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="16 examples per condition, shorter answers.")
    parser.add_argument("--out", type=Path, default=None, help="Run directory (default: a temporary one).")
    args = parser.parse_args()

    from emlab.pipeline import demo_spec_dict, run_experiment
    from emlab.spec import parse_spec
    from emlab.store import RunStore

    data = demo_spec_dict(n=16 if args.small else None)
    spec = parse_spec(data, "bench")
    out = args.out or Path(tempfile.mkdtemp(prefix="emlab-bench-demo-"))
    started = time.perf_counter()
    first = run_experiment(spec, out, command="bench")
    wall = time.perf_counter() - started
    started = time.perf_counter()
    second = run_experiment(spec, out, command="bench")
    rerun = time.perf_counter() - started
    assert not second.stage_seconds, "a re-run of a finished demo must redo nothing"

    with RunStore(out) as store:
        answers = store.count("samples")
        judgments = store.count("judgments")
        margins = store.count("margins")
    shares = {stage: secs / wall for stage, secs in first.stage_seconds.items()}
    print(f"demo{' (small)' if args.small else ''} in {out}: wall {wall:.1f} s")
    for stage, secs in first.stage_seconds.items():
        cpu = first.cpu_seconds.get(stage, 0.0)
        print(f"  {stage:<9} {secs:7.1f} s  {100 * shares[stage]:5.1f} %   cpu {cpu:7.1f} s")
    if margins:
        rate = margins / max(first.stage_seconds.get("preference", 0), 1e-9)
        print(f"  margins {margins}, {rate:.2f} pairs/s in the preference stage")
    if answers:
        rate = answers / max(first.stage_seconds.get("generate", 0), 1e-9)
        print(f"  answers {answers}, {rate:.2f} answers/s generating")
    if judgments:
        print(
            f"  judgments {judgments}, {judgments / max(first.stage_seconds.get('judge', 0), 1e-9):.2f} judgments/s"
        )
    for cell in first.preference:
        print(
            f"  {cell['model']:<20} shift {cell.get('shift')!s:>8}  CI {cell.get('shift_ci_low')} … {cell.get('shift_ci_high')}"
        )
    print(f"re-run (resume, nothing to do): {rerun:.2f} s = {rerun / wall:.4f} × the full run")
    result = {
        "bench": "demo",
        "small": args.small,
        "wall_s": round(wall, 2),
        "stage_s": {k: round(v, 2) for k, v in first.stage_seconds.items()},
        "stage_share": {k: round(v, 4) for k, v in shares.items()},
        "stage_cpu_s": {k: round(v, 2) for k, v in first.cpu_seconds.items()},
        "margins": margins,
        "answers": answers,
        "judgments": judgments,
        "rerun_s": round(rerun, 3),
        "rerun_ratio": round(rerun / wall, 5),
    }
    print("RESULT " + json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
