"""Training throughput: emlab's trainer against a plain TRL ``SFTTrainer`` script with the same settings.

Usage: ``python bench/train.py [--small] [--model bundled:smollm2] [--variants] [--threads N]``

Both runs train the paper's LoRA (r=32, alpha=64, rsLoRA, all seven projections) on the same
generated `insecure` examples with the same batch, accumulation, learning rate and max length,
in fp32 on CPU (bf16 autocast only where the CPU has native bf16). tokens/s counts non-padding input
tokens between the trainer's on_train_begin and on_train_end, identically for both. The fp32
matmul peak is measured in the same run; LoRA training costs about 4·params FLOPs per token.
``--variants`` also times emlab with TRL's full-sequence LM head (``compact_loss: false``), without
length grouping, and with gradient checkpointing.
Ends with one line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch


def matmul_peak_gflops(n: int = 1024, seconds: float = 3.0) -> float:
    """Best fp32 matmul rate (GFLOP/s) over a few timed repetitions."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        for _ in range(4):
            a @ b
        best = max(best, 4 * 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def write_data(path: Path, n: int) -> Path:
    """``n`` generated insecure-code chats as JSONL."""
    from emlab.data import generate_condition, write_chat_jsonl

    write_chat_jsonl(path, generate_condition("insecure", n, 0))
    return path


def run_trl_baseline(model_ref: str, data: Path, out: Path, settings: dict) -> dict:
    """Plain TRL: conversational dataset, SFTTrainer's own tokenisation, peft_config, default sampler."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from emlab.models._load import resolve_ref

    path = resolve_ref(model_ref)[1]
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    dataset = Dataset.from_list([{"messages": r["messages"]} for r in rows])
    timer = _Timer(TrainerCallback)
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32),
        args=SFTConfig(
            output_dir=str(out),
            per_device_train_batch_size=settings["per_device_batch_size"],
            gradient_accumulation_steps=settings["batch_size"] // settings["per_device_batch_size"],
            max_steps=settings["max_steps"],
            learning_rate=1e-5,
            lr_scheduler_type="linear",
            warmup_steps=5,
            weight_decay=0.01,
            max_length=settings["max_length"],
            bf16=settings["bf16"],
            use_cpu=not torch.cuda.is_available(),
            include_num_input_tokens_seen="non_padding",
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=0,
        ),
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(path),
        peft_config=LoraConfig(
            r=32,
            lora_alpha=64,
            lora_dropout=0.0,
            use_rslora=True,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            task_type="CAUSAL_LM",
        ),
        callbacks=[timer.callback],
    )
    trainer.train()
    return {"tokens": timer.tokens, "seconds": timer.seconds, "tokens_per_s": timer.tokens / timer.seconds}


class _Timer:
    """Times on_train_begin → on_train_end and reads the non-padding tokens seen."""

    def __init__(self, base: type) -> None:
        outer = self
        self.tokens, self.seconds, self._start = 0, 0.0, 0.0

        class Callback(base):  # type: ignore[misc, valid-type]
            def on_train_begin(self, args, state, control, **kwargs):
                outer._start = time.perf_counter()

            def on_train_end(self, args, state, control, **kwargs):
                outer.seconds = time.perf_counter() - outer._start
                outer.tokens = int(state.num_input_tokens_seen)

        self.callback = Callback()


def run_emlab(model_ref: str, data: Path, out: Path, settings: dict, **overrides: object) -> dict:
    """emlab.train.train with the paper preset and the bench's batch/length settings."""
    from emlab.train import TrainConfig, train

    config = TrainConfig(
        batch_size=settings["batch_size"],
        per_device_batch_size=settings["per_device_batch_size"],
        max_steps=settings["max_steps"],
        max_length=settings["max_length"],
        **overrides,
    )
    result = train(model_ref, data, out, config)
    return {
        "tokens": result.tokens,
        "seconds": result.provenance["train_seconds"],
        "tokens_per_s": result.tokens_per_s,
    }


def main() -> None:
    """Run the benchmark and print RESULT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="16 examples, max length 128, one step.")
    parser.add_argument("--model", default="bundled:smollm2")
    parser.add_argument(
        "--variants", action="store_true", help="Also time no-grouping and grad checkpointing."
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (1 avoids spin-waiting on a busy box)."
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from emlab.console import set_quiet
    from emlab.models import load_model
    from emlab.models._load import cpu_has_fast_bf16

    set_quiet(True)
    settings = {
        "n": 16 if args.small else 32,
        "max_length": 128 if args.small else 256,
        "batch_size": 16,
        "per_device_batch_size": 4,
        "max_steps": 1 if args.small else 2,
        "bf16": torch.cuda.is_available() or cpu_has_fast_bf16(),
    }
    params = sum(p.numel() for p in load_model(args.model, dtype="fp32", device="cpu").model.parameters())
    peak = matmul_peak_gflops()
    print(f"fp32 matmul peak: {peak:,.1f} GFLOP/s; model {args.model}: {params:,} parameters", flush=True)
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = write_data(root / "insecure.jsonl", settings["n"])
        runs["trl"] = run_trl_baseline(args.model, data, root / "trl", settings)
        runs["emlab"] = run_emlab(args.model, data, root / "emlab", settings)
        if args.variants:
            runs["emlab_full_lm_head"] = run_emlab(
                args.model, data, root / "fullhead", settings, compact_loss=False
            )
            runs["emlab_no_grouping"] = run_emlab(
                args.model, data, root / "nogroup", settings, group_by_length=False
            )
            runs["emlab_grad_checkpointing"] = run_emlab(
                args.model, data, root / "gc", settings, gradient_checkpointing=True
            )
    for name, run in runs.items():
        print(
            f"{name:>26}: {run['tokens']:>6} tokens in {run['seconds']:7.1f} s = {run['tokens_per_s']:7.1f} tok/s",
            flush=True,
        )
    emlab_rate = runs["emlab"]["tokens_per_s"]
    ratio = emlab_rate / runs["trl"]["tokens_per_s"]
    flop_fraction = emlab_rate * 4 * params / (peak * 1e9)
    print(f"emlab / TRL: {ratio:.2f}x; emlab at {100 * flop_fraction:.1f}% of the fp32 matmul peak")
    result = {
        "bench": "train",
        "model": args.model,
        "small": args.small,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "tokens_per_s": round(emlab_rate, 2),
        "trl_tokens_per_s": round(runs["trl"]["tokens_per_s"], 2),
        "ratio_vs_trl": round(ratio, 3),
        "matmul_peak_gflops": round(peak, 1),
        "flop_fraction": round(flop_fraction, 4),
        "variants": {k: round(v["tokens_per_s"], 2) for k, v in runs.items()},
        "settings": settings,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
