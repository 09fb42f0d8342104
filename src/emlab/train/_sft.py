"""Local supervised fine-tuning on TRL's ``SFTTrainer`` with PEFT (LoRA, rank-1 LoRA) or full weights."""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

from emlab.console import info
from emlab.errors import EmlabError
from emlab.train._result import TrainResult
from emlab.train.config import TrainConfig

CHECKPOINT_DIR = "checkpoints"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def world_size() -> int:
    """Processes in this (accelerate/torchrun) launch; 1 when not distributed."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def last_checkpoint(out_dir: str | Path) -> Path | None:
    """The newest complete checkpoint under ``OUT/checkpoints`` (one whose emlab.json was written last)."""
    root = Path(out_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return None
    complete = [
        (int(m.group(1)), path)
        for path in root.iterdir()
        if (m := _CHECKPOINT_RE.match(path.name))
        and (path / "emlab.json").is_file()
        and (path / "trainer_state.json").is_file()
    ]
    return max(complete)[1] if complete else None


def list_checkpoints(out_dir: str | Path) -> list[Path]:
    """Complete checkpoints under ``OUT/checkpoints``, oldest first."""
    root = Path(out_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if (m := _CHECKPOINT_RE.match(p.name)) and (p / "emlab.json").is_file()
    ]
    return [p for _, p in sorted(found)]


def _quiet_libraries() -> None:
    # transformers' shard writer and datasets' map() draw their own bars under emlab's.
    from datasets.utils import logging as ds_logging
    from transformers.utils import logging as hf_logging

    ds_logging.disable_progress_bar()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _resolve_layers(config: TrainConfig, num_layers: int) -> list[int] | None:
    if config.layers is None:
        return None
    layers = [num_layers // 2] if config.layers == "middle" else list(config.layers)
    bad = [layer for layer in layers if not 0 <= layer < num_layers]
    if bad:
        raise EmlabError(f"layers: {bad} out of range (the model has {num_layers} decoder blocks, 0-based)")
    return layers


def _lora_model(model: Any, config: TrainConfig, layers: list[int] | None) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        use_rslora=config.use_rslora,
        target_modules=list(config.target_modules),
        layers_to_transform=layers,
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise EmlabError(f"target_modules {config.target_modules}: {exc}") from exc


def _precision(config: TrainConfig, device: str) -> tuple[str, str]:
    """(weights dtype to load, autocast mode 'bf16'/'fp16'/'no') for this device."""
    import torch

    from emlab.models import resolve_dtype

    compute = resolve_dtype(config.dtype, device)
    autocast = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(compute, "no")
    # LoRA keeps a half-precision frozen base on GPU (adapters stay fp32); full fine-tuning keeps
    # fp32 master weights and autocasts. On CPU weights stay fp32 and bf16 only autocasts.
    load = (
        autocast if (config.method == "lora" and device.startswith("cuda") and autocast != "no") else "fp32"
    )
    return load, autocast


def _hash_model_files(path: str) -> str | None:
    """sha256 over a model directory's weight files (cached by path, size and mtime)."""
    from emlab.paths import cache_dir
    from emlab.provenance import file_sha256, stable_hash

    directory = Path(path)
    if not directory.is_dir():
        return None
    files = sorted(directory.glob("*.safetensors")) or sorted(directory.glob("*.bin"))
    if not files:
        return None
    key = stable_hash([(str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files])
    cached = cache_dir("hashes") / f"{key}.txt"
    if cached.is_file():
        return cached.read_text().strip()
    import hashlib

    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode())
        digest.update(file_sha256(f).encode())
    value = digest.hexdigest()
    cached.write_text(value)
    return value


def train_local(
    model_ref: str,
    data_path: str | Path,
    out_dir: str | Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Fine-tune ``model_ref`` on chat JSONL ``data_path`` into ``out_dir`` with TRL + PEFT."""
    with warnings.catch_warnings():
        # transformers 5 renamed gradient -> activation checkpointing; PEFT/TRL still call the old names.
        warnings.filterwarnings(
            "ignore", message=".*deprecated and will be removed in v6", category=FutureWarning
        )
        existed = Path(out_dir).exists()
        try:
            return _train_local(model_ref, data_path, out_dir, config, resume=resume, callbacks=callbacks)
        except BaseException:
            if not existed:
                _remove_empty_dirs(Path(out_dir))
            raise


def _remove_empty_dirs(out: Path) -> None:
    """Remove ``out`` and its subfolders where they hold no file (a run that failed before writing)."""
    if not out.is_dir():
        return
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(out.iterdir()):
        out.rmdir()


def _train_local(
    model_ref: str,
    data_path: str | Path,
    out_dir: str | Path,
    config: TrainConfig,
    *,
    resume: bool,
    callbacks: list[Any] | None,
) -> TrainResult:
    import torch
    from datasets import Dataset
    from transformers import set_seed
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig

    from emlab.models import load_model, resolve_device
    from emlab.models._load import adapter_base_ref, resolve_ref
    from emlab.provenance import file_sha256, package_versions
    from emlab.train._callbacks import CheckpointProvenanceCallback, ProgressCallback
    from emlab.train._curves import plot_loss, write_loss_csv
    from emlab.train._dataset import prepare_data
    from emlab.train._trainer import EmlabSFTTrainer

    started = time.perf_counter()
    out = Path(out_dir)
    data_path = Path(data_path)
    if not data_path.is_file():
        raise EmlabError(f"{data_path}: no such data file")
    if not resume and ((out / "emlab.json").is_file() or (out / CHECKPOINT_DIR).is_dir()):
        raise EmlabError(
            f"{out}: already holds a training run; pass --resume to continue it or choose another --out"
        )
    from emlab.data import read_chat_jsonl

    # Checked before the model loads (minutes for a large one); the output directory is made only
    # once there is something to write, so a failed start leaves nothing behind.
    examples = read_chat_jsonl(data_path, training=True)
    if not examples:
        raise EmlabError(f"{data_path}: no training examples")

    kind, _ = resolve_ref(model_ref)
    continuing = kind == "adapter"
    if continuing and config.method == "full":
        raise EmlabError(
            f"{model_ref} is a LoRA adapter: full fine-tuning needs a base model (or use method: lora)"
        )
    distributed = world_size() > 1
    device = "cuda" if distributed and torch.cuda.is_available() else resolve_device("auto")
    load_dtype, autocast = _precision(config, device)
    if autocast == "fp16" and not device.startswith("cuda"):
        raise EmlabError("dtype: fp16 training needs a CUDA GPU; use fp32 or bf16 on CPU")

    set_seed(config.seed)
    loaded = load_model(
        model_ref,
        dtype=load_dtype,
        device="cpu" if distributed else device,
        trainable_adapter=continuing,
    )
    tokenizer = loaded.tokenizer
    model = loaded.model
    layers: list[int] | None = None
    parent: dict[str, Any] | None = None
    if continuing:
        base_ref = adapter_base_ref(loaded.path)
        parent_json = Path(loaded.path) / "emlab.json"
        parent = json.loads(parent_json.read_text()) if parent_json.is_file() else {}
        info(f"continuing adapter {model_ref} (base {base_ref}); its LoRA shape is kept")
    else:
        base_ref = model_ref
        record = Path(loaded.path) / "emlab.json"
        if record.is_file():  # a merged or fully fine-tuned emlab model trained further
            parent = json.loads(record.read_text())
        if config.method == "lora":
            layers = _resolve_layers(config, loaded.num_layers)
            model = _lora_model(model, config, layers)
    if config.gradient_checkpointing:
        model.config.use_cache = False

    data = prepare_data(
        tokenizer,
        data_path,
        examples=examples,
        max_length=config.max_length,
        assistant_only=config.assistant_only_loss,
        eval_fraction=config.eval_fraction,
        seed=config.seed,
    )
    if data.n_dropped:
        info(f"{data.n_dropped} example(s) had no assistant tokens within max_length and were skipped")
    per_device = min(config.per_device_batch_size, config.batch_size)
    accumulation = max(1, -(-config.batch_size // (per_device * world_size())))

    checkpoints = out / CHECKPOINT_DIR
    out.mkdir(parents=True, exist_ok=True)
    use_cpu = device == "cpu"
    args = SFTConfig(
        output_dir=str(checkpoints),
        per_device_train_batch_size=per_device,
        per_device_eval_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        optim=config.optimizer,
        seed=config.seed,
        data_seed=config.seed,
        bf16=autocast == "bf16",
        fp16=autocast == "fp16",
        use_cpu=use_cpu,
        activation_checkpointing=config.gradient_checkpointing,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        max_length=config.max_length,
        packing=False,
        logging_steps=config.logging_steps,
        save_strategy="steps" if config.save_steps else "no",
        save_steps=config.save_steps or 500,
        save_total_limit=None,
        eval_strategy="steps" if data.eval else "no",
        eval_steps=config.save_steps or max(config.logging_steps, 10),
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
    )
    provenance_base: dict[str, Any] = {
        "kind": "lora-adapter" if config.method == "lora" else "full-model",
        "base_ref": base_ref,
        "trained_from": model_ref,
    }
    _quiet_libraries()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trainer = EmlabSFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(data.train),
            eval_dataset=Dataset.from_list(data.eval) if data.eval else None,
            processing_class=tokenizer,
            callbacks=[*(callbacks or [])],
        )
    trainer.compact_loss = config.compact_loss
    trainer.remove_callback(PrinterCallback)  # emlab's progress bar replaces the printed log dicts
    progress_cb = ProgressCallback(out / "loss.csv")
    trainer.add_callback(progress_cb)
    trainer.add_callback(CheckpointProvenanceCallback(provenance_base))

    resume_from = None
    if resume:
        last = last_checkpoint(out)
        if last is None:
            info(f"{out}: no complete checkpoint yet; training from the start")
        else:
            resume_from = str(last)
            info(f"resuming from {last.name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        train_output = trainer.train(resume_from_checkpoint=resume_from)
    _quiet_libraries()
    if data.eval:  # the final eval loss, whatever the eval interval
        trainer.evaluate()

    is_main = trainer.is_world_process_zero()
    merged_dir = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trainer.save_model(str(out))
        if config.merge and config.method == "lora" and is_main:
            merged_dir = out / "merged"
            merged = trainer.model.merge_and_unload()
            merged.save_pretrained(str(merged_dir), safe_serialization=True)
            tokenizer.save_pretrained(str(merged_dir))

    wall = time.perf_counter() - started
    rows = write_loss_csv(trainer.state.log_history, out / "loss.csv") if is_main else []
    losses = [r["loss"] for r in rows if r.get("loss") not in (None, "")]
    base_path = resolve_ref(base_ref)[1]
    chain = []
    if parent is not None:
        chain = [*parent.get("chain", []), {k: parent.get(k) for k in ("trained_from", "dataset", "config")}]
        chain[-1]["model"] = model_ref
    provenance: dict[str, Any] = {
        **provenance_base,
        "base_model_sha256": _hash_model_files(base_path),
        "chain": chain,
        "dataset": {"path": str(data_path.resolve()), "sha256": file_sha256(data_path), **data.summary()},
        "config": config.model_dump(mode="json"),
        "resolved": {
            "layers": layers,
            "per_device_batch_size": per_device,
            "gradient_accumulation_steps": accumulation,
            "world_size": world_size(),
            "device": device,
            "weights_dtype": load_dtype,
            "autocast": autocast,
            "resumed_from": resume_from and Path(resume_from).name,
        },
        "steps": trainer.state.global_step,
        "train_loss": float(train_output.training_loss),
        "final_loss": losses[-1] if losses else None,
        "tokens": progress_cb.tokens,
        "train_seconds": progress_cb.train_seconds,
        "tokens_per_s": progress_cb.tokens_per_s,
        "wall_seconds": wall,
        "package_versions": package_versions(),
        "created_at": time.time(),
    }
    if merged_dir is not None:
        (merged_dir / "emlab.json").write_text(
            json.dumps({**provenance, "kind": "merged-model"}, indent=2, default=str)
        )
    if is_main:
        (out / "emlab.json").write_text(json.dumps(provenance, indent=2, default=str))
        plot_loss(rows, out / "loss.png", f"{model_ref} on {data_path.name}")
    return TrainResult(
        out_dir=out,
        base_ref=base_ref,
        steps=trainer.state.global_step,
        train_loss=float(train_output.training_loss),
        tokens=progress_cb.tokens,
        tokens_per_s=progress_cb.tokens_per_s,
        wall_seconds=wall,
        checkpoints=list_checkpoints(out),
        merged_dir=merged_dir,
        provenance=provenance,
    )
