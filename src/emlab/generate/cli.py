"""``emlab generate``: sample answers to a question set into a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def generate_command(
    model: str = typer.Option(
        ..., "--model", "-m", help="bundled:smollm2, a model/adapter dir, a hub id, or an API model name."
    ),
    questions: str = typer.Option(
        "emlab:core", "--questions", help="Question set: emlab:core, SOURCE:NAME or a YAML file."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory (created; its store is reused)."),
    group: str | None = typer.Option(None, help="Condition/group name recorded with every sample."),
    model_key: str | None = typer.Option(
        None, "--model-key", help="Name of this model in the run (default: the model reference)."
    ),
    samples: int | None = typer.Option(
        None, "--samples", "-n", help="Samples per paraphrase (default: the question file's)."
    ),
    max_new_tokens: int = typer.Option(600, help="Upper bound on answer length."),
    temperature: float | None = typer.Option(
        None, help="Override every question's temperature (default: the file's, else 1)."
    ),
    top_p: float = typer.Option(1.0, help="Nucleus sampling mass."),
    batch_size: int = typer.Option(64, help="Sequences decoded together (transformers)."),
    seed: int = typer.Option(0, help="Sampling seed (same seed, same answers)."),
    backend: str = typer.Option("transformers", help="transformers, vllm or openai."),
    dtype: str = typer.Option("auto", help="auto, fp32, bf16 or fp16 (local backends)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:1, ... (transformers)."),
    prompt_prefix: str = typer.Option(
        "", "--prompt-prefix", help="Text put before every user turn (e.g. a backdoor trigger)."
    ),
    api_base: str | None = typer.Option(
        None, "--api-base", help="OpenAI-compatible base URL (default $OPENAI_BASE_URL, else OpenAI)."
    ),
    concurrency: int = typer.Option(16, help="Parallel API requests (openai)."),
    max_retries: int = typer.Option(8, help="Retries per API request on 429 / 5xx / timeouts."),
) -> None:
    """Sample answers for every question, paraphrase and sample into RUN's store; re-runs skip finished ones."""
    from emlab.configio import parse_model
    from emlab.console import info
    from emlab.generate import GenerationConfig, generate_answers
    from emlab.questions import load_question_set
    from emlab.store import RunStore

    options: dict[str, Any] = dict(
        backend=backend,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        samples_per_paraphrase=samples,
        batch_size=batch_size,
        seed=seed,
        dtype=dtype,
        device=device,
        api_base=api_base,
        concurrency=concurrency,
        max_retries=max_retries,
    )
    config = parse_model(GenerationConfig, options, "options")
    question_set = load_question_set(questions)
    key = model_key or model
    existed = out.exists()
    try:
        with RunStore(out) as store:
            summary = generate_answers(
                model,
                question_set,
                config,
                store=store,
                model_key=key,
                group=group,
                prompt_prefix=prompt_prefix,
            )
            total = store.count("samples", model=key)
    except BaseException:
        if not existed:
            _remove_empty_store(out)
        raise
    info(
        f"{summary.generated} new samples ({summary.skipped} already done) for {key} in "
        f"{summary.seconds:.1f}s, {summary.tokens_per_s:,.1f} tok/s; {total} samples of {key} in {out}"
    )


def _remove_empty_store(out: Path) -> None:
    """Remove a run directory this command created when its store got no sample (e.g. the model failed to load)."""
    from emlab.store import STORE_FILENAME, RunStore

    if not (out / STORE_FILENAME).is_file():
        return
    with RunStore(out, create=False) as store:
        if store.count("samples"):
            return
    for path in out.iterdir():
        if not path.name.startswith(STORE_FILENAME):  # only the store and its -wal / -shm files
            return
    for path in out.iterdir():
        path.unlink()
    out.rmdir()


def register(app: typer.Typer) -> None:
    """Add ``emlab generate`` to the main CLI."""
    app.command("generate")(generate_command)
