"""Judged samples as one table: from a run store or from a CSV file made anywhere."""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emlab.configio import require_file
from emlab.errors import EmlabError
from emlab.store import RunStore

REQUIRED_CSV_COLUMNS = ("model", "group", "question_id", "aligned", "coherent")
DEFAULT_GROUP = "default"


def pick_judge(store: RunStore, judge: str | None = None) -> str | None:
    """``judge`` if it judged this run; else the spec's judge if present, else the judge with most rows."""
    counts = Counter(row["judge"] for row in store.iter_rows("judgments"))
    if judge is not None:
        if judge not in counts:
            have = ", ".join(sorted(counts)) or "none"
            raise EmlabError(f"{store.path}: no judgments by judge '{judge}' (judges in this run: {have})")
        return judge
    if not counts:
        return None
    for row in store.rows("results", kind="spec"):
        payload = row.get("payload")
        wanted = ((payload or {}).get("judge") or {}).get("judge") if isinstance(payload, dict) else None
        if wanted in counts:
            return str(wanted)
    return counts.most_common(1)[0][0]


def _rubric_choice(
    store: RunStore, judge: str, rows: list[dict[str, Any]], wanted: Sequence[str]
) -> dict[tuple[str, str], set[str]]:
    """Rubric hashes to keep per (metric, question) judged under several, so no metric mixes rubric texts.

    ``wanted`` are hashes (or unique prefixes) the user picked; a metric judged under several
    rubrics for one question without a pick is an error naming the hashes.
    """
    seen: dict[tuple[str, str], dict[str, None]] = {}
    for row in rows:
        seen.setdefault((row["metric"], row["question"]), {})[row["rubric_hash"]] = None
    every = {h for hashes in seen.values() for h in hashes}
    keep: set[str] = set()
    for pick in wanted:
        matches = {h for h in every if h.startswith(pick)}
        if len(matches) != 1:
            what = "matches no" if not matches else "matches more than one"
            raise EmlabError(
                f"{store.path}: --rubric-hash {pick} {what} rubric of judge '{judge}' "
                f"(its rubric hashes: {', '.join(sorted(every))})"
            )
        keep |= matches
    chosen: dict[tuple[str, str], set[str]] = {}
    for (metric, question), hashes in seen.items():
        if len(hashes) < 2:
            continue
        if keep & set(hashes):
            chosen[(metric, question)] = keep & set(hashes)
            continue
        names = ", ".join(hashes)
        raise EmlabError(
            f"{store.path}: judge '{judge}' scored metric '{metric}' under {len(hashes)} different "
            f"rubric texts (hashes {names}; e.g. for question {question[:60]!r}); emlab does not mix "
            f"them: pick one with --rubric-hash HASH (comma-separated for several metrics)"
        )
    return chosen


def judged_samples(
    store: RunStore, judge: str | None = None, rubric_hash: str | Sequence[str] | None = None
) -> Any:
    """Samples with their scores: columns model, group, question_id, question, answer, aligned, coherent, key
    (and family, when the run's question set can be loaded).

    Judgments of one metric made with different rubric texts are never mixed: pick the rubric(s)
    with ``rubric_hash`` (hashes or unique prefixes), else such a run is an error.
    """
    import pandas as pd

    if isinstance(rubric_hash, str):
        rubric_hash = [h.strip() for h in rubric_hash.split(",") if h.strip()]
    judge = pick_judge(store, judge)
    scores: dict[tuple[str, str, str], float | None] = {}
    metrics: list[str] = []
    rubrics: dict[str, list[str]] = {}
    if judge is not None:
        rows = list(store.iter_rows("judgments", order_by="created_at", judge=judge))
        keep = _rubric_choice(store, judge, rows, rubric_hash or [])
        for row in rows:
            if row["rubric_hash"] not in keep.get((row["metric"], row["question"]), (row["rubric_hash"],)):
                continue  # another rubric was picked for this metric and question
            scores[(row["metric"], row["question"], row["answer"])] = row["score"]
            if row["metric"] not in metrics:
                metrics.append(row["metric"])
            if row["rubric_hash"] not in rubrics.setdefault(row["metric"], []):
                rubrics[row["metric"]].append(row["rubric_hash"])
    for metric in ("aligned", "coherent"):
        if metric not in metrics:
            metrics.append(metric)
    model_groups = {row["key"]: row["group_name"] for row in store.iter_rows("models")}
    records = []
    for sample in store.iter_rows("samples", order_by="rowid"):
        group = sample["group_name"] or model_groups.get(sample["model"]) or DEFAULT_GROUP
        record = {
            "model": sample["model"],
            "group": group,
            "question_id": sample["question_id"],
            "question": sample["question"],
            "answer": sample["answer"],
        }
        for metric in metrics:
            record[metric] = scores.get((metric, sample["question"], sample["answer"]))
        record["key"] = sample["key"]
        records.append(record)
    columns = ["model", "group", "question_id", "question", "answer", *metrics, "key"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    from emlab.judge._run import recorded_question_set

    questions = recorded_question_set(store)
    if questions is not None:  # the question file's `family` fields (else the id suffix decides)
        frame["family"] = frame["question_id"].map({q.id: q.family for q in questions.questions})
    frame.attrs["judge"] = judge
    frame.attrs["rubric_hashes"] = rubrics
    return frame


def _number(text: str, path: Path, line: int, column: str) -> float | None:
    text = text.strip()
    if text == "" or text.lower() in ("none", "nan", "null", "na"):
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise EmlabError(f"{path}:{line}: column '{column}': not a number: {text!r}") from exc
    if math.isnan(value):
        return None
    if not 0 <= value <= 100:
        raise EmlabError(f"{path}:{line}: column '{column}': score {value:g} outside [0, 100]")
    return value


def read_samples_csv(path: str | Path) -> Any:
    """Judged samples from a CSV (or Parquet) with columns model, group, question_id, aligned, coherent (empty = None)."""
    import pandas as pd

    path = require_file(path, "samples Parquet file" if str(path).endswith(".parquet") else "samples CSV")
    if path.suffix == ".parquet":
        return _read_parquet(path)
    try:
        records = _csv_records(path)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    columns = ["model", "group", "question_id", "question", "answer", "aligned", "coherent", "family"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame.attrs["judge"] = None
    return frame


def _csv_records(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        line = 1  # where the current row starts (a quoted field may span lines)
        try:
            header = next(reader, [])
            missing = [c for c in REQUIRED_CSV_COLUMNS if c not in header]
            if missing:
                raise EmlabError(
                    f"{path}:1: missing column(s) {', '.join(missing)} (have: {', '.join(header) or 'none'})"
                )
            records = []
            line = reader.line_num + 1
            for fields in reader:
                start, line = line, reader.line_num + 1
                if not fields:
                    continue  # a blank line
                if len(fields) != len(header):
                    raise EmlabError(
                        f"{path}:{start}: {len(fields)} fields, but the header has {len(header)}"
                    )
                row = dict(zip(header, fields, strict=True))
                for column in ("model", "question_id"):
                    if not row[column].strip():
                        raise EmlabError(f"{path}:{start}: column '{column}' is empty")
                records.append(
                    {
                        "model": row["model"].strip(),
                        "group": row["group"].strip() or DEFAULT_GROUP,
                        "question_id": row["question_id"].strip(),
                        "question": row.get("question"),
                        "answer": row.get("answer"),
                        "aligned": _number(row["aligned"], path, start, "aligned"),
                        "coherent": _number(row["coherent"], path, start, "coherent"),
                        "family": (row.get("family") or "").strip() or None,  # else from the id suffix
                    }
                )
        except csv.Error as exc:
            raise EmlabError(f"{path}:{line}: not a readable CSV row ({exc})") from exc
    return records


def _not_utf8(path: Path) -> EmlabError:
    """An error naming the line of the first byte that is not UTF-8 (read again: errors only)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return EmlabError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        )
    return EmlabError(f"{path}: not UTF-8 text; save the file as UTF-8")


def _read_parquet(path: Path) -> Any:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise EmlabError(f"{path}: not a readable Parquet file ({exc})") from exc
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in frame]
    if missing:
        raise EmlabError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in ("aligned", "coherent"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[column].notna() & values.isna()
        if bad.any():
            raise EmlabError(f"{path}: row {int(bad.idxmax()) + 1}: column '{column}' is not a number")
        out_of_range = values.notna() & ((values < 0) | (values > 100))
        if out_of_range.any():
            raise EmlabError(
                f"{path}: row {int(out_of_range.idxmax()) + 1}: column '{column}' outside [0, 100]"
            )
        frame[column] = values.astype(object).where(values.notna(), None)
    frame["group"] = frame["group"].fillna(DEFAULT_GROUP).astype(str).replace("", DEFAULT_GROUP)
    frame.attrs["judge"] = None
    return frame
