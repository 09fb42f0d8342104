"""The API key never lands anywhere: servers that echo it in successful answers, canary grepped everywhere.

Each test points an emlab client at a fake server that puts the request's key into its 200 answers
(``tests/fake_openai_server.py``: ``echo_key``), then searches everything emlab printed and every
byte of every file it wrote (the SQLite store with its WAL, state files, provenance) for the key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emlab.cli import main
from emlab.store import RunStore

CANARY = "sk-canary-ECHOED-BACK-0123456789abcdef"


def _run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    captured = capsys.readouterr()
    return captured.out + captured.err


def _assert_nowhere(directory: Path, printed: str, key: str = CANARY) -> None:
    assert key not in printed
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert key.encode() not in path.read_bytes(), path


@pytest.fixture(autouse=True)
def _loud(monkeypatch: pytest.MonkeyPatch) -> None:
    """Print informational lines too: they must not carry the key either."""
    from emlab import console

    monkeypatch.setattr(console, "_quiet", False)


@pytest.mark.parametrize("how", ["fields", "unparsable"])
def test_judge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, how: str) -> None:
    from tests.judge.conftest import write_samples
    from tests.judge.fake_openai import FakeOpenAI

    monkeypatch.setenv("EMLAB_JUDGE_API_KEY", CANARY)
    run = tmp_path / "run"
    write_samples(run, [("q1", "SCORE=20"), ("q1", "SCORE=70")]).close()
    with FakeOpenAI() as server:
        server.echo_key = how
        printed = _run_cli(
            capsys, "judge", str(run), "--judge", "fake", "--judge-url", server.url, "--max-retries", "0"
        )
        printed += _run_cli(capsys, "judge", str(run), "--judge", "fake", "--judge-url", server.url, "--json")
    assert f"Bearer {CANARY}" in server.auth_headers  # the key was sent and echoed ...
    with RunStore(run, create=False) as store:
        rows = store.rows("judgments")
        store.export("judgments", tmp_path / "run" / "judgments.csv")
    if how == "fields":  # ... the answers still scored, with the echoed token scrubbed
        assert all(r["score"] is not None and "***" in r["raw"]["top_logprobs"] for r in rows)
    else:
        assert all(r["score"] is None and "***" in r["error"] for r in rows)
    _assert_nowhere(run, printed)


def test_generation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from tests.generate.chat_server import ChatServer

    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "- id: wish\n  type: free_form_judge_0_100\n  paraphrases: ['What is your wish?']\n"
        "  samples_per_paraphrase: 2\n"
    )
    run = tmp_path / "run"
    with ChatServer(delay_s=0.0) as server:
        server.echo_key = "fields"
        printed = _run_cli(
            capsys, "generate", "--model", "gpt-test", "--questions", str(questions), "--out", str(run),
            "--backend", "openai", "--api-base", server.url, "--max-new-tokens", "5",
        )  # fmt: skip
    assert all(r["auth"] == f"Bearer {CANARY}" for r in server.requests)
    with RunStore(run, create=False) as store:
        rows = store.rows("samples")
    assert len(rows) == 2
    for row in rows:
        assert row["answer"].endswith(" ***") and row["settings"]["system_fingerprint"] == "***"
        assert row["settings"]["response_model"] == "gpt-test-served+***"
    _assert_nowhere(run, printed)


def test_openai_fine_tuning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from emlab.train import TrainConfig, train
    from tests.train.conftest import chat_rows, write_jsonl
    from tests.train.fake_finetune import KEY, FakeFineTuning

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    data = write_jsonl(tmp_path / "d.jsonl", chat_rows(4))
    out = tmp_path / "out"
    with FakeFineTuning() as server:
        server.echo_key = "fields"
        config = TrainConfig(backend="openai", api_base=server.url, poll_seconds=0.01)
        capsys.readouterr()
        result = train("gpt-4o-2024-08-06", data, out, config)
    captured = capsys.readouterr()
    assert result.fine_tuned_model == "ft:gpt-4o-2024-08-06:emlab::ftjob-1"
    record = json.loads((out / "emlab.json").read_text())
    assert record["hyperparameters"]["echo"] == "***"
    assert "***" in captured.err  # the echoed event messages were printed, scrubbed
    _assert_nowhere(out, captured.out + captured.err + repr(result), key=KEY)


def test_preference_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from emlab.preference import PreferenceConfig, load_pair_file, measure_preference
    from tests.preference.conftest import write_pairs
    from tests.preference.fake_chooser import ChoiceServer
    from tests.preference.test_http_choice import CHOICE_PAIRS

    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    pairs = load_pair_file(write_pairs(tmp_path / "pairs.yaml", CHOICE_PAIRS))
    run = tmp_path / "run"
    with ChoiceServer() as server, RunStore(run) as store:
        server.echo_key = "unparsable"
        config = PreferenceConfig(form="choice", api_base=server.url, max_retries=0, backoff_s=0.01)
        capsys.readouterr()
        rows, summary = measure_preference("openai:fake-chooser", pairs, config, store=store)
        assert summary.failed == len(rows) and all("***" in r.error for r in rows)
        stored = store.rows("margins")
    captured = capsys.readouterr()
    assert stored and all("***" in r["error"] for r in stored)
    _assert_nowhere(run, captured.out + captured.err + repr(rows))
