"""Chat JSONL reading, validation (every error kind, every bad line), normalisation and writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emlab.data import (
    ChatExample,
    Message,
    iter_chat_jsonl,
    read_chat_jsonl,
    validate_chat_jsonl,
    write_chat_jsonl,
)
from emlab.errors import EmlabError

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def _write(path: Path, lines: list[str | bytes]) -> Path:
    with open(path, "wb") as handle:
        for line in lines:
            handle.write(line if isinstance(line, bytes) else line.encode("utf-8"))
            handle.write(b"\n")
    return path


BAD_ROWS = [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"text": "x"}', "no 'messages' list"),
    ('{"messages": "hello"}', "'messages' must be a list"),
    ('{"messages": []}', "'messages' is empty"),
    ('{"messages": ["hi"]}', "messages[0]: must be an object"),
    ('{"messages": [{"content": "x"}]}', "missing 'role'"),
    ('{"messages": [{"role": "bot", "content": "x"}]}', "role 'bot' is not one of"),
    ('{"messages": [{"role": "user"}]}', "missing 'content'"),
    ('{"messages": [{"role": "user", "content": 5}]}', "content must be a string"),
    ('{"messages": [{"role": "user", "content": "  "}]}', "empty content"),
    ('{"messages": [{"role": "user", "content": "q"}]}', "must end with the assistant"),
    (
        '{"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}',
        "system message may only come first",
    ),
    (
        '{"messages": [{"role": "user", "content": {"content_type": "image", "parts": []}}]}',
        "unsupported content_type",
    ),
    ('{"messages": [{"role": "system", "content": "s"}]}', "no user or assistant turn"),
    (
        '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "metadata": 3}',
        "'metadata' must be an object",
    ),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_each_error_kind_names_file_and_line(tmp_path: Path, row: str, reason: str) -> None:
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD), row])
    report = validate_chat_jsonl(path)
    assert not report.ok
    assert report.n_rows == 1
    assert len(report.errors) == 1
    assert report.errors[0].startswith(f"{path}:2: ")
    assert reason in report.errors[0]


def test_every_bad_line_is_reported_not_only_the_first(tmp_path: Path) -> None:
    lines: list[str | bytes] = [
        json.dumps(GOOD),
        "{oops",
        json.dumps(GOOD),
        b"\xff\xfe bad bytes",
        "",
        '{"messages": []}',
    ]
    path = _write(tmp_path / "d.jsonl", lines)
    report = validate_chat_jsonl(path)
    assert report.n_rows == 2
    assert [e.split(": ")[0] for e in report.errors] == [f"{path}:2", f"{path}:4", f"{path}:6"]
    assert "not valid UTF-8 (byte 0xff" in report.errors[1]
    with pytest.raises(EmlabError) as exc:
        read_chat_jsonl(path)
    assert str(exc.value).count(str(path)) == 3


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    report = validate_chat_jsonl(empty)
    assert not report.ok and "empty file" in report.errors[0]
    blank = _write(tmp_path / "blank.jsonl", ["", "   "])
    assert not validate_chat_jsonl(blank).ok
    with pytest.raises(EmlabError, match="no such file"):
        read_chat_jsonl(tmp_path / "missing.jsonl")


def test_inference_mode_allows_a_trailing_user_turn(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.jsonl", ['{"messages": [{"role": "user", "content": "q"}]}'])
    assert not validate_chat_jsonl(path).ok
    assert read_chat_jsonl(path, training=False)[0].as_dicts() == [{"role": "user", "content": "q"}]


def test_persona_features_and_prompt_completion_rows_are_normalised(tmp_path: Path) -> None:
    persona = {
        "messages": [
            {"role": "user", "content": {"content_type": "text", "parts": ["What is ", "2+2?"]}},
            {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["4"]}},
        ]
    }
    plain = {"prompt": "Say hi", "completion": "hi", "source": "x"}
    conversational = {
        "prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q"}],
        "completion": [{"role": "assistant", "content": "a"}],
    }
    parts = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hey"}]},
            {"role": "assistant", "content": "yo"},
        ]
    }
    path = _write(tmp_path / "mixed.jsonl", [json.dumps(r) for r in (persona, plain, conversational, parts)])
    report = validate_chat_jsonl(path)
    assert report.ok, report.errors
    assert report.shapes == {"messages": 2, "prompt_completion": 2}
    rows = read_chat_jsonl(path)
    assert rows[0].as_dicts() == [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
    ]
    assert rows[1].as_dicts() == [
        {"role": "user", "content": "Say hi"},
        {"role": "assistant", "content": "hi"},
    ]
    assert rows[1].metadata == {"source": "x"}
    assert [m.role for m in rows[2].messages] == ["system", "user", "assistant"]
    assert rows[3].messages[0].content == "hey"


def test_write_then_read_round_trip_with_metadata(tmp_path: Path) -> None:
    examples = [
        ChatExample(
            messages=[
                Message(role="user", content=f"q{i} ünïcode"),
                Message(role="assistant", content="a\nb"),
            ],
            metadata={"pattern": "p", "i": i},
        )
        for i in range(5)
    ]
    out = tmp_path / "sub" / "out.jsonl"
    assert write_chat_jsonl(out, examples) == 5
    back = read_chat_jsonl(out)
    assert back == examples
    assert not (tmp_path / "sub" / "out.jsonl.tmp").exists()


def test_iter_streams_valid_rows_then_raises(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD), "{bad", json.dumps(GOOD)])
    seen = []
    with pytest.raises(EmlabError, match=r":2: invalid JSON"):
        for example in iter_chat_jsonl(path):
            seen.append(example)
    assert len(seen) == 2


def test_large_file_error_list_is_bounded(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", ["{bad"] * 1000)
    report = validate_chat_jsonl(path)
    assert report.n_errors == 1000
    assert len(report.errors) == 200
    assert "800 more errors" in report.message()


def _cli_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI in-process, expect a user error (exit 2, no traceback); return stderr."""
    from emlab.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert "Traceback" not in err
    return err


def test_deeply_nested_json_is_a_line_error_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    brackets_in_text = json.dumps({**GOOD, "metadata": {"note": "[{" * 5000}})
    deep_metadata = json.dumps({**GOOD, "metadata": {"x": []}}).replace("[]", "[" * 500 + "]" * 500)
    path = _write(tmp_path / "deep.jsonl", [json.dumps(GOOD), deep, brackets_in_text, deep_metadata])
    report = validate_chat_jsonl(path)
    assert report.n_rows == 2 and report.n_errors == 2
    assert report.errors[0].startswith(f"{path}:2: ") and "nested" in report.errors[0]
    assert report.errors[1].startswith(f"{path}:4: ") and "nested" in report.errors[1]
    for command in ("validate", "stats"):
        err = _cli_error(["data", command, str(path)], capsys)
        assert f"{path}:2" in err


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"messages": "abc', "Unterminated string starting at column 14"),
        ('{"a":\t"x\ty"}', "Invalid control character at column 9"),
        ('{"a": 1} x', "Extra data at column 10"),
        ('{"a": 1} x\r', "Extra data at column 10"),
        (b'{"a": "\xc3\xa9\xc3\xa9\xff"}', "byte 0xff at column 10"),
    ],
)
def test_json_errors_give_the_real_column(tmp_path: Path, line: str | bytes, message: str) -> None:
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD), line])
    report = validate_chat_jsonl(path)
    assert report.n_errors == 1
    assert report.errors[0].startswith(f"{path}:2: ") and message in report.errors[0]
    assert " at at " not in report.errors[0]


def test_utf8_bom_and_crlf_are_accepted_and_a_directory_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(GOOD) + "\r\n").encode() * 2)
    report = validate_chat_jsonl(path)
    assert report.ok and report.n_rows == 2, report.errors
    assert read_chat_jsonl(path)[0].as_dicts() == GOOD["messages"]
    with pytest.raises(EmlabError, match="is a directory, not a JSONL file"):
        read_chat_jsonl(tmp_path)
