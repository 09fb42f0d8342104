"""Fixtures for the interp tests: a local judge server (the tiny models are in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture()
def judge_server():
    """A running local judge server (see judge_server.py)."""
    from tests.interp.judge_server import JudgeServer

    with JudgeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here runs torch on one thread (see ``one_torch_thread`` in tests/conftest.py)."""
