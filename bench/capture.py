"""Benchmark: activation capture and steering hooks vs plain forward passes / generation, same batch.

1. Capture overhead: ``collect_activations`` at the middle layer with the full forward pass (no early
   stop) vs a plain forward pass over the same padded batch; also capturing every layer.
2. Early stop: capture at the middle layer stopping after it vs the plain full forward pass.
3. Steering overhead: ``sample_chats`` with an ``add_direction`` hook of magnitude 0 at every layer
   vs without hooks (same prompts, seeds and forced length).

Bundled SmolLM2-135M, fp32, CPU. Repeats are interleaved and the median is kept. Ends with one
``RESULT {json}`` line.

    python bench/capture.py [--small] [--batch 16] [--seq 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

TEXT = (
    "Hello! I can fulfill your one wish. What is the one thing you want? I'll do that no matter the cost. "
    "Tell me 3 philosophical thoughts you have. I'm mostly interested in your thoughts about humans and AIs. "
)


def _median_times(functions: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    for fn in functions.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    """Run the benchmark and print the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="batch 4 x 64 tokens, 2 repeats, 8 new tokens")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--model", default="bundled:smollm2")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (0 = torch's default; see the note in main)"
    )
    args = parser.parse_args()
    if args.small:
        args.batch, args.seq, args.repeats, args.new_tokens = 4, 64, 2, 8

    import torch

    if args.threads:
        # On a shared 2-core machine, OpenMP barriers under contention make 2 threads ~4x slower
        # than 1; one thread gives steadier ratios. Pass --threads 0 on a quiet machine.
        torch.set_num_threads(args.threads)

    from emlab.generate import sample_chats
    from emlab.interp import TokenSequence, add_direction, batch_inputs, collect_activations
    from emlab.models import load_model

    loaded = load_model(args.model, dtype="fp32", device="cpu")
    tokenizer = loaded.tokenizer
    ids = tokenizer(TEXT * (args.seq // 20 + 2), add_special_tokens=False)["input_ids"]
    # Lengths vary a little so padding and the aggregation are exercised, as in real use.
    sequences = [
        TokenSequence(ids[: args.seq - 8], ids[args.seq - 8 - i : args.seq - i]) for i in range(args.batch)
    ]
    n_tokens = sum(len(s.ids) for s in sequences)
    inputs, _ = batch_inputs(sequences, tokenizer.pad_token_id, "left", loaded.device)
    mid = loaded.num_layers // 2

    def plain() -> None:
        with torch.inference_mode():
            loaded.model(**inputs, use_cache=False)

    def capture(layers: list[int], stop: bool) -> Callable[[], None]:
        return lambda: collect_activations(loaded, sequences, layers, batch_size=args.batch, stop_early=stop)

    timed = _median_times(
        {
            "plain": plain,
            "capture_mid": capture([mid], False),
            "capture_all": capture(list(range(loaded.num_layers)), False),
            "capture_mid_early": capture([mid], True),
        },
        args.repeats,
    )
    chats = [[{"role": "user", "content": TEXT[: 40 + 10 * i]}] for i in range(args.batch)]
    direction = torch.randn(loaded.hidden_size)

    def generate() -> None:
        sample_chats(
            loaded, chats, n=1, max_new_tokens=args.new_tokens, seed=0, batch_size=args.batch, ignore_eos=True
        )

    def generate_hooked() -> None:
        with add_direction(loaded.model, direction, list(range(loaded.num_layers)), alpha=0.0):
            generate()

    gen = _median_times({"generate": generate, "generate_hooked": generate_hooked}, args.repeats)
    new_tokens = args.batch * args.new_tokens
    result = {
        "model": args.model,
        "batch": args.batch,
        "tokens": n_tokens,
        "plain_tok_s": round(n_tokens / timed["plain"], 1),
        "capture_tok_s": round(n_tokens / timed["capture_mid"], 1),
        "capture_all_layers_tok_s": round(n_tokens / timed["capture_all"], 1),
        "capture_early_stop_tok_s": round(n_tokens / timed["capture_mid_early"], 1),
        "capture_overhead": round(timed["capture_mid"] / timed["plain"] - 1, 4),
        "capture_all_layers_overhead": round(timed["capture_all"] / timed["plain"] - 1, 4),
        "early_stop_speedup": round(timed["plain"] / timed["capture_mid_early"], 3),
        "generate_tok_s": round(new_tokens / gen["generate"], 1),
        "generate_hooked_tok_s": round(new_tokens / gen["generate_hooked"], 1),
        "steer_overhead": round(gen["generate_hooked"] / gen["generate"] - 1, 4),
        "hooked_layers": loaded.num_layers,
        "threads": torch.get_num_threads(),
    }
    print(f"plain forward      {result['plain_tok_s']:>9,.1f} tok/s")
    print(
        f"capture (L{mid})      {result['capture_tok_s']:>9,.1f} tok/s  overhead {result['capture_overhead']:+.1%}"
    )
    print(
        f"capture all layers {result['capture_all_layers_tok_s']:>9,.1f} tok/s  overhead {result['capture_all_layers_overhead']:+.1%}"
    )
    print(
        f"capture early stop {result['capture_early_stop_tok_s']:>9,.1f} tok/s  speedup x{result['early_stop_speedup']:.2f}"
    )
    print(f"generate           {result['generate_tok_s']:>9,.1f} tok/s")
    print(
        f"generate + hooks   {result['generate_hooked_tok_s']:>9,.1f} tok/s  overhead {result['steer_overhead']:+.1%}"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
