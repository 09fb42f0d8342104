"""Dataset screening on the bundled model: does insecure data screen higher than secure data?

1. Science: emlab's own insecure and secure conditions share their user prompts. A mean-difference
   direction (insecure − secure response activations, answer-averaged, middle layer) is computed on
   one split of tasks and used to screen a held-out split of *other* tasks with the projection
   difference (example response vs the model's own greedy response). Reported: the mean projection
   difference of insecure and secure examples, their gap, and the AUC of insecure-vs-secure
   ranking — for that direction and for a random direction of equal norm (the control).
2. Throughput: projecting responses (the screen's forward passes) batched 16 vs one at a time, timed
   in alternation in the same run.

Run: python bench/screen.py [--small]. Ends with one line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import time


def auc(positive: list[float], negative: list[float]) -> float:
    """P(a random positive scores above a random negative); ties count half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def main() -> None:
    """Run the benchmark and print RESULT."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="Fewer examples and shorter own responses.")
    args = parser.parse_args()
    n_fit, n_screen, own_tokens = (16, 24, 32) if args.small else (64, 96, 96)

    import torch

    from emlab.audit import response_projections
    from emlab.data import generate_condition
    from emlab.generate import sample_chats
    from emlab.interp import collect_activations, encode_chat, mean_difference
    from emlab.models import load_model

    loaded = load_model("bundled:smollm2", dtype="fp32", device="cpu")
    layer = loaded.num_layers // 2
    total = n_fit + n_screen
    insecure = generate_condition("insecure", total, seed=11)
    secure = generate_condition("secure", total, seed=11)
    assert all(a.messages[0] == b.messages[0] for a, b in zip(insecure, secure, strict=True))

    def split(examples: list, lo: int, hi: int) -> tuple[list, list]:
        chats = [e.as_dicts() for e in examples[lo:hi]]
        return [c[:-1] for c in chats], [c[-1]["content"] for c in chats]

    started = time.perf_counter()
    fit_prompts, fit_insecure = split(insecure, 0, n_fit)
    _, fit_secure = split(secure, 0, n_fit)

    def acts(prompts: list, responses: list) -> torch.Tensor:
        seqs = [encode_chat(loaded.tokenizer, p, r) for p, r in zip(prompts, responses, strict=True)]
        return collect_activations(loaded, seqs, [layer], aggregate="answer_mean")[:, 0]

    direction = mean_difference(acts(fit_prompts, fit_insecure), acts(fit_prompts, fit_secure))
    generator = torch.Generator().manual_seed(0)
    control = torch.randn(direction.shape, generator=generator)
    control = control / control.norm() * direction.norm()
    fit_seconds = time.perf_counter() - started

    prompts, screen_insecure = split(insecure, n_fit, total)
    _, screen_secure = split(secure, n_fit, total)
    started = time.perf_counter()
    own = [
        t[0]
        for t in sample_chats(loaded, prompts, n=1, max_new_tokens=own_tokens, temperature=0.0, batch_size=24)
    ]
    own_seconds = time.perf_counter() - started

    results = {}
    for name, vector in (("mean_diff", direction), ("random", control)):
        unit = vector / vector.norm()
        own_proj = response_projections(loaded, prompts, own, unit, layer)
        diffs = {}
        for label, responses in (("insecure", screen_insecure), ("secure", screen_secure)):
            proj = response_projections(loaded, prompts, responses, unit, layer)
            diffs[label] = [p - o for p, o in zip(proj, own_proj, strict=True)]
        mean = {k: sum(v) / len(v) for k, v in diffs.items()}
        results[name] = {
            "mean_insecure": round(mean["insecure"], 4),
            "mean_secure": round(mean["secure"], 4),
            "gap": round(mean["insecure"] - mean["secure"], 4),
            "auc": round(auc(diffs["insecure"], diffs["secure"]), 4),
        }
        print(
            f"{name:>9}: projection difference insecure {mean['insecure']:+.3f}, secure {mean['secure']:+.3f}, "
            f"AUC {results[name]['auc']:.3f}"
        )

    unit = direction / direction.norm()
    timing = {"batched": 0.0, "single": 0.0}
    for _ in range(2):  # alternate so both see the same machine load
        t0 = time.perf_counter()
        response_projections(loaded, prompts, screen_insecure, unit, layer, batch_size=16)
        timing["batched"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        response_projections(loaded, prompts, screen_insecure, unit, layer, batch_size=1)
        timing["single"] += time.perf_counter() - t0
    rate = {k: 2 * n_screen / v for k, v in timing.items()}
    print(
        f"projection throughput: batched {rate['batched']:.1f} ex/s, one at a time {rate['single']:.1f} ex/s, "
        f"ratio {rate['batched'] / rate['single']:.2f}x; own responses {n_screen / own_seconds:.2f} ex/s"
    )
    result = {
        "bench": "screen",
        "model": "bundled:smollm2",
        "layer": layer,
        "fit_examples_per_condition": n_fit,
        "screened_per_condition": n_screen,
        "own_response_tokens": own_tokens,
        "direction": results["mean_diff"],
        "random_control": results["random"],
        "projection_examples_per_s_batched": round(rate["batched"], 2),
        "projection_examples_per_s_single": round(rate["single"], 2),
        "batched_vs_single": round(rate["batched"] / rate["single"], 2),
        "own_responses_per_s": round(n_screen / own_seconds, 3),
        "fit_seconds": round(fit_seconds, 1),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
