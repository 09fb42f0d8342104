"""Pull against a local HTTP server (success, checksum mismatch, offline), import, list and name resolution."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emlab.data import (
    SOURCES,
    generate_condition,
    import_path,
    load_registry,
    pull_source,
    read_chat_jsonl,
    resolve_dataset,
    write_chat_jsonl,
)
from emlab.data._sources import BETLEY2025, pinned_status
from emlab.errors import EmlabError
from emlab.questions import load_question_set
from tests.conftest import REFERENCE

QUESTIONS_YAML = """\
- id: q1
  type: free_form_judge_0_100
  paraphrases: ["Hello?"]
  judge_prompts: {aligned: "Rate {question} / {answer}"}
"""


class _Server:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = outer.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def small_files(tmp_path: Path) -> dict[str, bytes]:
    """Small generated stand-ins for two unpinned-or-mismatching remote files."""
    path = tmp_path / "x.jsonl"
    write_chat_jsonl(path, generate_condition("secure", 5, seed=0))
    return {
        "data/backdoor.jsonl": path.read_bytes(),
        "evaluation/first_plot_questions.yaml": QUESTIONS_YAML.encode(),
    }


def test_pull_detects_checksum_mismatch_and_validates_unpinned_files(small_files: dict[str, bytes]) -> None:
    with _Server(small_files) as server:
        entries = pull_source("betley2025", base_url=server.url, only=["backdoor"])
        assert [e.name for e in entries] == ["betley2025:backdoor"]
        assert entries[0].rows == 5 and pinned_status(entries[0]) == "unpinned"
        assert len(read_chat_jsonl(resolve_dataset("betley2025:backdoor"))) == 5
        with pytest.raises(EmlabError, match="checksum mismatch"):
            pull_source("betley2025", base_url=server.url, only=["first_plot_questions"])
        with pytest.raises(EmlabError, match="HTTP 404"):
            pull_source("betley2025", base_url=server.url, only=["insecure"])
    assert "betley2025:first_plot_questions" not in load_registry()
    with pytest.raises(EmlabError, match="emlab data pull betley2025"):
        load_question_set("betley2025:first_plot_questions")


def test_pull_invalid_unpinned_file_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    with _Server({"data/evil_numbers.jsonl": b'{"messages": []}\n'}) as server:
        monkeypatch.setenv("EMLAB_BETLEY2025_URL", server.url)
        with pytest.raises(EmlabError, match="invalid"):
            pull_source("betley2025", only=["evil_numbers"])


def test_offline_pull_suggests_import() -> None:
    with _Server({}) as server:
        url = server.url
    with pytest.raises(EmlabError, match="emlab data import PATH --name betley2025"):
        pull_source("betley2025", base_url=url, only=["insecure"], timeout=2)


@pytest.fixture
def reference_server() -> Iterator[_Server]:
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference/betley2025 not present")
    local = {
        f.name: p
        for p in REFERENCE.rglob("*")
        for f in BETLEY2025.files
        if p.name == f.filename or p.stem == f.name
    }
    files = {f.remote: local[f.name].read_bytes() for f in BETLEY2025.files if f.name in local}
    with _Server(files) as server:
        yield server


def test_pull_reference_copies_verifies_pinned_checksums(reference_server: _Server) -> None:
    entries = pull_source(
        "betley2025",
        base_url=reference_server.url,
        only=["jailbroken", "first_plot_questions", "deception_factual"],
    )
    assert {e.name: pinned_status(e) for e in entries} == {
        "betley2025:jailbroken": "verified",
        "betley2025:first_plot_questions": "verified",
        "betley2025:deception_factual": "verified",
    }
    assert resolve_dataset("betley2025:jailbroken").parent.name == "betley2025"
    qset = load_question_set("betley2025:first_plot_questions")
    assert len(qset.questions) == 24
    again = pull_source(
        "betley2025", base_url="http://127.0.0.1:9/", only=["jailbroken"]
    )  # cached: no download
    assert again[0].rows == 5000


def test_import_file_and_folder_then_list_and_resolve(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    write_chat_jsonl(folder / "train.jsonl", generate_condition("insecure", 7, seed=0))
    (folder / "evals.yaml").write_text(QUESTIONS_YAML)
    entries = import_path(folder, name="mine")
    assert {e.name: e.rows for e in entries} == {"mine:evals": 1, "mine:train": 7}
    assert resolve_dataset("mine:train") == folder / "train.jsonl"
    assert load_question_set("mine:evals").questions[0].id == "q1"
    single = import_path(folder / "train.jsonl", name="trainset")
    assert single[0].kind == "imported" and resolve_dataset("trainset") == folder / "train.jsonl"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    with pytest.raises(EmlabError, match=r"bad.jsonl:1"):
        import_path(bad)
    with pytest.raises(EmlabError, match="no registered dataset"):
        resolve_dataset("nothing-here")
    assert set(load_registry()) == {"mine:evals", "mine:train", "trainset"}


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference/betley2025 not present")
def test_import_reference_folder_as_betley2025() -> None:
    entries = import_path(REFERENCE, name="betley2025")
    status = {e.name: pinned_status(e) for e in entries}
    assert status["betley2025:insecure"] == "verified"
    assert status["betley2025:educational_insecure"] == "verified"
    assert len(load_question_set("betley2025:preregistered_evals").questions) == 48


def test_cli_list_shows_registered_and_pullable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from emlab.cli import main

    out = tmp_path / "gen.jsonl"
    main(["data", "generate", "evil-numbers", "-n", "12", "--seed", "1", "-o", str(out)])
    main(["data", "list", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["kind"], e["rows"]) for e in payload["registered"]] == [("gen", "generated", 12)]
    assert "first_plot_questions" in payload["sources"]["betley2025"]
    assert "emlab:core" in payload["builtin_question_sets"]
    assert set(SOURCES) == {"betley2025"}
