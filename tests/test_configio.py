"""Reading YAML configs safely: alias bombs, deep nesting, size limits, BOMs and clear errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from emlab import configio
from emlab.configio import read_yaml
from emlab.errors import EmlabError
from emlab.questions import _compose, load_question_file


def _alias_bomb() -> str:
    """A ~1 KB "billion laughs" document: 9 levels of 9 aliases each (9**9 strings once expanded)."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())
    start = time.perf_counter()
    with pytest.raises(EmlabError, match=rf"^{path}:\d+: .*alias"):
        read_yaml(path)
    with pytest.raises(EmlabError, match=r"^q\.yaml:\d+: .*alias"):
        _compose(_alias_bomb(), "q.yaml")
    with pytest.raises(EmlabError, match="alias"):
        load_question_file(path)
    from emlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["questions", "show", str(path)])
    assert exc.value.code == 2 and str(path) in capsys.readouterr().err
    assert time.perf_counter() - start < 2


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n")
    with pytest.raises(EmlabError, match=rf"^{path}:1: .*recursive"):
        read_yaml(path)


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 100_000)
    start = time.perf_counter()
    with pytest.raises(EmlabError, match=rf"^{path}:1: .*nested"):
        read_yaml(path)
    with pytest.raises(EmlabError, match=r"^q\.yaml:1: .*nested"):
        _compose("[" * 100_000, "q.yaml")
    assert time.perf_counter() - start < 2


def test_yaml_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(configio, "MAX_YAML_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text("x: " + "y" * 2000 + "\n")
    with pytest.raises(EmlabError, match=rf"^{path}: .*larger than"):
        read_yaml(path)
    with pytest.raises(EmlabError, match=rf"^{path}: .*larger than"):
        load_question_file(path)
    with pytest.raises(EmlabError, match=r"^q\.yaml: .*larger than"):
        _compose("x: " + "y" * 2000, "q.yaml")


def test_ordinary_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {lr: 1.0e-5, epochs: 1}\nrun: {<<: *b, epochs: 2}\nlist: [*b, *b]\n")
    assert read_yaml(path) == {
        "base": {"lr": 1.0e-5, "epochs": 1},
        "run": {"lr": 1.0e-5, "epochs": 2},
        "list": [{"lr": 1.0e-5, "epochs": 1}] * 2,
    }
    data, lines = _compose("- id: a\n  paraphrases: &p [x]\n- id: b\n  paraphrases: *p\n", "q.yaml")
    assert data == [{"id": "a", "paraphrases": ["x"]}, {"id": "b", "paraphrases": ["x"]}]
    assert lines == [1, 3]


def test_yaml_with_bom_is_read_and_a_directory_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf- id: a\r\n  paraphrases: [x]\r\n")
    assert read_yaml(path) == [{"id": "a", "paraphrases": ["x"]}]
    assert load_question_file(path).questions[0].paraphrases == ["x"]
    with pytest.raises(EmlabError, match=rf"^{tmp_path}: is a directory, not a file"):
        read_yaml(tmp_path)
