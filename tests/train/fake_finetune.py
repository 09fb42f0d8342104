"""A real HTTP server on 127.0.0.1 implementing the OpenAI files + fine_tuning/jobs endpoints, for tests.

A job moves validating_files → queued → running → succeeded one status per retrieve, emitting a
metrics event per running poll; while ``hold`` is set it stays running (to interrupt a client there).
"""

from __future__ import annotations

import email.parser
import json
import threading
from email.message import Message
from typing import Any
from urllib.parse import urlparse

from tests.fake_openai_server import LoopbackJsonServer

KEY = "sk-test-emlab-secret"


class FakeFineTuning(LoopbackJsonServer):
    """Serves /v1/files and /v1/fine_tuning/jobs[/ID[/events]] and records what it received."""

    methods = ("GET", "POST")

    def __init__(self, total_steps: int = 3) -> None:
        self.total_steps = total_steps
        self.hold = threading.Event()
        self.uploads: list[dict[str, Any]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.created: list[dict[str, Any]] = []
        self.retrieves = 0
        self.unauthorised = 0
        self._lock = threading.Lock()
        super().__init__()

    def handle(
        self, method: str, path: str, headers: Message, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Check the key, then route to ``post`` or ``get``."""
        if headers.get("Authorization") != f"Bearer {KEY}":
            self.unauthorised += 1
            return 401, {}, {"error": {"message": "Incorrect API key provided"}}
        with self._lock:
            if method == "POST":
                status, payload = self.post(urlparse(path).path, headers, body)
            else:
                status, payload = self.get(urlparse(path).path)
        return status, {}, payload

    def post(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        """Handle file uploads (multipart) and job creation."""
        if path == "/v1/files":
            message = email.parser.BytesParser().parsebytes(
                b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body
            )
            fields = {
                part.get_param("name", header="content-disposition"): part for part in message.get_payload()
            }
            content = fields["file"].get_payload(decode=True)
            file_id = f"file-{len(self.uploads) + 1}"
            self.uploads.append(
                {"id": file_id, "purpose": fields["purpose"].get_payload(), "content": content.decode()}
            )
            return 200, {"id": file_id, "object": "file", "purpose": "fine-tune", "bytes": len(content)}
        if path == "/v1/fine_tuning/jobs":
            request = json.loads(body)
            if request.get("training_file") not in {u["id"] for u in self.uploads}:
                return 400, {"error": {"message": "invalid training_file"}}
            job_id = f"ftjob-{len(self.jobs) + 1}"
            self.created.append(request)
            self.jobs[job_id] = {
                "id": job_id,
                "object": "fine_tuning.job",
                "model": request["model"],
                "training_file": request["training_file"],
                "status": "validating_files",
                "fine_tuned_model": None,
                "method": request.get("method"),
                "step": 0,
            }
            self.events[job_id] = [self._event(job_id, "message", "Validating training file")]
            return 200, self._public(self.jobs[job_id])
        return 404, {"error": {"message": f"no route {path}"}}

    def get(self, path: str) -> tuple[int, Any]:
        """Handle job listing, retrieval (which advances the job) and events."""
        parts = path.strip("/").split("/")
        if parts == ["v1", "fine_tuning", "jobs"]:
            return 200, {"object": "list", "data": [self._public(j) for j in reversed(self.jobs.values())]}
        if len(parts) >= 4 and parts[:3] == ["v1", "fine_tuning", "jobs"] and parts[3] in self.jobs:
            job = self.jobs[parts[3]]
            if len(parts) == 5 and parts[4] == "events":
                return 200, {"object": "list", "data": list(reversed(self.events[job["id"]]))}
            self.retrieves += 1
            self._advance(job)
            return 200, self._public(job)
        return 404, {"error": {"message": f"no route {path}"}}

    def _advance(self, job: dict[str, Any]) -> None:
        order = ["validating_files", "queued", "running"]
        if job["status"] in order[:2]:
            job["status"] = order[order.index(job["status"]) + 1]
            return
        if job["status"] != "running":
            return
        if job["step"] < self.total_steps and not (self.hold.is_set() and job["step"] >= 1):
            job["step"] += 1
            loss = 2.0 / job["step"]
            self.events[job["id"]].append(
                self._event(
                    job["id"],
                    "metrics",
                    f"Step {job['step']}/{self.total_steps}: training loss={loss:.2f}",
                    {"step": job["step"], "total_steps": self.total_steps, "train_loss": loss},
                )
            )
        elif job["step"] >= self.total_steps:
            job["status"] = "succeeded"
            job["fine_tuned_model"] = f"ft:{job['model']}:emlab::{job['id']}"
            job["trained_tokens"] = 1234
            self.events[job["id"]].append(
                self._event(job["id"], "message", "The job has successfully completed")
            )

    def _event(self, job_id: str, kind: str, message: str, data: dict | None = None) -> dict[str, Any]:
        n = sum(len(v) for v in self.events.values()) + 1
        return {
            "id": f"ftevent-{n}",
            "object": "fine_tuning.job.event",
            "created_at": n,
            "type": kind,
            "message": message,
            "data": data or {},
        }

    @staticmethod
    def _public(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if k != "step"}
