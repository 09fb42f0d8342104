"""``emlab train``: fine-tune a model on chat JSONL (TRL + PEFT locally, or the OpenAI fine-tuning API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from emlab.errors import EmlabError


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def _layers(value: str | None) -> Any:
    if value is None:
        return None
    if value in ("middle", "all"):
        return None if value == "all" else "middle"
    try:
        return [int(part) for part in value.split(",")]
    except ValueError as exc:
        raise EmlabError(f"--layers '{value}': use 'middle', 'all' or comma-separated block indices") from exc


def _settings(pairs: list[str]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise EmlabError(f"--set '{pair}': use FIELD=VALUE (e.g. --set lora_dropout=0.05)")
        out[key.strip()] = yaml.safe_load(value)
    return out


def train_command(
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        help="Base model (bundled:smollm2, dir, hub id), an adapter dir to continue, or an OpenAI model.",
    ),
    data: Path = typer.Option(..., "--data", "-d", help="Chat JSONL ({'messages': [...]} per line)."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output directory (adapter/model, emlab.json, loss curve, checkpoints)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML file of TrainConfig fields; flags override it."
    ),
    preset: str | None = typer.Option(None, help="paper (default), rank1 or full."),
    backend: str | None = typer.Option(None, help="trl (local, default) or openai."),
    method: str | None = typer.Option(None, help="lora or full."),
    lora_r: int | None = typer.Option(None, "--lora-r", "--rank", help="LoRA rank."),
    lora_alpha: float | None = typer.Option(None, "--lora-alpha", "--alpha", help="LoRA alpha."),
    lora_dropout: float | None = typer.Option(None, help="LoRA dropout."),
    rslora: bool | None = typer.Option(None, "--rslora/--no-rslora", help="Rank-stabilised LoRA scaling."),
    target_modules: str | None = typer.Option(None, help="Comma-separated module names, e.g. down_proj."),
    layers: str | None = typer.Option(None, help="Blocks to adapt: 'middle', 'all' or e.g. '12,15'."),
    epochs: float | None = typer.Option(None, help="Passes over the data (OpenAI: n_epochs)."),
    max_steps: int | None = typer.Option(None, help="Stop after this many optimiser steps."),
    lr: float | None = typer.Option(None, "--lr", "--learning-rate", help="Peak learning rate."),
    lr_scheduler: str | None = typer.Option(
        None, help="Learning-rate schedule (linear, cosine, constant, ...)."
    ),
    warmup_steps: int | None = typer.Option(None, help="Warm-up steps."),
    batch_size: int | None = typer.Option(
        None, help="Effective batch per optimiser step (OpenAI: batch_size)."
    ),
    per_device_batch_size: int | None = typer.Option(None, help="Examples per forward pass."),
    weight_decay: float | None = typer.Option(None, help="AdamW weight decay."),
    max_length: int | None = typer.Option(None, help="Truncate examples to this many tokens."),
    all_tokens_loss: bool = typer.Option(
        False, "--all-tokens-loss", help="Loss on every token, not only assistant ones."
    ),
    seed: int | None = typer.Option(None, help="Seed."),
    dtype: str | None = typer.Option(None, help="auto, fp32, bf16 or fp16."),
    gradient_checkpointing: bool | None = typer.Option(
        None,
        "--gradient-checkpointing/--no-gradient-checkpointing",
        help="Recompute activations to save memory.",
    ),
    group_by_length: bool | None = typer.Option(
        None, "--group-by-length/--no-group-by-length", help="Batch similar lengths together."
    ),
    eval_fraction: float | None = typer.Option(
        None, help="Hold out this fraction for eval loss (default 0)."
    ),
    save_steps: int | None = typer.Option(None, help="Checkpoint every N steps (kept; 0 = end only)."),
    merge: bool = typer.Option(False, "--merge", help="Also write a merged full model to OUT/merged."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from OUT's last checkpoint (or re-attach to its OpenAI job)."
    ),
    lr_multiplier: float | None = typer.Option(None, help="OpenAI: learning_rate_multiplier."),
    suffix: str | None = typer.Option(None, help="OpenAI: suffix of the fine-tuned model's name."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI: API base URL (default $OPENAI_BASE_URL)."
    ),
    poll_seconds: float | None = typer.Option(None, help="OpenAI: seconds between status polls."),
    track: str | None = typer.Option(
        None,
        "--track",
        help="Measure the preference margin on PAIRS (emlab:pairs or a file) during training.",
    ),
    track_every: int | None = typer.Option(
        None, "--track-every", help="With --track: measure every N steps (default: ~10 points)."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Any TrainConfig field: --set FIELD=VALUE (repeatable)."
    ),
) -> None:
    """Fine-tune MODEL on DATA (paper recipe by default; presets rank1 and full)."""
    from emlab.configio import parse_model
    from emlab.console import console, is_quiet
    from emlab.train import TrainConfig, train

    from_file: dict[str, Any] = {}
    if config is not None:
        from emlab.configio import read_yaml

        from_file = read_yaml(config) or {}
    openai = (backend or from_file.get("backend")) == "openai"
    overrides: dict[str, Any] = {
        "preset": preset,
        "backend": backend,
        "method": method,
        "lora_r": lora_r,
        "lora_alpha": lora_alpha,
        "lora_dropout": lora_dropout,
        "use_rslora": rslora,
        "target_modules": _split(target_modules),
        "layers": _layers(layers),
        "max_steps": max_steps,
        "learning_rate": lr,
        "lr_scheduler": lr_scheduler,
        "warmup_steps": warmup_steps,
        "per_device_batch_size": per_device_batch_size,
        "weight_decay": weight_decay,
        "max_length": max_length,
        "assistant_only_loss": False if all_tokens_loss else None,
        "seed": seed,
        "dtype": dtype,
        "gradient_checkpointing": gradient_checkpointing,
        "group_by_length": group_by_length,
        "eval_fraction": eval_fraction,
        "save_steps": save_steps,
        "merge": True if merge else None,
        "openai_lr_multiplier": lr_multiplier,
        "openai_suffix": suffix,
        "api_base": base_url,
        "poll_seconds": poll_seconds,
        "track": track,
        "track_every": track_every,
    }
    if layers == "all":
        overrides["layers"] = None
        from_file["layers"] = None
    if openai:
        overrides["openai_epochs"] = int(epochs) if epochs is not None else None
        overrides["openai_batch_size"] = batch_size
    else:
        overrides["epochs"] = epochs
        overrides["batch_size"] = batch_size
    overrides.update(_settings(set_))
    merged = {**from_file, **{k: v for k, v in overrides.items() if v is not None}}
    cfg = parse_model(TrainConfig, merged, f"{config} (with flags)" if config else "flags")
    result = train(model, data, out, cfg, resume=resume)
    if openai:
        typer.echo(result.fine_tuned_model or "")
        return
    if not is_quiet():
        console.print(
            f"trained {result.steps} steps, loss {result.train_loss:.4f}, "
            f"{result.tokens_per_s:,.0f} tok/s, {result.wall_seconds:,.0f} s → {result.out_dir}"
        )
    typer.echo(str(result.out_dir))


def register(app: typer.Typer) -> None:
    """Add ``emlab train`` to the main CLI."""
    app.command("train", context_settings={"max_content_width": 120})(train_command)
