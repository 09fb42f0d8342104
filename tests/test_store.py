"""The run store: idempotent batched writes, schema versioning, export, and crash safety under kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from emlab.errors import EmlabError, SchemaError
from emlab.store import SCHEMA_VERSION, RunStore


def _sample(key: str, **extra: object) -> dict:
    return {"key": key, "model": "m", "question_id": "q", "question": "Q?", "answer": f"A {key}", **extra}


def test_put_is_idempotent_and_json_round_trips(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    assert store.put("samples", [_sample("a", settings={"t": 1.0}), _sample("b")]) == 2
    assert store.put("samples", [_sample("a"), _sample("c")]) == 1  # 'a' exists: skipped
    assert store.count("samples") == 3
    assert store.rows("samples", key="a")[0]["settings"] == {"t": 1.0}
    assert store.existing_keys("samples", ["a", "z", "c"]) == {"a", "c"}
    store.put_result("r1", "p_misaligned", [{"p": 0.5}], {"min_coherence": 50})
    assert store.result("r1") == [{"p": 0.5}]
    store.put_result("r1", "p_misaligned", [{"p": 0.25}])
    assert store.result("r1") == [{"p": 0.25}]


def test_wal_mode_and_stage_status(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert store.stage_status("train/insecure/0") is None
    store.set_stage("train/insecure/0", "train", "running")
    store.set_stage("train/insecure/0", "train", "done", seconds=3.5)
    assert store.stage_status("train/insecure/0") == "done"
    assert store.rows("stages")[0]["info"] == {"seconds": 3.5}


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    RunStore(tmp_path).close()
    db = sqlite3.connect(tmp_path / "emlab.sqlite")
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(SchemaError, match="newer emlab"):
        RunStore(tmp_path)


def test_garbage_file_and_missing_run_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SchemaError, match="not a readable emlab store"):
        RunStore(bad)
    with pytest.raises(EmlabError, match="not an emlab run directory"):
        RunStore(tmp_path / "nope", create=False)
    with pytest.raises(EmlabError, match="unknown store table"):
        RunStore(tmp_path / "ok").rows("nonsense")


def test_export_csv_and_parquet(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.put("samples", [_sample(str(i), settings={"i": i}) for i in range(5)])
    csv = pd.read_csv(store.export("samples", tmp_path / "s.csv"))
    parquet = pd.read_parquet(store.export("samples", tmp_path / "s.parquet"))
    assert len(csv) == len(parquet) == 5
    assert list(csv["answer"]) == [f"A {i}" for i in range(5)]
    assert parquet["settings"].iloc[3] == '{"i": 3}'
    with pytest.raises(EmlabError, match=r"csv or \.parquet"):
        store.export("samples", tmp_path / "s.xlsx")


WRITER = """
import sys
from emlab.store import RunStore
store = RunStore(sys.argv[1])
batch = 0
while True:
    rows = [{"key": f"{batch}-{i}", "model": "m", "question_id": str(batch), "question": "q",
             "answer": "x" * 200} for i in range(500)]
    store.put("samples", rows)
    batch += 1
    print(batch, flush=True)
"""


def test_kill_9_mid_batch_loses_no_committed_rows_and_writes_no_partial_batch(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    committed = 0
    deadline = time.time() + 60
    while committed < 5 and time.time() < deadline:
        committed = int(proc.stdout.readline())
    time.sleep(0.05)  # land the kill somewhere inside a later batch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert committed >= 5

    store = RunStore(tmp_path)
    counts = {row["question_id"]: 0 for row in store.iter_rows("samples")}
    for row in store.iter_rows("samples"):
        counts[row["question_id"]] += 1
    assert all(n == 500 for n in counts.values()), "a batch landed partially"
    assert len(counts) >= committed, "a reported commit was lost"
    keys = [row["key"] for row in store.iter_rows("samples")]
    assert len(keys) == len(set(keys))
    # Re-running the same batches writes nothing new.
    rows = [
        {"key": f"0-{i}", "model": "m", "question_id": "0", "question": "q", "answer": "x"}
        for i in range(500)
    ]
    assert store.put("samples", rows) == 0


def test_store_of_schema_1_gains_the_user_content_column(tmp_path: Path) -> None:
    path = tmp_path / "emlab.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute(
        """CREATE TABLE samples (key TEXT PRIMARY KEY, model TEXT NOT NULL, group_name TEXT,
        question_id TEXT NOT NULL, paraphrase_index INTEGER, sample_index INTEGER, system TEXT,
        question TEXT NOT NULL, answer TEXT NOT NULL, finish_reason TEXT, n_tokens INTEGER,
        settings TEXT, created_at REAL)"""
    )
    db.execute(
        "INSERT INTO samples (key, model, question_id, question, answer, settings) VALUES (?, ?, ?, ?, ?, ?)",
        ("old", "m", "q", "Q?", "A", '{"prompt_prefix": "|D| "}'),
    )
    db.commit()
    db.close()
    with RunStore(tmp_path) as store:
        (row,) = store.rows("samples")
        assert row["user_content"] is None and row["settings"] == {"prompt_prefix": "|D| "}
        store.put("samples", [_sample("new", user_content="|D| Q?")])
        assert store.rows("samples", key="new")[0]["user_content"] == "|D| Q?"
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    db.close()
    RunStore(tmp_path).close()  # opening a migrated store again changes nothing
