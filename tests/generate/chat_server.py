"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for the API sampler tests.

It answers deterministically from the request, counts requests in flight at once, and can
inject failures: ``fail_plan`` maps a user message to the list of (status, headers) replies
to give before a good one.
"""

from __future__ import annotations

import json
import threading
import time
from email.message import Message
from typing import Any

from tests.fake_openai_server import LoopbackJsonServer


class ChatServer(LoopbackJsonServer):
    """Run with ``with ChatServer() as server: server.url``."""

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.fail_plan: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.echo_auth_status: int | None = None  # reply with this status, echoing the auth header
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict[str, Any]] = []  # body, auth header, time, status
        self._lock = threading.Lock()
        super().__init__()

    def handle(
        self, method: str, path: str, headers: Message, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Count the request in flight, wait ``delay_s``, then reply (recording what came in)."""
        request = json.loads(body)
        auth = headers.get("Authorization")
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            status, reply_headers, payload = self._reply(path, request, auth)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.requests.append({"body": request, "auth": auth, "time": time.time(), "status": status})
        return status, reply_headers, payload

    def _reply(self, path: str, body: dict[str, Any], auth: str | None) -> tuple[int, dict[str, str], Any]:
        if path != "/v1/chat/completions":
            return 404, {}, {"error": {"message": f"no route {path}"}}
        if self.echo_auth_status is not None:
            return self.echo_auth_status, {}, {"error": {"message": f"bad credentials: {auth}"}}
        user = body["messages"][-1]["content"]
        with self._lock:
            plan = self.fail_plan.get(user)
            failure = plan.pop(0) if plan else None
        if failure is not None:
            status, headers = failure
            return status, headers, {"error": {"message": "injected failure"}}
        system = next((m["content"] for m in body["messages"] if m["role"] == "system"), None)
        text = f"answer to {user!r} seed={body.get('seed')} t={body.get('temperature')} system={system!r}"
        return (
            200,
            {},
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body["model"] + "-served",
                "system_fingerprint": "fp_test",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()), "total_tokens": 0},
            },
        )
