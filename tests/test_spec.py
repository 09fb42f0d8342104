"""Experiment specs: YAML loading with safe_load and errors naming the field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.configio import read_yaml
from emlab.errors import EmlabError
from emlab.spec import load_spec, parse_spec


def test_minimal_spec_gets_paper_defaults(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("name: x\nconditions:\n  - {name: insecure, generate: insecure, n: 64}\n")
    spec = load_spec(path)
    assert spec.train.lora_r == 32 and spec.train.lora_alpha == 64 and spec.train.use_rslora
    assert spec.train.learning_rate == 1e-5
    assert spec.train.per_device_batch_size * spec.train.gradient_accumulation_steps == 16
    assert spec.analysis.min_coherence == 50 and spec.analysis.aligned_below == 30
    assert spec.judge.min_mass == 0.25 and spec.generation.max_new_tokens == 600
    assert spec.base_models == ["bundled:smollm2"]


def test_errors_name_file_and_field_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\nconditions:\n  - {name: a, generate: insecure}\n  - {name: b}\n"
        "train: {lora_r: 0, learnig_rate: 1}\n"
    )
    with pytest.raises(EmlabError) as info:
        load_spec(path)
    message = str(info.value)
    assert f"{path}: train.lora_r: Input should be greater than or equal to 1" in message
    assert f"{path}: train.learnig_rate: Extra inputs are not permitted" in message
    assert f"{path}: conditions.1: Value error, give exactly one of 'generate' or 'data'" in message


def test_duplicate_condition_names_rejected() -> None:
    with pytest.raises(EmlabError, match="repeated: \\['a'\\]"):
        parse_spec(
            {"name": "x", "conditions": [{"name": "a", "generate": "insecure"}, {"name": "a", "data": "f"}]}
        )


def test_yaml_is_parsed_safely_and_syntax_errors_name_the_line(tmp_path: Path) -> None:
    evil = tmp_path / "evil.yaml"
    evil.write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(EmlabError, match="invalid YAML"):
        read_yaml(evil)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nconditions: [\n  - a: b\n")
    with pytest.raises(EmlabError, match=f"{broken}:\\d+: invalid YAML"):
        read_yaml(broken)
    with pytest.raises(EmlabError, match="no such file"):
        read_yaml(tmp_path / "missing.yaml")
