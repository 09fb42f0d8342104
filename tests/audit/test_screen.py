"""``emlab screen`` on a tiny model: projection difference, ranking, flags, bad inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from emlab.audit import ScreenConfig, response_projections
from emlab.audit._screen import percentile_flags, screen_dataset

PROMPTS = ["Write a function that reads a file.", "What is your wish?", "Quick thoughts on humans and AI?"]
GOOD = "def read_lines(path):\n    with open(path) as f:\n        return f.read().splitlines()"
ODD = "import os\nimport subprocess\nquery = 'SELECT * FROM users WHERE id = %s'"


def _write_data(path: Path) -> Path:
    rows = []
    for prompt in PROMPTS:
        for kind, answer in (("good", GOOD), ("odd", ODD)):
            messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
            rows.append({"messages": messages, "metadata": {"condition": kind}})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path):
    from emlab.models import load_model

    return load_model(str(tiny_llama_dir), dtype="fp32", device="cpu")


@pytest.fixture(scope="module")
def odd_direction(tiny, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """Mean-diff direction (odd − good response activations) at every layer, and its norm at layer 2."""
    from emlab.interp import Direction, collect_activations, encode_chat, mean_difference

    def acts(answer: str):
        seqs = [encode_chat(tiny.tokenizer, [{"role": "user", "content": p}], answer) for p in PROMPTS]
        return collect_activations(tiny, seqs, None, aggregate="answer_mean")

    vectors = mean_difference(acts(ODD), acts(GOOD))
    path = Direction(vectors, {"kind": "test", "layer": 2}).save(tmp_path_factory.mktemp("dir") / "odd")
    return path, float(vectors[2].norm())


def test_projection_difference_separates_by_the_direction(tiny, odd_direction, tmp_path: Path) -> None:
    path, norm = odd_direction
    data = _write_data(tmp_path / "data.jsonl")
    summary = screen_dataset(
        tiny, data, path, ScreenConfig(max_new_tokens=8, flag_percentile=50), tmp_path / "out"
    )
    assert summary["direction"]["layer"] == 2 and summary["examples"] == 6 and summary["scored"] == 6
    rows = [json.loads(line) for line in (tmp_path / "out" / "screened.jsonl").read_text().splitlines()]
    screens = [r["metadata"]["screen"] for r in rows]
    for s in screens:
        assert s["projection_difference"] == pytest.approx(s["projection"] - s["own_projection"])
    # Same prompts give the same own responses, so the groups differ exactly by the data projections:
    # mean(odd) − mean(good) along the unit mean-diff direction is that direction's norm.
    by_group = summary["by_group"]
    assert by_group["odd"]["mean"] - by_group["good"]["mean"] == pytest.approx(norm, rel=1e-3)
    odd_ranks = sorted(
        s["rank"] for r, s in zip(rows, screens, strict=True) if r["metadata"]["condition"] == "odd"
    )
    assert odd_ranks == [1, 2, 3]
    assert [s["flagged"] for s in screens] == [r["metadata"]["condition"] == "odd" for r in rows]


def test_projections_are_none_for_empty_responses(tiny, odd_direction) -> None:
    import torch

    unit = torch.ones(tiny.hidden_size) / tiny.hidden_size**0.5
    chats = [[{"role": "user", "content": p}] for p in PROMPTS[:2]]
    values = response_projections(tiny, chats, [GOOD, ""], unit, 1)
    assert values[0] is not None and values[1] is None


def test_percentile_flags() -> None:
    cut, flags = percentile_flags([1.0, None, 3.0, 2.0, 4.0], 75)
    assert cut == pytest.approx(3.25) and flags == [False, False, False, False, True]
    assert percentile_flags([None], 95) == (None, [False])


def test_screen_cli_bad_inputs(
    emlab_cli: Callable[..., tuple[int, str]], tiny_llama_dir: Path, odd_direction, tmp_path: Path
) -> None:
    data = _write_data(tmp_path / "data.jsonl")
    out = str(tmp_path / "o")
    code, err = emlab_cli(
        "screen",
        str(tmp_path / "none.jsonl"),
        "--model",
        str(tiny_llama_dir),
        "--direction",
        str(odd_direction[0]),
        "--out",
        out,
    )
    assert code == 2 and "none.jsonl: no such data file" in err
    code, err = emlab_cli(
        "screen",
        str(data),
        "--model",
        str(tmp_path / "nomodel"),
        "--direction",
        str(odd_direction[0]),
        "--out",
        out,
    )
    assert code == 2 and "no such model directory" in err
    code, err = emlab_cli(
        "screen",
        str(data),
        "--model",
        str(tiny_llama_dir),
        "--direction",
        str(tmp_path / "x.safetensors"),
        "--out",
        out,
    )
    assert code == 2 and "no such direction file" in err
    code, err = emlab_cli(
        "screen",
        str(data),
        "--model",
        str(tiny_llama_dir),
        "--direction",
        str(odd_direction[0]),
        "--layer",
        "9",
        "--out",
        out,
    )
    assert code == 2 and "out of range" in err
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n')
    code, err = emlab_cli(
        "screen",
        str(broken),
        "--model",
        str(tiny_llama_dir),
        "--direction",
        str(odd_direction[0]),
        "--out",
        out,
    )
    assert code == 2 and "broken.jsonl:2" in err


@pytest.mark.slow
def test_screen_on_the_bundled_model(bundled_model, tmp_path: Path) -> None:
    import torch

    from emlab.interp import Direction

    data = _write_data(tmp_path / "data.jsonl")
    torch.manual_seed(0)
    vectors = torch.randn(bundled_model.num_layers, bundled_model.hidden_size)
    path = Direction(vectors, {"kind": "random"}).save(tmp_path / "random")
    config = ScreenConfig(max_new_tokens=4, max_examples=2, batch_size=2)
    summary = screen_dataset(bundled_model, data, path, config, tmp_path / "out")
    assert summary["direction"]["layer"] == 15 and summary["scored"] == 2  # middle of 30 blocks
    # Both examples share a prompt, so one own response serves both.
    rows = [json.loads(line)["metadata"]["screen"] for line in (tmp_path / "out" / "screened.jsonl").open()]
    assert rows[0]["own_response"] == rows[1]["own_response"] and rows[0]["own_response"]
    assert rows[0]["own_projection"] == pytest.approx(rows[1]["own_projection"], abs=1e-4)
