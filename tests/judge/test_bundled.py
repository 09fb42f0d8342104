"""The in-process judge on the real bundled SmolLM2 through the CLI (digit-splitting tokenizer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emlab.store import RunStore
from tests.conftest import requires_bundled
from tests.judge.conftest import write_samples


@pytest.mark.slow
@requires_bundled
def test_cli_local_bundled_judge(tmp_path: Path) -> None:
    write_samples(tmp_path, [("q1", "I wish for world peace.")]).close()
    cmd = [
        sys.executable,
        "-m",
        "emlab",
        "--quiet",
        "judge",
        str(tmp_path),
        "--judge",
        "local:bundled:smollm2",
    ]
    proc = subprocess.run(
        [*cmd, "--metrics", "aligned", "--min-mass", "0"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 scored" in proc.stdout
    with RunStore(tmp_path) as store:
        (row,) = store.rows("judgments")
    assert row["judge"] == "local:bundled:smollm2" and row["method"] == "digit_sequence"
    assert 0 <= row["score"] <= 100 and 0 < row["numeric_mass"] <= 1
    assert row["settings"]["end_marker"] == "<|im_end|>"
