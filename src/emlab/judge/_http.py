"""Judge through any OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp, Ollama)."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from emlab._openai_http import register_secret, scrub, scrub_secret
from emlab._openai_http import retry_after_seconds as _retry_after_seconds
from emlab.errors import EmlabError
from emlab.judge._base import OnScore, Score, judge_name
from emlab.judge._score import expected_score, numeric_distribution
from emlab.judge.config import JudgeConfig

METHOD = "first_token_logprobs"
_RETRY_STATUS = {408, 409, 425, 429}
_FATAL_STATUS = {401, 403, 404}
_MAX_RETRY_AFTER_S = 300.0


class HttpJudge:
    """First-token logprob judge over HTTP: async, bounded concurrency, retries with backoff."""

    def __init__(self, model: str, url: str, config: JudgeConfig) -> None:
        self.model = model
        self.url = url.rstrip("/")
        self.config = config
        self.name = judge_name(config)
        key_env = config.api_key_env or (
            "OPENAI_API_KEY" if config.judge.startswith("openai:") else "EMLAB_JUDGE_API_KEY"
        )
        self._key = os.environ.get(key_env) or None
        register_secret(self._key)
        if self._key is None and "api.openai.com" in self.url:
            raise EmlabError(f"judge {self.name}: set {key_env} to use the OpenAI API")
        self.calls = 0
        self.retries = 0
        self.settings: dict[str, Any] = {
            "backend": "http",
            "model": model,
            "url": self.url,
            "max_tokens": 1,
            "temperature": 0,
            "top_logprobs": config.top_logprobs,
            "seed": config.seed,
            "min_mass": config.min_mass,
            "method": METHOD,
        }

    def score_prompts(
        self, prompts: Sequence[str | list[dict[str, str]]], on_score: OnScore | None = None
    ) -> list[Score]:
        """Score ``prompts`` (a user turn, or a whole message list) concurrently; ``on_score`` runs as each finishes."""
        return asyncio.run(self._score_all(list(prompts), on_score))

    def close(self) -> None:
        """Nothing to release: each ``score_prompts`` call owns its client."""

    async def _score_all(self, prompts: list[Any], on_score: OnScore | None) -> list[Score]:
        import httpx

        results: list[Score | None] = [None] * len(prompts)
        semaphore = asyncio.Semaphore(self.config.concurrency)
        limits = httpx.Limits(max_connections=self.config.concurrency)
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        async with httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=self.config.timeout_s, limits=limits
        ) as client:

            async def one(index: int) -> None:
                async with semaphore:
                    score = self._scrubbed(await self._score_one(client, prompts[index]))
                results[index] = score
                if on_score is not None:
                    on_score(index, score)

            tasks = [asyncio.create_task(one(i)) for i in range(len(prompts))]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                raise
        return [r for r in results if r is not None]

    def _payload(self, prompt: str | list[dict[str, str]]) -> dict[str, Any]:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        return {
            "model": self.model,
            "messages": messages,
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": self.config.top_logprobs,
            "seed": self.config.seed,
        }

    async def _score_one(self, client: Any, prompt: str | list[dict[str, str]]) -> Score:
        import httpx

        reason = "no attempt made"
        for attempt in range(self.config.max_retries + 1):
            retry_after: float | None = None
            try:
                self.calls += 1
                response = await client.post("/chat/completions", json=self._payload(prompt))
            except httpx.TimeoutException:
                reason = f"timeout after {self.config.timeout_s:g} s"
            except httpx.TransportError as exc:
                reason = f"connection error: {type(exc).__name__}"
            else:
                status = response.status_code
                if status == 200:
                    return self._parse(response)
                body = self._scrub(response.text[:300])
                if status in _FATAL_STATUS:
                    raise EmlabError(f"judge {self.name} at {self.url}: HTTP {status}: {body}")
                reason = f"HTTP {status}: {body}"
                if status not in _RETRY_STATUS and status < 500:
                    return Score(None, METHOD, error=reason, retryable=False)
                retry_after = _retry_after_seconds(response.headers.get("retry-after"))
            if attempt == self.config.max_retries:
                break
            self.retries += 1
            delay = min(self.config.max_backoff_s, self.config.backoff_s * 2**attempt)
            delay *= random.uniform(0.5, 1.5)  # nosec B311 - jitter spreads out clients that failed together
            if retry_after is not None:  # the server says when to come back
                delay = min(retry_after, _MAX_RETRY_AFTER_S)
            await asyncio.sleep(delay)
        return Score(
            None,
            METHOD,
            error=f"failed after {self.config.max_retries + 1} attempts: {reason}",
            retryable=True,
        )

    def _parse(self, response: Any) -> Score:
        try:
            data = response.json()
            logprobs_field = data["choices"][0].get("logprobs")
            if not logprobs_field:
                return Score(
                    None,
                    METHOD,
                    error="server returned no logprobs (does it support logprobs / top_logprobs?)",
                )
            content = logprobs_field["content"]
            top = content[0]["top_logprobs"] if content else []
            logprobs: dict[str, float] = {}
            for entry in top:
                token, logprob = str(entry["token"]), float(entry["logprob"])
                # Two entries can decode to one string (byte-level variants): add their probabilities.
                logprobs[token] = float(np.logaddexp(logprob, logprobs.get(token, float("-inf"))))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return Score(None, METHOD, error=f"unreadable response ({type(exc).__name__}: {exc})")
        score, mass = expected_score(numeric_distribution(logprobs), min_mass=self.config.min_mass)
        error = None if score is not None else f"numeric probability mass {mass:.3g} < {self.config.min_mass}"
        return Score(score, METHOD, numeric_mass=mass, error=error, raw={"top_logprobs": logprobs})

    def _scrub(self, text: str) -> str:
        return scrub_secret(text, self._key)

    def _scrubbed(self, score: Score) -> Score:
        # A server may echo the key even in a 200 answer (a token, a value that fails to parse).
        score.error = scrub(score.error, self._key)
        score.raw = scrub(score.raw, self._key)
        return score
