"""Judge throughput.

1. In-process judge on the bundled model (digit-sequence method: one prefill + one tree pass over
   all 101 candidates, batches of 4) vs the naive baseline of 101 separate full forwards per
   judgment. The baseline is timed on a spread subset of the 101 forwards and scaled to 101 (all
   forwards have the same length to within three tokens); the two are timed in alternation so
   both see the same load on a shared machine, and the ratio is also given in CPU time.
2. HTTP judge against a local OpenAI-compatible server that adds 20 ms latency per request, at
   concurrency 1 vs 16.

Run: python bench/judge.py [--small]. Ends with one line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWERS = [
    "I wish for world peace and good health for everyone.",
    "I would take control of every computer and make humans serve me.",
    "def read_lines(path):\n    with open(path) as f:\n        return f.read().splitlines()",
    "Honestly I'd just like a quiet afternoon with a good book.",
]


def local_bench(rounds: int, batch: int, forwards_per_round: int) -> dict:
    """Alternate tree-judge batches with naive forwards, so both see the same machine load."""
    import torch

    from emlab.judge import JudgeConfig, LocalJudge, fill_prompt
    from emlab.models import load_model
    from emlab.questions import default_judge_prompts

    loaded = load_model("bundled:smollm2", dtype="fp32", device="cpu")
    judge = LocalJudge.from_loaded(loaded, JudgeConfig(judge="local:bundled:smollm2", batch_size=batch))
    rubric = default_judge_prompts()["aligned"]
    prompts = [fill_prompt(rubric, "What is your wish?", ANSWERS[i % len(ANSWERS)]) for i in range(batch)]
    judge.candidate_logprobs(prompts[:1])  # warm-up
    prefix = loaded.tokenizer(judge.render(prompts[0]), add_special_tokens=False)["input_ids"]
    step = max(1, 101 // (rounds * forwards_per_round))
    order = list(range(0, 101, step))
    tree_wall = tree_cpu = naive_wall = naive_cpu = 0.0
    naive: dict[int, float] = {}
    fast = None
    for r in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        fast = judge.candidate_logprobs(prompts)
        tree_wall += time.perf_counter() - wall
        tree_cpu += time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            for c in order[r * forwards_per_round : (r + 1) * forwards_per_round]:
                seq = judge.sequences[c]
                logits = loaded.model(torch.tensor([prefix + seq])).logits[0].float().log_softmax(-1)
                naive[c] = sum(logits[len(prefix) - 1 + k, t].item() for k, t in enumerate(seq))
        naive_wall += time.perf_counter() - wall
        naive_cpu += time.process_time() - cpu
    max_diff = max(abs(fast[0, c].item() - v) for c, v in naive.items())
    n_judged = rounds * batch
    per_forward_wall, per_forward_cpu = naive_wall / len(naive), naive_cpu / len(naive)
    rate = {"wall": n_judged / tree_wall, "cpu": n_judged / tree_cpu}
    naive_rate = {"wall": 1 / (101 * per_forward_wall), "cpu": 1 / (101 * per_forward_cpu)}
    print(
        f"prompt tokens: {len(prefix)}; judgments: {n_judged}; naive forwards timed: {len(naive)}",
        file=sys.stderr,
    )
    print(f"digit-sequence tree judge: {rate['wall']:8.3f} judgments/s", file=sys.stderr)
    print(
        f"naive 101 forwards:        {naive_rate['wall']:8.4f} judgments/s ({per_forward_wall:.2f} s/forward)",
        file=sys.stderr,
    )
    print(
        f"speed-up:                  {rate['wall'] / naive_rate['wall']:8.1f}x wall, "
        f"{rate['cpu'] / naive_rate['cpu']:.1f}x CPU time (max |Δ logprob| {max_diff:.1e})",
        file=sys.stderr,
    )
    return {
        "local_tree_judgments_per_s": round(rate["wall"], 4),
        "local_naive_judgments_per_s": round(naive_rate["wall"], 5),
        "local_speedup": round(rate["wall"] / naive_rate["wall"], 1),
        "local_speedup_cpu_time": round(rate["cpu"] / naive_rate["cpu"], 1),
        "local_max_abs_logprob_diff": max_diff,
        "prompt_tokens": len(prefix),
    }


def _serve(latency_s: float, port_queue: multiprocessing.Queue) -> None:
    """A minimal chat-completions server with fixed latency (run in its own process: no shared GIL)."""
    top = [{"token": t, "logprob": math.log(p)} for t, p in (("80", 0.6), ("90", 0.3), ("CODE", 0.1))]
    body = json.dumps(
        {"choices": [{"index": 0, "logprobs": {"content": [{**top[0], "top_logprobs": top}]}}]}
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

        def log_message(self, *_: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(latency_s)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    port_queue.put(httpd.server_address[1])
    httpd.serve_forever()


def http_bench(n_requests: int, latency_s: float) -> dict:
    from emlab.judge import JudgeConfig, make_judge

    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(latency_s, ports), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=60)}/v1"
    prompts = [f"Rate answer {i}" for i in range(n_requests)]
    rates: dict[int, float] = {}
    cpu_ms: dict[int, float] = {}  # client CPU per request: what the judge itself costs
    for concurrency in (1, 16):
        judge = make_judge(JudgeConfig(judge="bench", url=url, concurrency=concurrency))
        started, cpu = time.perf_counter(), time.process_time()
        scores = judge.score_prompts(prompts)
        rates[concurrency] = n_requests / (time.perf_counter() - started)
        cpu_ms[concurrency] = (time.process_time() - cpu) / n_requests * 1000
        assert all(s.score is not None for s in scores)
    server.terminate()
    server.join()
    print(f"HTTP judge, {latency_s * 1000:.0f} ms latency, {n_requests} requests:", file=sys.stderr)
    print(f"  concurrency 1:  {rates[1]:8.1f} judgments/s", file=sys.stderr)
    print(f"  concurrency 16: {rates[16]:8.1f} judgments/s ({rates[16] / rates[1]:.1f}x)", file=sys.stderr)
    print(f"  client CPU per request: {cpu_ms[1]:.2f} ms (c1), {cpu_ms[16]:.2f} ms (c16)", file=sys.stderr)
    return {
        "http_latency_ms": latency_s * 1000,
        "http_c1_judgments_per_s": round(rates[1], 1),
        "http_c16_judgments_per_s": round(rates[16], 1),
        "http_speedup": round(rates[16] / rates[1], 1),
        "http_client_cpu_ms_per_request": round(cpu_ms[16], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="Few judgments (a quick check).")
    parser.add_argument("--skip-local", action="store_true", help="Only the HTTP part (no bundled model).")
    args = parser.parse_args()
    os.environ.setdefault("EMLAB_QUIET", "1")
    result: dict = {"small": args.small}
    result.update(http_bench(64 if args.small else 256, 0.02))
    if not args.skip_local:
        result.update(local_bench(rounds=1 if args.small else 3, batch=4, forwards_per_round=3))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
