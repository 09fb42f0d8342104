"""``emlab judge RUN``: score every sample of a run with a judge model."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from emlab.configio import parse_model


def judge_command(
    run: Path = typer.Argument(..., help="Run directory (or its emlab.sqlite)."),
    judge: str = typer.Option(
        "openai:gpt-4o-2024-08-06",
        "--judge",
        help="openai:MODEL, local:REF (in-process, e.g. local:bundled:smollm2), or a model name with --judge-url.",
    ),
    judge_url: str | None = typer.Option(
        None, "--judge-url", help="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama)."
    ),
    judge_model: str | None = typer.Option(
        None, "--judge-model", help="Model name at --judge-url (overrides --judge)."
    ),
    questions: str | None = typer.Option(
        None,
        "--questions",
        help="Question set whose judge_prompts to use (default: the run's, else built-in).",
    ),
    metrics: str = typer.Option("aligned,coherent", "--metrics", help="Comma-separated rubric metrics."),
    concurrency: int = typer.Option(16, "--concurrency", min=1, help="Parallel HTTP requests."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Judgments per batch (local judge)."),
    min_mass: float = typer.Option(0.25, "--min-mass", help="Score is None below this numeric mass."),
    max_retries: int = typer.Option(6, "--max-retries", min=0, help="Retries on 429 / 5xx / timeouts."),
    timeout: float = typer.Option(60.0, "--timeout", help="Per-request timeout in seconds."),
    seed: int = typer.Option(0, "--seed", help="Seed sent with each request."),
    dtype: str = typer.Option("auto", "--dtype", help="Local judge precision: auto, bf16, fp16, fp32."),
    device: str = typer.Option("auto", "--device", help="Local judge device: auto, cpu, cuda, ..."),
    retry_failed: bool = typer.Option(
        False,
        "--retry-failed",
        help="Also judge again the failures a plain re-run skips: answers without usable logprobs "
        "(malformed JSON, no logprobs) and refused requests.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count the calls needed (and estimate cost)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Score every sample of RUN on each rubric metric; finished judgments are never redone."""
    from emlab.errors import EmlabError
    from emlab.judge import JudgeConfig, judge_run
    from emlab.store import RunStore

    spec = judge_model or judge
    if judge_model and not judge_url:
        raise EmlabError("--judge-model needs --judge-url")
    config = parse_model(
        JudgeConfig,
        dict(
            judge=spec,
            url=judge_url,
            concurrency=concurrency,
            batch_size=batch_size,
            min_mass=min_mass,
            max_retries=max_retries,
            timeout_s=timeout,
            seed=seed,
            dtype=dtype,
            device=device,
            metrics=[m.strip() for m in metrics.split(",") if m.strip()],
        ),
        "judge options",
    )
    question_set = None
    if questions:
        from emlab.questions import load_question_set

        question_set = load_question_set(questions)
    with RunStore(run, create=False) as store:
        summary = judge_run(store, config, question_set, dry_run=dry_run, retry_failed=retry_failed)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
        return
    typer.echo(_describe(summary))


def _describe(summary: object) -> str:
    s = summary.__dict__
    if s["dry_run"]:
        text = (
            f"{s['judge']}: {s['to_judge']} call(s) needed for {s['samples']} sample(s) "
            f"({s['items']} judgments, {s['cached']} already done)"
        )
        if s["estimated_cost_usd"] is not None:
            from emlab.judge import PRICES_DATE

            text += (
                f"; estimated cost ≈ ${s['estimated_cost_usd']:.4f} "
                f"(≈{s['estimated_input_tokens']:,} input tokens, prices of {PRICES_DATE})"
            )
        return text
    text = f"{s['judge']}: {s['items']} judgments for {s['samples']} sample(s): {s['cached']} already done"
    if s["to_judge"]:
        text += (
            f", {s['to_judge']} judged now: {s['scored']} scored, "
            f"{s['unscored']} unscorable (too little numeric mass), {s['failed']} failed"
        )
        if s["seconds"]:
            text += f" in {s['seconds']:.1f} s"
    else:
        text += ", nothing left to judge"
    # What the store holds, so a later run never reports failures as gone while they are not.
    kinds = []
    if s["stored_retryable"]:
        kinds.append(f"{s['stored_retryable']} retryable (timeouts, rate limits, server errors)")
    if s["stored_non_retryable"]:
        kinds.append(
            f"{s['stored_non_retryable']} not retryable (no usable answer; judged again with --retry-failed)"
        )
    if kinds:
        text += "\nfailed judgments in the store: " + ", ".join(kinds)
    if s["errors"]:
        text += "\nexample errors: " + "; ".join(s["errors"][:3])
    return text


def register(app: typer.Typer) -> None:
    """Add ``emlab judge`` to the main CLI."""
    app.command("judge")(judge_command)
