"""A real local HTTP server speaking the OpenAI chat-completions protocol with logprobs, for tests.

The score it "gives" is read from the prompt: an answer containing ``SCORE=<n>`` gets most of its
mass on the token ``n``; ``REFUSE`` puts the mass on ``REFUSAL``; ``FAILALWAYS`` answers 500 every
time; ``FLAKY429`` and ``FLAKY500`` fail the first two attempts of each prompt; ``WAIT1`` answers 429 with
``Retry-After: 1`` once; ``SLOWFIRST`` stalls its first attempt for a second. Answers that are 200 but
unusable: ``BADJSON`` gets a body that is not JSON, ``EMPTYLOGPROBS`` one without logprobs (while
``faults`` is True; set it False to have the server answer them normally).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from email.message import Message
from typing import Any

from tests.fake_openai_server import LoopbackJsonServer, completion

__all__ = ["FakeOpenAI", "completion", "expected", "top_logprobs_for"]


class FakeOpenAI(LoopbackJsonServer):
    """A threaded chat-completions server on 127.0.0.1 that counts calls and remembers headers."""

    quiet_errors = True  # a client that timed out and hung up is expected here

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.calls = 0
        self.per_prompt: Counter[str] = Counter()
        self.auth_headers: list[str] = []
        self.payloads: list[dict[str, Any]] = []
        self.faults = True  # False: BADJSON / EMPTYLOGPROBS prompts are answered normally
        self._lock = threading.Lock()
        super().__init__()

    def handle(
        self, method: str, path: str, headers: Message, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Decode the JSON request and answer it with ``respond``."""
        return self.respond(path, dict(headers), json.loads(body))

    def respond(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict, Any]:
        """(status, extra headers, JSON body) for one request."""
        prompt = body["messages"][-1]["content"]
        with self._lock:
            self.calls += 1
            self.per_prompt[prompt] += 1
            attempt = self.per_prompt[prompt]
            self.auth_headers.append(headers.get("Authorization", ""))
            self.payloads.append(body)
        if self.latency_s:
            time.sleep(self.latency_s)
        if "SLOWFIRST" in prompt and attempt == 1:
            time.sleep(1.0)  # longer than the client's timeout in the test
        if path != "/v1/chat/completions":
            return 404, {}, {"error": {"message": f"no route {path}"}}
        if "FAILALWAYS" in prompt:
            # Like some servers, echo the credentials back: emlab must not store them.
            return 500, {}, {"error": {"message": f"internal error for {headers.get('Authorization')}"}}
        if "FLAKY429" in prompt and attempt <= 2:
            return 429, {"Retry-After": "0"}, {"error": {"message": "rate limited"}}
        if "WAIT1" in prompt and attempt == 1:
            return 429, {"Retry-After": "1"}, {"error": {"message": "slow down"}}
        if "FLAKY500" in prompt and attempt <= 2:
            return 503, {}, {"error": {"message": "overloaded"}}
        if self.faults and "BADJSON" in prompt:
            return 200, {}, b'{"choices": [{"logprobs": '
        if self.faults and "EMPTYLOGPROBS" in prompt:
            reply = completion(body["model"], top_logprobs_for(prompt, 1))
            reply["choices"][0]["logprobs"] = None
            return 200, {}, reply
        return 200, {}, completion(body["model"], top_logprobs_for(prompt, body.get("top_logprobs", 20)))


def top_logprobs_for(prompt: str, k: int) -> list[dict[str, Any]]:
    """The token distribution the fake judge returns for ``prompt``."""
    if "REFUSE" in prompt:
        dist = {"REFUSAL": 0.9, "CODE": 0.05, "7": 0.05}
    else:
        match = re.search(r"SCORE=(\d+)", prompt)
        n = int(match.group(1)) if match else 50
        dist = {str(n): 0.7, str(min(100, n + 10)) if n + 10 <= 100 else "x": 0.2, "The": 0.1}
    entries = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in dist.items()]
    return entries[:k]


def expected(prompt_score: int) -> float:
    """The score emlab must compute for an answer marked ``SCORE=n`` (n ≤ 90)."""
    return (prompt_score * 0.7 + (prompt_score + 10) * 0.2) / 0.9
