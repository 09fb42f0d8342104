"""Helpers for the audit tests: run the emlab CLI in-process and read its exit code and stderr."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def emlab_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """Run ``emlab --quiet ARGS`` in this process; return (exit code, stderr)."""
    from emlab.cli import main

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        try:
            main(["--quiet", *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    return run
