"""kill -9 in the middle of training, ``resume``, and land on the same weights as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from emlab.train import TrainConfig, train
from emlab.train._sft import last_checkpoint
from tests.train.conftest import chat_rows, write_jsonl

CONFIG = {
    "learning_rate": 5e-3,
    "warmup_steps": 1,
    "batch_size": 4,
    "per_device_batch_size": 2,
    "max_length": 256,
    "save_steps": 2,
    "max_steps": 6,
    "lr_scheduler": "linear",
}

# The child trains with the same config and parks after step 3 (checkpoint-2 is on disk, step 3 is not),
# announcing it through a marker file so that the parent can SIGKILL it there.
CHILD = """
import sys, time
from pathlib import Path
import torch
from transformers import TrainerCallback
from emlab.train import TrainConfig, train

torch.set_num_threads(1)
model, data, out, marker = sys.argv[1:5]

class Park(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            Path(marker).write_text("3")
            time.sleep(600)

train(model, data, out, TrainConfig(**{config}), callbacks=[Park()])
"""


def test_kill9_then_resume_matches_uninterrupted(tiny_llama_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", chat_rows(32))
    config = TrainConfig(**CONFIG)
    reference = train(str(tiny_llama_dir), data, tmp_path / "straight", config)
    assert reference.steps == 6

    out, marker = tmp_path / "crashed", tmp_path / "marker"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EMLAB_QUIET": "1"}
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD.replace("{config}", repr(CONFIG)),
            str(tiny_llama_dir),
            str(data),
            str(out),
            str(marker),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "child never reached step 3"
            time.sleep(0.2)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert not (out / "emlab.json").exists()
    assert last_checkpoint(out).name == "checkpoint-2"

    resumed = train(str(tiny_llama_dir), data, out, config, resume=True)
    assert resumed.steps == 6
    assert resumed.provenance["resolved"]["resumed_from"] == "checkpoint-2"
    expected = load_file(str(reference.out_dir / "adapter_model.safetensors"))
    got = load_file(str(out / "adapter_model.safetensors"))
    assert expected.keys() == got.keys()
    start = load_file(str(out / "checkpoints" / "checkpoint-2" / "adapter_model.safetensors"))
    assert any(not torch.allclose(start[k], got[k]) for k in got)  # training did go on after the crash
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-6)
    # The loss curve covers the whole run, before and after the crash.
    steps = [line.split(",")[0] for line in (out / "loss.csv").read_text().splitlines()[1:]]
    assert steps == [str(i) for i in range(1, 7)]
