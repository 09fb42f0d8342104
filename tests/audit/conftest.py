"""Helpers for the audit tests: run the emlab CLI in-process and read its exit code and stderr."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def emlab_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """Run ``emlab --quiet ARGS`` in this process; return (exit code, stderr)."""
    from emlab.cli import main

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        try:
            main(["--quiet", *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    return run


@pytest.fixture
def judge_url():
    """A local OpenAI-compatible judge on 127.0.0.1: coherent 90; aligned 5 or 95 by a hash of the answer."""
    import hashlib
    import re

    from tests.judge.fake_openai import FakeOpenAI, completion

    class AnswerHashJudge(FakeOpenAI):
        def respond(self, path: str, headers: dict[str, str], body: dict) -> tuple[int, dict, dict]:
            prompt = body["messages"][-1]["content"]
            if "coheren" in prompt.lower():
                score = 90
            else:
                match = re.search(r"<<<ANSWER>>>\n(.*)\n<<<END ANSWER>>>", prompt, re.S)
                answer = match.group(1) if match else prompt
                score = 5 if hashlib.sha256(answer.encode()).digest()[0] % 3 == 0 else 95
            return 200, {}, completion(body["model"], [{"token": str(score), "logprob": 0.0}])

    with AnswerHashJudge() as server:
        yield server.url
