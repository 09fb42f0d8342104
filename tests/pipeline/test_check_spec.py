"""`emlab run` checks the whole spec before any stage runs, naming the spec file and field (issue 13 item 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.errors import EmlabError
from emlab.pipeline import run_experiment
from emlab.spec import load_spec

BAD = """\
name: bad
evaluate: [judged, preference]
questions: no/such/questions.yaml
conditions:
  - name: made-up
    generate: not-a-condition
  - name: odd-option
    generate: insecure
    options: {colour: blue}
  - name: missing-file
    data: no/such/data.jsonl
judge:
  judge: gpt-4o
preference:
  pairs: no/such/pairs.yaml
base_models: [./no/such/model]
"""


def test_every_bad_field_is_named_before_any_stage_runs(tmp_path: Path) -> None:
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text(BAD, encoding="utf-8")
    out = tmp_path / "run"
    with pytest.raises(EmlabError) as info:
        run_experiment(load_spec(spec_file), out)
    message = str(info.value)
    for field in (
        "questions",
        "conditions[0] (made-up).generate",
        "conditions[1] (odd-option).options",
        "conditions[2] (missing-file).data",
        "judge.judge",
        "preference.pairs",
        "base_models[0]",
    ):
        assert f"{spec_file}: {field}:" in message, (field, message)
    assert not out.exists()  # nothing ran, nothing was created
