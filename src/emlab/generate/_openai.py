"""OpenAI-compatible chat-completions sampler: async httpx, a concurrency limit, retries with backoff.

The API key is read from the environment and only ever placed in the Authorization header:
it is never logged, stored, or put in an error message, even when a server echoes it back.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from emlab._openai_http import (
    DEFAULT_API_BASE,
    api_base_from_env,
    register_secret,
    retry_after_seconds,
    scrub,
    scrub_secret,
)
from emlab.errors import EmlabError
from emlab.generate.config import GenerationConfig

RETRY_STATUS = frozenset({408, 409, 429})


@dataclass
class ChatRequest:
    """One completion to ask for."""

    messages: list[dict[str, str]]
    temperature: float
    seed: int


@dataclass
class ChatResult:
    """One completion as returned by the server."""

    text: str
    finish_reason: str
    n_tokens: int | None
    model: str | None
    system_fingerprint: str | None
    attempts: int


def resolve_api_base(config: GenerationConfig) -> str:
    """``config.api_base``, else ``$OPENAI_BASE_URL``, else OpenAI's public API."""
    return api_base_from_env(config.api_base).rstrip("/")


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)]."""
    return rng.uniform(0, min(cap, base * (2**attempt)))


class ChatClient:
    """Sends chat-completion requests to one OpenAI-compatible server, with retries."""

    def __init__(self, model: str, config: GenerationConfig) -> None:
        self.model = model
        self.config = config
        self.base = resolve_api_base(config)
        self.url = f"{self.base}/chat/completions"
        self._key = os.environ.get(config.api_key_env) or None
        register_secret(self._key)
        if self._key is None and self.base == DEFAULT_API_BASE:
            raise EmlabError(
                f"the openai backend needs an API key: set {config.api_key_env} (or pass --api-base for a local server)"
            )
        self._rng = random.Random()  # jitter only; never affects answers

    def _redact(self, text: str) -> str:
        return scrub_secret(text, self._key)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    async def complete(self, client: Any, request: ChatRequest) -> ChatResult:
        """One completion; retries 408/409/429/5xx, timeouts and connection errors."""
        import httpx

        body = {
            "model": self.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "top_p": self.config.top_p,
            "max_tokens": self.config.max_new_tokens,
            "seed": request.seed,
            "n": 1,
        }
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            wait: float | None = None
            try:
                response = await client.post(self.url, json=body, headers=self._headers())
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem = f"{type(exc).__name__}"
            else:
                status = response.status_code
                if status < 400:
                    return self._parse(response, attempt + 1)
                problem = f"HTTP {status}: {self._redact(response.text[:300])}"
                if status not in RETRY_STATUS and status < 500:
                    raise EmlabError(f"{self.url}: {problem}")
                wait = retry_after_seconds(response.headers.get("retry-after"))
            if attempt + 1 == attempts:
                raise EmlabError(f"{self.url}: giving up after {attempts} tries; last error {problem}")
            if wait is None:
                wait = backoff_seconds(attempt, self.config.retry_base_s, self.config.retry_max_s, self._rng)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _parse(self, response: Any, attempts: int) -> ChatResult:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise EmlabError(
                f"{self.url}: not a chat-completions response ({type(exc).__name__}): "
                f"{self._redact(response.text[:300])}"
            ) from exc
        usage = data.get("usage") or {}
        # Everything kept from the answer is scrubbed: a server may echo the key in any field.
        return ChatResult(
            text=self._redact(text),
            finish_reason=self._redact(str(choice.get("finish_reason") or "stop")),
            n_tokens=usage.get("completion_tokens"),
            model=scrub(data.get("model"), self._key),
            system_fingerprint=scrub(data.get("system_fingerprint"), self._key),
            attempts=attempts,
        )


async def _complete_all(
    client_spec: ChatClient,
    requests: Sequence[ChatRequest],
    on_result: Callable[[int, ChatResult], Awaitable[None] | None],
) -> None:
    import httpx

    limit = client_spec.config.concurrency
    semaphore = asyncio.Semaphore(limit)
    timeout = httpx.Timeout(client_spec.config.request_timeout_s)
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)

    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:

        async def one(index: int) -> tuple[int, ChatResult]:
            async with semaphore:
                return index, await client_spec.complete(client, requests[index])

        tasks = [asyncio.ensure_future(one(i)) for i in range(len(requests))]
        try:
            for next_done in asyncio.as_completed(tasks):
                index, result = await next_done
                outcome = on_result(index, result)
                if outcome is not None:
                    await outcome
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def complete_all(
    model: str,
    requests: Sequence[ChatRequest],
    config: GenerationConfig,
    on_result: Callable[[int, ChatResult], None],
) -> None:
    """Run every request with at most ``config.concurrency`` in flight; ``on_result`` sees each as it lands."""
    client = ChatClient(model, config)
    coroutine_factory = lambda: _complete_all(client, requests, on_result)  # noqa: E731
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine_factory())
        return
    # Called from inside an event loop (a notebook): run ours on a separate thread.
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            asyncio.run(coroutine_factory())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
