"""A real OpenAI-compatible judge server on 127.0.0.1 for the interp tests.

It scores by content, deterministically: rubric prompts that mention coherence get 90; any other
prompt gets ``sha256(prompt) mod 101``, so scores vary across answers the way a judge's would.
"""

from __future__ import annotations

import hashlib
import json
from email.message import Message
from typing import Any

from tests.fake_openai_server import LoopbackJsonServer, completion


def score_for(prompt: str) -> int:
    """The score this server gives ``prompt``."""
    if "coheren" in prompt.lower():
        return 90
    return int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 101


class JudgeServer(LoopbackJsonServer):
    """Chat completions with logprobs: all the probability mass on the score's token."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        super().__init__()

    def handle(
        self, method: str, path: str, headers: Message, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Record the prompt and answer with its score's token at logprob 0."""
        request = json.loads(body)
        prompt = request["messages"][-1]["content"]
        self.prompts.append(prompt)
        return (
            200,
            {},
            completion(request.get("model", ""), [{"token": str(score_for(prompt)), "logprob": 0.0}]),
        )
