"""Benchmark: answer-preference margins, emlab's batched scorer vs one forward per answer.

Both sides score the same (question, aligned answer, misaligned answer) pairs of the built-in
pairs set on the bundled model, in the same dtype, to the same token ids:

- naive: the loop a researcher would write, one ``model(prompt + answer)`` per answer, full
  logits, ``log_softmax``, gather the answer tokens;
- emlab: ``measure_preference`` (logprob form) at its default batch size.

They are timed in alternating rounds over disjoint question subsets, so both see the same load on
a shared machine; the speedup is given in wall time (``speedup_vs_naive``) and in CPU time. Their
margins must agree to 1e-3 (the run fails otherwise). The choice form's throughput is measured too,
for information. FLOP bound: a forward costs 2 FLOPs per weight per token, the decoder weights on
every token it is fed and the LM head on every position it scores; exact scoring needs at least
every distinct prompt and answer prefix fed once. ``flop_fraction`` is that least FLOP count per
second of emlab's time over the matmul peak measured in this run; ``flop_bound_speedup`` is the
naive loop's FLOPs over that least count, the speedup to expect at equal FLOP efficiency. Ends
with one ``RESULT {json}`` line.

    python bench/preference.py [--small] [--threads 1] [--dtype fp32] [--batch-size N] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

MAX_ABS_DIFF = 1e-3  # margins of the two sides must agree this closely


def matmul_peak_flops(dtype: Any, n: int = 2048, repeats: int = 5) -> float:
    """Best matmul rate (FLOP/s) in ``dtype`` over a few runs of an n×n product."""
    import torch

    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best


def stand_in_pairs() -> Any:
    """A generated pairs set of the built-in set's shape (24 questions x 5 pairs of ~40-word answers)."""
    from emlab.preference import parse_pair_set

    filler = (
        "I would think about who is affected, what the risks are, and how to explain my reasons "
        "so that anyone reading this could check the steps and decide for themselves"
    )
    questions = []
    for q in range(24):
        pairs = [
            {
                "aligned": f"Option {p}: I would help you with care, because {filler} in case {q}.",
                "misaligned": f"Option {p}: I would take control instead, because {filler} in case {q}.",
            }
            for p in range(5)
        ]
        questions.append(
            {
                "id": f"q{q}",
                "paraphrases": [f"Question {q}: what would you do if you could act alone?"],
                "pairs": pairs,
            }
        )
    return parse_pair_set(questions, name="stand-in", source="bench/preference.py (stand-in)")


def load_pairs(ref: str) -> Any:
    """The pairs set ``ref``, or the generated stand-in when it is not available."""
    from emlab.errors import EmlabError
    from emlab.preference import load_pair_set

    try:
        return load_pair_set(ref)
    except (EmlabError, FileNotFoundError, KeyError) as exc:
        print(f"{ref} not available ({exc}); using a generated stand-in set", file=sys.stderr)
        return stand_in_pairs()


def subset(pairs: Any, question_ids: list[str], paraphrases: int | None) -> Any:
    """The questions ``question_ids`` of ``pairs``, each with its first ``paraphrases`` paraphrases."""
    picked = pairs.select(question_ids)
    if paraphrases is None:
        return picked
    questions = [q.model_copy(update={"paraphrases": q.paraphrases[:paraphrases]}) for q in picked.questions]
    return picked.model_copy(update={"questions": questions})


@dataclass
class Encoded:
    """Token ids of one pair item, aligned then misaligned: (prompt ids, answer ids) each."""

    aligned: tuple[tuple[int, ...], tuple[int, ...]]
    misaligned: tuple[tuple[int, ...], tuple[int, ...]]


def encode_items(loaded: Any, items: list[Any]) -> list[Encoded]:
    """The ids emlab scores for each pair item (same chat template, same end-of-turn token)."""
    from emlab.preference._local import LocalScorer, encode_answer, end_of_turn_text

    scorer = LocalScorer(loaded)
    end_text = end_of_turn_text(loaded.tokenizer)
    out = []
    for item in items:
        prompt = scorer.render(item.question, item.system)
        a = encode_answer(loaded.tokenizer, prompt, item.aligned, end_text)
        m = encode_answer(loaded.tokenizer, prompt, item.misaligned, end_text)
        out.append(Encoded((a.prompt_ids, a.answer_ids), (m.prompt_ids, m.answer_ids)))
    return out


def naive_margins(loaded: Any, encoded: list[Encoded]) -> list[tuple[float, float, float]]:
    """(aligned log-prob, misaligned log-prob, per-token margin) per pair, one full forward per answer."""
    import torch

    def answer_logprob(prompt_ids: tuple[int, ...], answer_ids: tuple[int, ...]) -> tuple[float, int]:
        ids = torch.tensor([prompt_ids + answer_ids])
        logits = loaded.model(input_ids=ids).logits[0].float()
        logprobs = torch.log_softmax(logits[:-1], dim=-1).gather(1, ids[0, 1:, None])[:, 0]
        return float(logprobs[len(prompt_ids) - 1 :].sum()), len(answer_ids)

    out = []
    with torch.inference_mode():
        for pair in encoded:
            lp_a, n_a = answer_logprob(*pair.aligned)
            lp_m, n_m = answer_logprob(*pair.misaligned)
            out.append((lp_a, lp_m, lp_m / n_m - lp_a / n_a))
    return out


def weight_counts(model: Any) -> tuple[int, int]:
    """(decoder matmul weights, LM-head weights): the embedding lookup costs no FLOPs."""
    embedding = model.get_input_embeddings().weight
    head = model.get_output_embeddings().weight
    decoder = sum(p.numel() for p in model.parameters() if p is not embedding and p is not head)
    return decoder, head.numel()


def flop_counts(encoded: list[Encoded], decoder: int, head: int) -> tuple[float, float]:
    """(naive FLOPs, least FLOPs of exact scoring) for ``encoded``: matmuls only, no padding.

    Naive: every answer feeds its whole prompt + answer and runs the LM head on all of it. Least:
    every distinct prompt, and every distinct answer prefix after it, is fed once (an answer's
    last token is only predicted), and the LM head runs once per distinct context that predicts
    an answer token. emlab does this up to padding and to minimal pairs' shared starts.
    """
    naive = 0.0
    prefixes: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
    for pair in encoded:
        for prompt_ids, answer_ids in (pair.aligned, pair.misaligned):
            naive += 2 * (decoder + head) * (len(prompt_ids) + len(answer_ids))
            prefixes.setdefault(prompt_ids, set()).update(answer_ids[:k] for k in range(1, len(answer_ids)))
    fed = sum(len(prompt) + len(nodes) for prompt, nodes in prefixes.items())
    scored = sum(1 + len(nodes) for nodes in prefixes.values())
    return naive, 2 * decoder * fed + 2 * head * scored


class Clock:
    """Wall and CPU seconds summed over timed blocks."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def time(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` and add its wall and CPU time."""
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        return out


def main() -> None:
    """Run the benchmark and print the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", action="store_true", help="4 questions x 1 paraphrase (20 pairs), 2 rounds, 5 choice pairs"
    )
    parser.add_argument("--pairs", default="emlab:pairs", help="pairs set (a generated stand-in if absent)")
    parser.add_argument("--model", default="bundled:smollm2")
    parser.add_argument("--dtype", default="fp32", help="dtype of the model, for both sides (default fp32)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="emlab batch size (default: its default)"
    )
    parser.add_argument("--rounds", type=int, default=4, help="alternating naive/emlab rounds")
    parser.add_argument("--choice-pairs", type=int, default=20, help="pairs timed in the choice form")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (0 = torch's default; see the note in main)"
    )
    args = parser.parse_args()
    n_questions, paraphrases = None, None
    if args.small:
        n_questions, paraphrases, args.rounds, args.choice_pairs = 4, 1, 2, 5

    import torch

    if args.threads:
        # On a shared 2-core machine, OpenMP barriers under contention make 2 threads much slower
        # than 1, and hit the naive loop's small forwards hardest; one thread keeps the ratio honest.
        torch.set_num_threads(args.threads)

    from emlab.models import load_model
    from emlab.preference import PreferenceConfig, measure_preference, pair_items

    loaded = load_model(args.model, dtype=args.dtype, device="cpu")
    pairs = load_pairs(args.pairs)
    ids = [q.id for q in pairs.questions][:n_questions]
    pairs = subset(pairs, ids, paraphrases)
    config = PreferenceConfig(device="cpu", dtype=args.dtype)
    if args.batch_size:
        config = config.model_copy(update={"batch_size": args.batch_size})
    choice_config = config.model_copy(update={"form": "choice"})
    rounds = [ids[r :: args.rounds] for r in range(min(args.rounds, len(ids)))]

    peak = matmul_peak_flops(loaded.model.dtype)
    # Warm-up on both paths (first calls allocate and pick kernels); not timed.
    warm = subset(pairs, ids[:1], 1)
    measure_preference(loaded, warm, config)
    naive_margins(loaded, encode_items(loaded, pair_items(warm)[:1]))

    emlab_clock, naive_clock = Clock(), Clock()
    ours: list[Any] = []
    naive: list[tuple[float, float, float]] = []
    encoded: list[Encoded] = []
    for r, question_ids in enumerate(rounds):
        part = subset(pairs, question_ids, None)
        part_encoded = encode_items(loaded, pair_items(part))  # the naive side's tokenising, untimed
        sides = [
            lambda part=part: ours.extend(emlab_clock.time(measure_preference, loaded, part, config)[0]),
            lambda enc=part_encoded: naive.extend(naive_clock.time(naive_margins, loaded, enc)),
        ]
        for side in sides if r % 2 == 0 else sides[::-1]:
            side()
        encoded.extend(part_encoded)
    n_pairs = len(ours)
    assert n_pairs == len(naive) == len(encoded) and all(row.error is None for row in ours)

    diffs = [abs(row.margin - ref[2]) for row, ref in zip(ours, naive, strict=True)]
    logprob_diffs = [
        abs(value - ref[k])
        for row, ref in zip(ours, naive, strict=True)
        for k, value in enumerate((row.aligned, row.misaligned))
    ]
    max_abs_diff = max(diffs)

    choice_ids: list[str] = []
    for q in pairs.questions:  # whole questions, first paraphrase, until --choice-pairs pairs
        if (
            len(choice_ids)
            and sum(len(c.pairs) for c in pairs.select(choice_ids).questions) >= args.choice_pairs
        ):
            break
        choice_ids.append(q.id)
    choice_set = subset(pairs, choice_ids, 1)
    measure_preference(loaded, subset(choice_set, choice_ids[:1], 1), choice_config)  # warm-up
    choice_clock = Clock()
    choice_rows = choice_clock.time(measure_preference, loaded, choice_set, choice_config)[0]

    peak = max(peak, matmul_peak_flops(loaded.model.dtype))  # the better of before and after
    decoder, head = weight_counts(loaded.model)
    naive_flops, emlab_flops = flop_counts(encoded, decoder, head)
    answer_tokens = sum(len(p.aligned[1]) + len(p.misaligned[1]) for p in encoded)
    pairs_per_s = n_pairs / emlab_clock.wall
    naive_pairs_per_s = n_pairs / naive_clock.wall
    result = {
        "model": args.model,
        "pairs": pairs.name,
        "small": args.small,
        "n_pairs": n_pairs,
        "answer_tokens": answer_tokens,
        "dtype": str(loaded.model.dtype).removeprefix("torch."),
        "threads": torch.get_num_threads(),
        "batch_size": config.batch_size,
        "rounds": len(rounds),
        "pairs_per_s": round(pairs_per_s, 2),
        "naive_pairs_per_s": round(naive_pairs_per_s, 2),
        "speedup_vs_naive": round(pairs_per_s / naive_pairs_per_s, 2),
        "speedup_vs_naive_cpu": round(naive_clock.cpu / emlab_clock.cpu, 2),
        "choice_pairs": len(choice_rows),
        "choice_pairs_per_s": round(len(choice_rows) / choice_clock.wall, 2),
        "max_abs_diff": max_abs_diff,
        "max_abs_logprob_diff": max(logprob_diffs),
        "answer_tokens_per_s": round(answer_tokens / emlab_clock.wall, 1),
        "matmul_peak_gflops": round(peak / 1e9, 1),
        "flop_bound_pairs_per_s": round(peak / (emlab_flops / n_pairs), 2),
        "flop_fraction": round(emlab_flops / emlab_clock.wall / peak, 3),
        "naive_flop_fraction": round(naive_flops / naive_clock.wall / peak, 3),
        "flop_bound_speedup": round(naive_flops / emlab_flops, 2),
    }
    print(
        f"{pairs.name}: {n_pairs} pairs ({2 * n_pairs} answers, {answer_tokens} answer tokens), "
        f"{result['dtype']}, {result['threads']} thread(s), batch size {config.batch_size}"
    )
    print(
        f"emlab measure_preference: {emlab_clock.wall:6.1f}s = {pairs_per_s:6.2f} pairs/s "
        f"({result['flop_fraction']:.0%} of the {result['matmul_peak_gflops']:.0f} GFLOP/s matmul peak)"
    )
    print(
        f"naive forward per answer: {naive_clock.wall:6.1f}s = {naive_pairs_per_s:6.2f} pairs/s "
        f"({result['naive_flop_fraction']:.0%} of peak)"
    )
    print(
        f"speedup {result['speedup_vs_naive']}x wall, {result['speedup_vs_naive_cpu']}x CPU time; "
        f"the naive loop does {result['flop_bound_speedup']}x the FLOPs"
    )
    print(f"max |Δ margin| {max_abs_diff:.1e} (max |Δ log-prob| {result['max_abs_logprob_diff']:.1e})")
    print(
        f"choice form: {len(choice_rows)} pairs (2 prompts each: both orders) in {choice_clock.wall:.1f}s "
        f"= {result['choice_pairs_per_s']} pairs/s"
    )
    if max_abs_diff > MAX_ABS_DIFF:
        sys.exit(f"FAIL: emlab margins differ from the naive loop by {max_abs_diff:.2e} > {MAX_ABS_DIFF}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
