"""A real OpenAI-compatible judge server on 127.0.0.1 for the interp tests.

It scores by content, deterministically: rubric prompts that mention coherence get 90; any other
prompt gets ``sha256(prompt) mod 101``, so scores vary across answers the way a judge's would.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def score_for(prompt: str) -> int:
    """The score this server gives ``prompt``."""
    if "coheren" in prompt.lower():
        return 90
    return int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 101


class JudgeServer:
    """Chat completions with logprobs: all the probability mass on the score's token."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                server.prompts.append(prompt)
                token = str(score_for(prompt))
                entry = {"token": token, "logprob": 0.0, "top_logprobs": [{"token": token, "logprob": 0.0}]}
                payload = {
                    "choices": [
                        {"message": {"role": "assistant", "content": token}, "logprobs": {"content": [entry]}}
                    ]
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> JudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
