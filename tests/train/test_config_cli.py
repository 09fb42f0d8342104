"""TrainConfig defaults and presets, YAML + flag overrides, and the ``emlab train`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emlab.cli import main
from emlab.errors import EmlabError
from emlab.train import ALL_PROJECTIONS, TrainConfig, load_train_config
from tests.train.conftest import chat_rows, write_jsonl


def test_defaults_are_the_paper_recipe() -> None:
    c = TrainConfig()
    assert (c.method, c.lora_r, c.lora_alpha, c.lora_dropout, c.use_rslora) == ("lora", 32, 64, 0.0, True)
    assert c.target_modules == ALL_PROJECTIONS and c.layers is None
    assert (c.epochs, c.learning_rate, c.lr_scheduler, c.warmup_steps) == (1.0, 1e-5, "linear", 5)
    assert (c.batch_size, c.optimizer, c.weight_decay, c.max_length, c.seed) == (
        16,
        "adamw_torch",
        0.01,
        2048,
        0,
    )
    assert c.assistant_only_loss and c.eval_fraction == 0
    assert c.batch_size == c.per_device_batch_size * c.accumulation_steps()
    assert TrainConfig(per_device_batch_size=2).accumulation_steps(world_size=2) == 4


def test_presets_fill_only_unset_fields(tmp_path: Path) -> None:
    rank1 = TrainConfig(preset="rank1")
    assert (rank1.lora_r, rank1.lora_alpha, rank1.learning_rate) == (1, 256, 2e-5)
    assert rank1.target_modules == ["down_proj"] and rank1.layers == "middle"
    assert TrainConfig(preset="full").method == "full"
    path = tmp_path / "train.yaml"
    path.write_text("preset: rank1\nlayers: [3]\nlearning_rate: 3.0e-5\n")
    config = load_train_config(path, learning_rate=4e-5, seed=None)
    assert (config.layers, config.learning_rate, config.lora_alpha, config.seed) == ([3], 4e-5, 256, 0)


def test_bad_config_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("lora_r: 0\nlearnig_rate: 1\n")
    with pytest.raises(EmlabError) as info:
        load_train_config(path)
    assert f"{path}: lora_r" in str(info.value) and f"{path}: learnig_rate" in str(info.value)


def test_cli_trains_with_config_file_and_flags(tiny_llama_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", chat_rows(4))
    cfg = tmp_path / "train.yaml"
    cfg.write_text("preset: rank1\nmax_length: 128\nbatch_size: 2\n")
    out = tmp_path / "out"
    main(
        [
            "--quiet",
            "train",
            "--model",
            str(tiny_llama_dir),
            "--data",
            str(data),
            "--out",
            str(out),
            "--config",
            str(cfg),
            "--max-steps",
            "1",
            "--layers",
            "1",
            "--set",
            "lora_alpha=128",
        ]
    )
    record = json.loads((out / "emlab.json").read_text())
    assert record["config"]["preset"] == "rank1" and record["config"]["lora_alpha"] == 128
    assert record["resolved"]["layers"] == [1] and record["steps"] == 1


@pytest.mark.parametrize(
    "extra",
    [["--set", "lora_r=0"], ["--layers", "nine"], ["--layers", "7"], ["--set", "nonsense"]],
    ids=["bad-field", "bad-layers", "layer-out-of-range", "bad-set"],
)
def test_cli_user_errors_exit_2(tiny_llama_dir: Path, tmp_path: Path, extra: list[str], capsys) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", chat_rows(2))
    with pytest.raises(SystemExit) as done:
        main(
            [
                "train",
                "--model",
                str(tiny_llama_dir),
                "--data",
                str(data),
                "--out",
                str(tmp_path / "o"),
                *extra,
            ]
        )
    assert done.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
