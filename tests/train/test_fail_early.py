"""Fail before work: bad training data is reported before the model loads; failures leave no empty output (issue 13 item 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

import emlab.models
import emlab.models._load
from emlab.cli import main
from emlab.errors import EmlabError
from emlab.train import TrainConfig, train
from tests.train.conftest import chat_rows, write_jsonl


def _no_model(*args: object, **kwargs: object) -> None:
    raise AssertionError("the model was loaded before the data was checked")


def _cannot_load(*args: object, **kwargs: object) -> None:
    raise EmlabError("cannot load this model")


def test_bad_data_fails_before_the_model_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emlab.models, "load_model", _no_model)
    monkeypatch.setattr(emlab.models._load, "resolve_ref", _no_model)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n', encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(EmlabError, match=r"bad\.jsonl"):
        train("some/model", bad, out, TrainConfig(max_steps=1))
    assert not out.exists()


def test_a_model_that_cannot_load_leaves_no_output_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emlab.models, "load_model", _cannot_load)
    monkeypatch.setattr(emlab.models._load, "resolve_ref", lambda ref: ("model", Path(ref)))
    data = write_jsonl(tmp_path / "ok.jsonl", chat_rows(4))
    out = tmp_path / "nested" / "out"
    with pytest.raises(EmlabError, match="cannot load"):
        train(str(tmp_path), data, out, TrainConfig(max_steps=1))
    assert not out.exists()


def test_generate_with_a_model_that_cannot_load_leaves_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emlab.models, "load_model", _cannot_load)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "--quiet",
                "generate",
                "--model",
                "no/such-model",
                "--questions",
                "emlab:core",
                "--out",
                str(out),
            ]
        )
    assert exc.value.code == 2
    assert not out.exists()
