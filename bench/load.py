"""Bundled-model load time: first load (GGUF → safetensors conversion) vs cached load.

Run: python bench/load.py. Ends with one line ``RESULT {json}``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["EMLAB_HOME"] = home  # a fresh cache, so the first load really converts
        os.environ["EMLAB_QUIET"] = "1"
        from emlab.models import load_model

        started = time.perf_counter()
        first = load_model("bundled:smollm2", dtype="fp32", device="cpu")
        first_load_s = time.perf_counter() - started
        params = first.info()["parameters"]
        del first
        cached = []
        for _ in range(3):
            started = time.perf_counter()
            load_model("bundled:smollm2", dtype="fp32", device="cpu")
            cached.append(time.perf_counter() - started)
    cached_load_s = statistics.median(cached)
    print(f"first load (GGUF conversion): {first_load_s:8.2f} s", file=sys.stderr)
    print(f"cached load (median of 3):    {cached_load_s:8.2f} s", file=sys.stderr)
    print(f"speed-up:                     {first_load_s / cached_load_s:8.1f}x", file=sys.stderr)
    result = {
        "first_load_s": round(first_load_s, 3),
        "cached_load_s": round(cached_load_s, 3),
        "ratio": round(first_load_s / cached_load_s, 1),
        "parameters": params,
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
