"""The run store: one SQLite file (WAL mode) per run directory.

Every unit of work has a deterministic key. Writes are batched into transactions with
``INSERT OR IGNORE``, so a batch lands whole or not at all, and writing a finished unit again
is a no-op: a crashed stage re-runs and skips what it already finished. Large tensors live
beside the database as safetensors files; this file holds rows. No known API key is ever written:
every string is scrubbed on the way in (``emlab._openai_http.scrub``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from emlab._openai_http import scrub
from emlab.errors import EmlabError, SchemaError

# 1: first release. 2: samples.user_content (the exact user turn sent, trigger included); a store
# of schema 1 gains the column when opened (its rows read it as NULL; see ``sample_user_turn``).
SCHEMA_VERSION = 2
STORE_FILENAME = "emlab.sqlite"

# table -> (column definitions, JSON-encoded columns). Every table's first column is its key.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "models": (
        """key TEXT PRIMARY KEY, ref TEXT NOT NULL, group_name TEXT, seed INTEGER, base_ref TEXT,
        info TEXT, created_at REAL""",
        ("info",),
    ),
    "samples": (
        """key TEXT PRIMARY KEY, model TEXT NOT NULL, group_name TEXT, question_id TEXT NOT NULL,
        paraphrase_index INTEGER, sample_index INTEGER, system TEXT, question TEXT NOT NULL,
        answer TEXT NOT NULL, finish_reason TEXT, n_tokens INTEGER, settings TEXT, created_at REAL,
        user_content TEXT""",
        ("settings",),
    ),
    "judgments": (
        """key TEXT PRIMARY KEY, judge TEXT NOT NULL, metric TEXT NOT NULL, rubric_hash TEXT NOT NULL,
        question TEXT NOT NULL, answer TEXT NOT NULL, score REAL, method TEXT, numeric_mass REAL,
        error TEXT, raw TEXT, settings TEXT, created_at REAL""",
        ("raw", "settings"),
    ),
    "results": (
        "key TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT, settings TEXT, created_at REAL",
        ("payload", "settings"),
    ),
    "margins": (
        """key TEXT PRIMARY KEY, model TEXT NOT NULL, group_name TEXT, form TEXT NOT NULL,
        pairs_hash TEXT NOT NULL, question_id TEXT NOT NULL, pair_index INTEGER, paraphrase_index INTEGER,
        aligned REAL, misaligned REAL, n_aligned INTEGER, n_misaligned INTEGER, margin REAL,
        p_misaligned REAL, mass REAL, error TEXT, settings TEXT, created_at REAL""",
        ("settings",),
    ),
    "stages": (
        "key TEXT PRIMARY KEY, stage TEXT NOT NULL, status TEXT NOT NULL, info TEXT, updated_at REAL",
        ("info",),
    ),
}

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS samples_model ON samples(model, question_id)",
    "CREATE INDEX IF NOT EXISTS judgments_qa ON judgments(judge, metric, question, answer)",
    "CREATE INDEX IF NOT EXISTS results_kind ON results(kind)",
    "CREATE INDEX IF NOT EXISTS margins_model ON margins(model, question_id)",
)


def store_path(run: str | Path) -> Path:
    """The database file of a run directory (or the file itself when given one)."""
    run = Path(run)
    return run if run.suffix in (".sqlite", ".db") else run / STORE_FILENAME


class RunStore:
    """Rows of one run: models, samples, judgments, results and stage progress."""

    def __init__(self, run: str | Path, *, create: bool = True) -> None:
        self.path = store_path(run)
        if not self.path.exists():
            if not create:
                raise EmlabError(f"{self.path.parent}: not an emlab run directory (no {STORE_FILENAME})")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.run_dir = self.path.parent
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (only power loss can drop the last commit).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            raise SchemaError(f"{self.path}: not a readable emlab store ({exc})") from exc

    def _init_schema(self) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise SchemaError(
                f"{self.path}: written by a newer emlab (store schema {row[0]}, this emlab reads up to "
                f"{SCHEMA_VERSION}); upgrade emlab to open it"
            )
        with self.transaction():
            for table, (columns, _) in TABLES.items():
                self._db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
            self._add_missing_columns()
            for statement in _INDEXES:
                self._db.execute(statement)
            if row is None:
                self._db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?), ('created_at', ?)",
                    (str(SCHEMA_VERSION), str(time.time())),
                )
            elif int(row[0]) < SCHEMA_VERSION:
                self._db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def _add_missing_columns(self) -> None:
        # Columns added since a store was made are nullable, so ALTER TABLE can add them in place.
        for table, (columns, _) in TABLES.items():
            present = {info[1] for info in self._db.execute(f"PRAGMA table_info({table})")}
            for definition in _column_definitions(columns):
                if definition.split()[0] not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {definition}")

    # -- writing ---------------------------------------------------------------------------

    class _Transaction:
        def __init__(self, store: RunStore) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            self.store._db.execute("BEGIN IMMEDIATE")
            return self.store._db

        def __exit__(self, exc_type: object, *_: object) -> None:
            try:
                self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.store._lock.release()

    def transaction(self) -> RunStore._Transaction:
        """A write transaction: everything inside commits together or not at all."""
        return RunStore._Transaction(self)

    def put(self, table: str, rows: Iterable[Mapping[str, Any]], *, replace: bool = False) -> int:
        """Write ``rows`` in one transaction; existing keys are skipped (or replaced). Returns rows written."""
        columns, encoded = self._table(table)
        rows = list(rows)
        if not rows:
            return 0
        names = list(rows[0].keys())
        if "created_at" in columns and "created_at" not in names:
            names.append("created_at")
        if "updated_at" in columns and "updated_at" not in names:
            names.append("updated_at")
        now = time.time()
        values = [
            tuple(
                _encode(row.get(name, now if name in ("created_at", "updated_at") else None), name in encoded)
                for name in names
            )
            for row in rows
        ]
        # No API key is ever stored, whichever server or answer it came back in.
        values = scrub(values)
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        sql = f"{verb} INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(sql, values)
            return db.total_changes - before

    def set_stage(self, key: str, stage: str, status: str, **info: Any) -> None:
        """Record a unit of pipeline progress (``status`` e.g. 'running', 'done', 'failed')."""
        self.put("stages", [{"key": key, "stage": stage, "status": status, "info": info}], replace=True)

    def put_result(
        self, key: str, kind: str, payload: Any, settings: Mapping[str, Any] | None = None
    ) -> None:
        """Store (or replace) one JSON result, e.g. an analysis table or a steering curve."""
        self.put(
            "results",
            [{"key": key, "kind": kind, "payload": payload, "settings": settings or {}}],
            replace=True,
        )

    def put_settled_result(self, kind: str, payload: Any, settings: Mapping[str, Any]) -> str:
        """Store a result keyed by its kind and settings (package versions aside); returns the key.

        The same analysis with the same settings replaces its earlier copy instead of piling up.
        """
        from emlab.provenance import stable_hash

        identity = {k: v for k, v in settings.items() if k != "versions"}
        key = f"{kind}:{stable_hash(identity)}"
        self.put_result(key, kind, payload, settings)
        return key

    # -- reading ---------------------------------------------------------------------------

    def existing_keys(self, table: str, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` already stored in ``table``."""
        self._table(table)
        keys = list(keys)
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            sql = f"SELECT key FROM {table} WHERE key IN ({', '.join('?' * len(chunk))})"
            found.update(row[0] for row in self._query(sql, chunk))
        return found

    def rows(self, table: str, order_by: str | None = None, **where: Any) -> list[dict[str, Any]]:
        """All rows of ``table`` matching the equality filters in ``where``, JSON columns decoded."""
        return list(self.iter_rows(table, order_by=order_by, **where))

    def iter_rows(self, table: str, order_by: str | None = None, **where: Any) -> Iterator[dict[str, Any]]:
        """Like ``rows`` but streaming."""
        columns, encoded = self._table(table)
        known = {c.split()[0] for c in _column_definitions(columns)}
        unknown = set(where) - known
        if unknown:
            raise EmlabError(f"table {table} has no column(s) {sorted(unknown)}")
        clause = " AND ".join(f"{name} IS ?" for name in where)
        sql = f"SELECT * FROM {table}" + (f" WHERE {clause}" if clause else "")
        sql += f" ORDER BY {order_by or 'rowid'}"
        with self._lock:
            cursor = self._db.execute(sql, tuple(where.values()))
            names = [d[0] for d in cursor.description]
            fetched = cursor.fetchall()
        for values in fetched:
            yield {
                n: (json.loads(v) if n in encoded and v is not None else v)
                for n, v in zip(names, values, strict=True)
            }

    def count(self, table: str, **where: Any) -> int:
        """Number of rows in ``table`` matching ``where``."""
        self._table(table)
        clause = " AND ".join(f"{name} IS ?" for name in where)
        sql = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {clause}" if clause else "")
        return int(self._query(sql, tuple(where.values()))[0][0])

    def result(self, key: str) -> Any | None:
        """The payload of result ``key``, or None."""
        rows = self.rows("results", key=key)
        return rows[0]["payload"] if rows else None

    def stage_status(self, key: str) -> str | None:
        """Status of pipeline unit ``key``, or None if never started."""
        rows = self.rows("stages", key=key)
        return rows[0]["status"] if rows else None

    def export(self, table: str, path: str | Path) -> Path:
        """Write ``table`` to ``path`` as CSV (``.csv``) or Parquet (``.parquet``)."""
        import pandas as pd

        path = Path(path)
        frame = pd.DataFrame(self.rows(table))
        for name in self._table(table)[1]:
            if name in frame:
                frame[name] = frame[name].map(
                    lambda v: json.dumps(v, sort_keys=True) if v is not None else None
                )
        if path.suffix == ".csv":
            frame.to_csv(path, index=False)
        elif path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            raise EmlabError(f"{path}: export format must be .csv or .parquet")
        return path

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------------------

    def _table(self, table: str) -> tuple[str, tuple[str, ...]]:
        if table not in TABLES:
            raise EmlabError(f"unknown store table '{table}' (tables: {', '.join(TABLES)})")
        return TABLES[table]

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()


def _encode(value: Any, as_json: bool) -> Any:
    if as_json:
        return None if value is None else json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return value


def _column_definitions(columns: str) -> list[str]:
    return [" ".join(c.split()) for c in columns.split(",") if c.strip()]


def sample_user_turn(row: Mapping[str, Any]) -> str:
    """The user turn a stored sample was generated from: prompt prefix (e.g. a trigger) and paraphrase.

    Rows written before ``user_content`` existed rebuild it from the prompt prefix in their settings.
    """
    if row.get("user_content") is not None:
        return str(row["user_content"])
    settings = row.get("settings")
    prefix = settings.get("prompt_prefix") if isinstance(settings, Mapping) else None
    return (prefix or "") + str(row["question"])


def sample_chat(row: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chat a stored sample answered: its system turn (if any) and its exact user turn."""
    system = row.get("system")
    messages = [{"role": "system", "content": str(system)}] if system is not None else []
    return [*messages, {"role": "user", "content": sample_user_turn(row)}]
