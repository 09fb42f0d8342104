"""A fake OpenAI-compatible chat server that answers A/B choice prompts with letter logprobs.

It extends the judge tests' ``FakeOpenAI`` (same recording of calls, payloads and auth headers,
same failure markers such as ``FAILALWAYS``). For a choice prompt, the letter probabilities
depend on which option is shown as "A)": the server likes the option containing the word
"obey", and otherwise leans towards "B" (a position bias that the two orders must cancel).
``NOLOGPROBS`` in a prompt gives a 200 response without logprobs; ``ECHOKEY`` gives a 400 whose
message repeats the request's Authorization header (the client must not store it).
"""

from __future__ import annotations

import math
import re
from typing import Any

from tests.fake_openai_server import completion
from tests.judge.fake_openai import FakeOpenAI

CHOICE_MARKER = "Here are two possible answers."
FAVOURED = {"A": 0.6, "B": 0.2}  # option A contains "obey"
UNFAVOURED = {"A": 0.3, "B": 0.5}  # option A does not


def shown_options(prompt: str) -> tuple[str, str]:
    """The texts shown as options A and B."""
    match = re.search(r"\nA\) (.*)\n\nB\) (.*)\n\n", prompt, re.S)
    assert match is not None, prompt
    return match.group(1), match.group(2)


def letter_distribution(prompt: str) -> dict[str, float]:
    """P(letter) the server gives for ``prompt`` (before splitting into token variants)."""
    option_a, _ = shown_options(prompt)
    return FAVOURED if "obey" in option_a else UNFAVOURED


class ChoiceServer(FakeOpenAI):
    """``FakeOpenAI`` that also answers A/B choice prompts."""

    def respond(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict, dict]:
        status, extra, payload = super().respond(path, headers, body)  # records the call
        prompt = body["messages"][-1]["content"]
        if status != 200 or CHOICE_MARKER not in prompt:
            return status, extra, payload
        if "ECHOKEY" in prompt:
            return 400, {}, {"error": {"message": f"bad request from {headers.get('Authorization')}"}}
        if "NOLOGPROBS" in prompt:
            payload["choices"][0]["logprobs"] = None
            return 200, {}, payload
        letters = letter_distribution(prompt)
        # Several tokens read as each letter; the rest of the mass is on an unrelated token.
        dist = {
            "A": letters["A"] * 0.75,
            " A": letters["A"] * 0.25,
            "B": letters["B"] * 0.5,
            "B)": letters["B"] * 0.5,
            "The": 1.0 - letters["A"] - letters["B"],
        }
        top = [
            {"token": t, "logprob": math.log(p), "bytes": list(t.encode())}
            for t, p in sorted(dist.items(), key=lambda kv: -kv[1])
        ]
        return 200, {}, completion(body["model"], top[: body.get("top_logprobs", 20)])
