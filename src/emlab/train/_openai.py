"""The OpenAI fine-tuning backend over plain HTTP (httpx): upload, create the job, poll, record the model id.

A state file in the output directory records the uploaded file and the job as soon as each exists, so
an interrupted command re-attaches to its job instead of paying for a second one. The API key is read
from ``OPENAI_API_KEY`` only and never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from emlab._openai_http import api_base_from_env, register_secret, scrub
from emlab.console import info, is_quiet
from emlab.errors import EmlabError
from emlab.train._result import TrainResult
from emlab.train.config import TrainConfig

STATE_FILE = "openai_job.json"
TERMINAL = {"succeeded", "failed", "cancelled"}


class OpenAIFineTuning:
    """A minimal client for the files and fine_tuning/jobs endpoints."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0, retries: int = 4) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self._key = api_key
        register_secret(api_key)
        self._http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    problem = scrub(f"{exc.__class__.__name__}: {exc}", self._key)
                    raise EmlabError(f"{self.base_url}{path}: {problem}") from exc
            else:
                if response.status_code in (429, 500, 502, 503, 504) and attempt < self.retries:
                    pass
                elif response.status_code in (401, 403):
                    raise EmlabError(
                        f"{self.base_url}{path}: the API rejected the key in OPENAI_API_KEY "
                        f"(HTTP {response.status_code})"
                    )
                elif response.status_code >= 400:
                    problem = scrub(_error_text(response), self._key)
                    raise EmlabError(f"{self.base_url}{path}: HTTP {response.status_code}: {problem}")
                else:
                    # What the API answers goes into the state file, emlab.json and the terminal: a
                    # server that echoes the key must not put it there.
                    return scrub(response.json(), self._key)
            time.sleep(min(30.0, 0.5 * 2**attempt))
        raise AssertionError("unreachable")

    def upload(self, name: str, content: bytes) -> dict[str, Any]:
        """Upload a training file (purpose fine-tune)."""
        files = {"file": (name, content, "application/jsonl")}
        return self._request("POST", "/files", files=files, data={"purpose": "fine-tune"})

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a fine-tuning job."""
        return self._request("POST", "/fine_tuning/jobs", json=body)

    def list_jobs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent fine-tuning jobs."""
        return list(self._request("GET", "/fine_tuning/jobs", params={"limit": limit}).get("data", []))

    def job(self, job_id: str) -> dict[str, Any]:
        """One job's current state."""
        return self._request("GET", f"/fine_tuning/jobs/{job_id}")

    def events(self, job_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """A job's recent events, oldest first."""
        data = self._request("GET", f"/fine_tuning/jobs/{job_id}/events", params={"limit": limit})
        return sorted(data.get("data", []), key=lambda e: (e.get("created_at", 0), str(e.get("id"))))


def _error_text(response: Any) -> str:
    try:
        body = response.json()
        return str(body.get("error", {}).get("message") or body)[:300]
    except ValueError:
        return response.text[:300]


def _training_file(data_path: Path) -> bytes:
    """The dataset as validated, normalised chat JSONL (what OpenAI accepts)."""
    from emlab.data import read_chat_jsonl

    examples = read_chat_jsonl(data_path, training=True)
    if not examples:
        raise EmlabError(f"{data_path}: no training examples")
    lines = [json.dumps({"messages": ex.as_dicts()}, ensure_ascii=False) for ex in examples]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _hyperparameters(config: TrainConfig) -> dict[str, Any]:
    pairs = {
        "n_epochs": config.openai_epochs,
        "batch_size": config.openai_batch_size,
        "learning_rate_multiplier": config.openai_lr_multiplier,
    }
    return {k: v for k, v in pairs.items() if v != "auto"}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


def train_openai(
    model_ref: str,
    data_path: str | Path,
    out_dir: str | Path,
    config: TrainConfig,
    *,
    resume: bool = False,
) -> TrainResult:
    """Fine-tune an OpenAI model on ``data_path``; re-attaches to the job recorded in ``out_dir``."""
    started = time.perf_counter()
    api_key = os.environ.get("OPENAI_API_KEY", "")
    if not api_key:
        raise EmlabError("the OpenAI backend needs an API key in the environment variable OPENAI_API_KEY")
    base_url = api_base_from_env(config.api_base)
    model = model_ref.removeprefix("openai:")
    data_path = Path(data_path)
    if not data_path.is_file():
        raise EmlabError(f"{data_path}: no such data file")
    content = _training_file(data_path)
    upload_sha = hashlib.sha256(content).hexdigest()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_FILE
    body: dict[str, Any] = {
        "model": model,
        "method": {"type": "supervised", "supervised": {"hyperparameters": _hyperparameters(config)}},
        "seed": config.seed,
    }
    if config.openai_suffix:
        body["suffix"] = config.openai_suffix
    state: dict[str, Any] = {}
    if state_path.is_file():
        state = json.loads(state_path.read_text())
        if state.get("model") != model or state.get("upload_sha256") != upload_sha:
            raise EmlabError(
                f"{state_path}: records a job for another model or dataset; choose another --out"
            )
        if state.get("status") == "succeeded" and not resume:
            raise EmlabError(f"{out}: already holds a finished fine-tune ({state.get('fine_tuned_model')})")
        info(f"re-attaching to {state.get('job_id') or 'the uploaded file'} recorded in {state_path}")
    else:
        state = {"base_url": base_url, "model": model, "upload_sha256": upload_sha, "request": body}
        _save_state(state_path, state)

    client = OpenAIFineTuning(base_url, api_key)
    try:
        if not state.get("file_id"):
            uploaded = client.upload(data_path.name, content)
            state["file_id"] = uploaded["id"]
            _save_state(state_path, state)
            info(f"uploaded {data_path.name} as {uploaded['id']}")
        if not state.get("job_id"):
            # A crash between creating the job and saving its id must not create a second (paid) job.
            existing = [j for j in client.list_jobs() if j.get("training_file") == state["file_id"]]
            job = existing[0] if existing else client.create_job({**body, "training_file": state["file_id"]})
            state["job_id"] = job["id"]
            state["status"] = job.get("status")
            _save_state(state_path, state)
            info(f"fine-tuning job {job['id']} ({job.get('status')})")
        job = _poll(client, state, state_path, config.poll_seconds)
    finally:
        client.close()

    if job.get("status") != "succeeded":
        error = (job.get("error") or {}).get("message") or job.get("status")
        raise EmlabError(f"OpenAI fine-tuning job {state['job_id']} ended {job.get('status')}: {error}")
    rows = state.get("metrics", [])
    _write_metrics(rows, out)
    from emlab.provenance import file_sha256, package_versions

    provenance = {
        "kind": "openai-model",
        "base_ref": f"openai:{model}",
        "model_ref": f"openai:{job['fine_tuned_model']}",
        "fine_tuned_model": job["fine_tuned_model"],
        "job_id": state["job_id"],
        "training_file": state["file_id"],
        "base_url": base_url,
        "dataset": {
            "path": str(data_path.resolve()),
            "sha256": file_sha256(data_path),
            "upload_sha256": upload_sha,
        },
        "config": config.model_dump(mode="json"),
        "request": body,
        "hyperparameters": job.get("hyperparameters") or (job.get("method") or {}),
        "trained_tokens": job.get("trained_tokens"),
        "wall_seconds": time.perf_counter() - started,
        "package_versions": package_versions(),
        "created_at": time.time(),
    }
    (out / "emlab.json").write_text(json.dumps(provenance, indent=2, default=str))
    return TrainResult(
        out_dir=out,
        base_ref=f"openai:{model}",
        steps=int(rows[-1]["step"]) if rows else 0,
        train_loss=rows[-1].get("loss") if rows else None,
        tokens=int(job.get("trained_tokens") or 0),
        wall_seconds=provenance["wall_seconds"],
        fine_tuned_model=job["fine_tuned_model"],
        provenance=provenance,
    )


def _poll(client: OpenAIFineTuning, state: dict[str, Any], state_path: Path, every: float) -> dict[str, Any]:
    """Poll the job until it ends, showing its events and step progress."""
    from emlab.console import progress

    seen: set[str] = set(state.get("events_seen", []))
    metrics: dict[int, dict[str, Any]] = {int(r["step"]): r for r in state.get("metrics", [])}
    shown = max(metrics, default=0)
    with progress(f"openai {state['job_id']}", total=None, unit="steps") as bar:
        bar.advance(shown)
        while True:
            job = client.job(state["job_id"])
            for event in client.events(state["job_id"]):
                event_id = str(event.get("id"))
                if event_id in seen:
                    continue
                seen.add(event_id)
                data = event.get("data") or {}
                if event.get("type") == "metrics" and "step" in data:
                    step = int(data["step"])
                    metrics[step] = {"step": step, "loss": data.get("train_loss")}
                    if step > shown:
                        bar.advance(step - shown)
                        shown = step
                elif event.get("message") and not is_quiet():
                    info(f"  {event['message']}")
            status = job.get("status")
            bar.set_description(f"openai {state['job_id']} {status}")
            state.update(
                status=status,
                fine_tuned_model=job.get("fine_tuned_model"),
                events_seen=sorted(seen),
                metrics=[metrics[s] for s in sorted(metrics)],
            )
            _save_state(state_path, state)
            if status in TERMINAL:
                return job
            time.sleep(every)


def _write_metrics(rows: list[dict[str, Any]], out: Path) -> None:
    from emlab.train._curves import plot_loss, write_loss_csv

    history = [{"step": r["step"], "loss": r["loss"]} for r in rows if r.get("loss") is not None]
    written = write_loss_csv(history, out / "loss.csv")
    if written:
        plot_loss(written, out / "loss.png", "OpenAI fine-tuning")
