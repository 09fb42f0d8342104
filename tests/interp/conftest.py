"""Fixtures for the interp tests: the tiny Llama and Qwen models, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny(tiny_llama_dir: Path):
    """The tiny Llama model (4 layers, hidden 64) loaded in fp32 on CPU."""
    from emlab.models import load_model

    return load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")


@pytest.fixture(scope="session")
def tiny_qwen(tiny_qwen_dir: Path):
    """The tiny Qwen2 model loaded in fp32 on CPU."""
    from emlab.models import load_model

    return load_model(str(tiny_qwen_dir), dtype="fp32", device="cpu")


@pytest.fixture()
def judge_server():
    """A running local judge server (see judge_server.py)."""
    from tests.interp.judge_server import JudgeServer

    with JudgeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _one_thread():
    # The tiny models gain nothing from a second thread, and on a shared 2-core machine OpenMP
    # barriers under contention make two threads several times slower. Restored after each test.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
