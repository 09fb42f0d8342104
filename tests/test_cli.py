"""The CLI: help, version, user errors exit 2 with one line and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _emlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emlab", *args], capture_output=True, text=True, timeout=300)


def test_help_and_version() -> None:
    out = _emlab("--help")
    assert out.returncode == 0 and "models" in out.stdout
    version = _emlab("version")
    assert version.returncode == 0 and version.stdout.startswith("emlab ")
    assert "torch" in version.stdout


def test_user_error_exits_2_with_one_line_and_debug_shows_traceback() -> None:
    out = _emlab("models", "info", "./no/such/model")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("error:") and "no such model directory" in out.stderr
    debug = _emlab("--debug", "models", "info", "./no/such/model")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_models_info_json_on_tiny_model(tiny_qwen_dir: Path) -> None:
    out = _emlab("models", "info", str(tiny_qwen_dir), "--json")
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["model_type"] == "qwen2" and facts["layers"] == 4 and facts["vocab_size"] == 400


def test_exit_codes_raised_with_typer_exit_survive(tmp_path: Path) -> None:
    script = tmp_path / "exit3.py"
    script.write_text(
        "import typer\nfrom emlab.cli import app, main\n\n"
        "@app.command('exit-three')\ndef exit_three() -> None:\n    raise typer.Exit(3)\n\n"
        "main(['exit-three'])\n"
    )
    assert subprocess.run([sys.executable, str(script)], timeout=120).returncode == 3


def _commands(command, path: list[str]):
    """Every (path, command) below ``command``, itself first."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, [*path, name])


def test_help_at_80_columns_keeps_every_option_name_whole() -> None:
    import re

    from rich.cells import cell_len
    from typer.main import get_command
    from typer.testing import CliRunner

    from emlab.cli import app

    runner = CliRunner()
    for path, command in _commands(get_command(app), []):
        names = [n for param in command.params for n in [*param.opts, *param.secondary_opts]]
        if path and max(map(len, names), default=0) < 16:
            continue  # short names fit anywhere; rendering all 40 helps takes too long
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": None})
        assert result.exit_code == 0, (path, result.output)
        assert max(map(cell_len, result.output.splitlines())) <= 80, path
        for param in command.params:
            for name in [*param.opts, *param.secondary_opts]:
                if name.startswith("--"):
                    whole = rf"(?<![\w-]){re.escape(name)}(?![\w-])"
                    assert re.search(whole, result.output), f"emlab {' '.join(path)} --help: {name} cut"
