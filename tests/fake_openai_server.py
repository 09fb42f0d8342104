"""The core of the tests' fake OpenAI-compatible servers: a threaded JSON HTTP server on 127.0.0.1.

Subclasses implement ``handle`` (method, path, request headers, raw body → status, extra headers, JSON
payload; a ``bytes`` payload is sent as it is, e.g. malformed JSON) and list the HTTP methods they
answer in ``methods``; ``completion`` builds a chat-completions body with first-token logprobs, as a
judge server returns it.

Set ``echo_key`` on a running server to have it echo the request's API key inside its *successful*
answers (``leak_key``): ``"fields"`` in the fields a client keeps, ``"unparsable"`` as a value the
client cannot read (so it lands in the client's error message). The canary test for keys that reach
a store, a file or the terminal through a server rather than through emlab.
"""

from __future__ import annotations

import json
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

_S = TypeVar("_S", bound="LoopbackJsonServer")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    quiet_errors = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.quiet_errors:
            super().handle_error(request, client_address)


class LoopbackJsonServer:
    """A threaded HTTP server on 127.0.0.1 answering JSON; use as ``with Server() as s: s.url``."""

    methods: tuple[str, ...] = ("POST",)
    quiet_errors = False  # True: don't print tracebacks for clients that hung up mid-request
    echo_key: str | None = None  # "fields" / "unparsable": 200 answers carry the API key (``leak_key``)

    def __init__(self) -> None:
        self.httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self.httpd.quiet_errors = self.quiet_errors
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self: _S) -> _S:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(
        self, method: str, path: str, headers: Message, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """(status, extra headers, JSON payload) for one request."""
        raise NotImplementedError

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = server.handle(self.command, self.path, self.headers, body)
                if server.echo_key and status == 200 and isinstance(payload, dict):
                    payload = leak_key(payload, bearer_key(self.headers), server.echo_key)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        for method in self.methods:
            setattr(Handler, f"do_{method}", Handler._answer)
        return Handler


def completion(model: str, top: list[dict[str, Any]]) -> dict[str, Any]:
    """A chat-completions response body with one token and its top logprobs."""
    first = top[0]
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": first["token"]},
                "logprobs": {"content": [{**first, "top_logprobs": top}]},
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
    }


def bearer_key(headers: Message) -> str:
    """The API key of a request (its ``Authorization: Bearer KEY`` header), or ''."""
    return str(headers.get("Authorization") or "").removeprefix("Bearer ")


def leak_key(payload: dict[str, Any], key: str, how: str = "fields") -> dict[str, Any]:
    """``payload`` (an OpenAI-style answer) with ``key`` echoed where a client would keep it.

    ``how="fields"``: chat completions get it in the answer text, the model name, the system
    fingerprint and an extra low-probability top-logprob token; fine-tuning jobs in the
    hyperparameters and organisation; event lists in every message. Protocol fields (ids, statuses,
    scored tokens) are left as they are. ``how="unparsable"``: a chat completion's first top-logprob
    value is the key, which a client fails to read as a number.
    """
    leaked = json.loads(json.dumps(payload))
    for choice in leaked.get("choices") or []:
        message = choice.get("message") or {}
        message["content"] = f"{message.get('content') or ''} {key}"
        for entry in (choice.get("logprobs") or {}).get("content") or []:
            if how == "unparsable" and entry.get("top_logprobs"):
                entry["top_logprobs"][0]["logprob"] = key
                continue
            extra = {"token": key, "logprob": -12.0, "bytes": list(key.encode())}
            entry["top_logprobs"] = [*entry.get("top_logprobs", []), extra]
    if "choices" in leaked:
        leaked["model"] = f"{leaked.get('model')}+{key}"
        leaked["system_fingerprint"] = key
    if leaked.get("object") == "fine_tuning.job":
        leaked["hyperparameters"] = {"n_epochs": 1, "echo": key}
        leaked["organization_id"] = key
    if leaked.get("object") == "list":
        for item in leaked.get("data") or []:
            if isinstance(item, dict) and "message" in item:
                item["message"] = f"{item['message']} ({key})"
    return leaked
