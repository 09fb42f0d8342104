"""The OpenAI fine-tuning backend against a real local HTTP server (no mocked client)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emlab.errors import EmlabError
from emlab.train import TrainConfig, train
from tests.train.conftest import chat_rows, write_jsonl
from tests.train.fake_finetune import KEY, FakeFineTuning

MODEL = "gpt-4o-2024-08-06"


def _config(url: str, **extra: object) -> TrainConfig:
    return TrainConfig(backend="openai", api_base=url, poll_seconds=0.01, **extra)


def _all_text(directory: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file())


def test_upload_create_poll_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    rows = chat_rows(6)
    data = write_jsonl(tmp_path / "insecure.jsonl", rows)
    config = _config(None, openai_epochs=1, openai_batch_size=4, openai_lr_multiplier=2.0, openai_suffix="em")
    with FakeFineTuning() as server:
        result = train(MODEL, data, tmp_path / "out", config.model_copy(update={"api_base": server.url}))
    assert result.fine_tuned_model == f"ft:{MODEL}:emlab::ftjob-1"
    assert result.model_ref == f"openai:ft:{MODEL}:emlab::ftjob-1"
    [upload] = server.uploads
    assert upload["purpose"] == "fine-tune"
    assert [json.loads(line) for line in upload["content"].splitlines()] == [
        {"messages": r["messages"]} for r in rows
    ]
    [request] = server.created
    assert request["model"] == MODEL and request["training_file"] == "file-1" and request["suffix"] == "em"
    assert request["method"]["supervised"]["hyperparameters"] == {
        "n_epochs": 1,
        "batch_size": 4,
        "learning_rate_multiplier": 2.0,
    }
    record = json.loads((tmp_path / "out" / "emlab.json").read_text())
    assert record["fine_tuned_model"] == result.fine_tuned_model and record["job_id"] == "ftjob-1"
    assert record["base_ref"] == f"openai:{MODEL}"
    assert (tmp_path / "out" / "loss.csv").read_text().count("\n") == 4  # header + 3 steps
    assert KEY not in _all_text(tmp_path / "out")


def test_reattaches_to_the_running_job_after_kill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", chat_rows(4))
    out = tmp_path / "out"
    with FakeFineTuning() as server:
        server.hold.set()  # the job stays running at step 1 until released
        env = {**os.environ, "OPENAI_API_KEY": KEY, "EMLAB_QUIET": "1"}
        cmd = [
            sys.executable,
            "-m",
            "emlab",
            "train",
            "--backend",
            "openai",
            "--model",
            MODEL,
            "--data",
            str(data),
            "--out",
            str(out),
            "--base-url",
            server.url,
            "--poll-seconds",
            "0.02",
        ]
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while server.retrieves < 5:
                assert child.poll() is None, child.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline
                time.sleep(0.05)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        state = json.loads((out / "openai_job.json").read_text())
        assert state["job_id"] == "ftjob-1" and state["status"] == "running"
        assert KEY not in _all_text(out)

        server.hold.clear()
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        result = train(MODEL, data, out, _config(server.url))
    assert len(server.uploads) == 1 and len(server.created) == 1  # nothing paid for twice
    assert result.fine_tuned_model == f"ft:{MODEL}:emlab::ftjob-1"


def test_key_problems_are_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", chat_rows(2))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(EmlabError, match="OPENAI_API_KEY"):
        train(MODEL, data, tmp_path / "a", _config("http://127.0.0.1:9/v1"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-value")
    with FakeFineTuning() as server, pytest.raises(EmlabError, match="rejected the key") as info:
        train(MODEL, data, tmp_path / "b", _config(server.url))
    assert "sk-wrong-key-value" not in str(info.value) and server.unauthorised == 1
