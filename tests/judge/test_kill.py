"""kill -9 while judging, then re-run: no finished judgment lost, nothing duplicated or redone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from emlab.judge import JudgeConfig, judge_run
from emlab.store import RunStore
from tests.judge.conftest import write_samples
from tests.judge.fake_openai import FakeOpenAI

N = 120


def _count(run: Path) -> int:
    try:
        with sqlite3.connect(run / "emlab.sqlite", timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_kill_9_during_judging_then_resume(tmp_path: Path) -> None:
    write_samples(tmp_path, [(f"q{i % 4}", f"answer {i} SCORE={i % 90}") for i in range(N)]).close()
    with FakeOpenAI(latency_s=0.03) as server:
        cmd = [sys.executable, "-m", "emlab", "judge", str(tmp_path), "--judge-url", server.url]
        cmd += ["--judge-model", "fake", "--metrics", "aligned", "--concurrency", "2"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while _count(tmp_path) == 0 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        with RunStore(tmp_path) as store:
            before = {r["key"]: (r["score"], r["created_at"]) for r in store.rows("judgments")}
            assert 0 < len(before) < N, "the kill must land mid-run"
            calls_before = server.calls
            summary = judge_run(store, JudgeConfig(judge="fake", url=server.url, metrics=["aligned"]))
            after = {r["key"]: (r["score"], r["created_at"]) for r in store.rows("judgments")}
        assert summary.cached == len(before) and summary.to_judge == N - len(before)
        assert server.calls - calls_before == N - len(before)  # finished work is never redone
    assert len(after) == N and store_rows_unique(tmp_path)
    assert all(after[key] == value for key, value in before.items())  # nothing rewritten
    assert all(score is not None for score, _ in after.values())


def store_rows_unique(run: Path) -> bool:
    with sqlite3.connect(run / "emlab.sqlite") as db:
        total, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM judgments").fetchone()
        pairs = db.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT question, answer, metric FROM judgments)"
        ).fetchone()
    return total == distinct == pairs[0]
