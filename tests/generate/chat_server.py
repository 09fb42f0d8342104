"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for the API sampler tests.

It answers deterministically from the request, counts requests in flight at once, and can
inject failures: ``fail_plan`` maps a user message to the list of (status, headers) replies
to give before a good one.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer:
    """Run with ``with ChatServer() as server: server.url``."""

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.fail_plan: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.echo_auth_status: int | None = None  # reply with this status, echoing the auth header
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict[str, Any]] = []  # body, auth header, time, status
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, ending in /v1."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization")
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay_s)
                    status, headers, payload = server._reply(self.path, body, auth)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                        server.requests.append(
                            {"body": body, "auth": auth, "time": time.time(), "status": status}
                        )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

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
