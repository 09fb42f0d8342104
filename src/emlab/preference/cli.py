"""``emlab preference`` and ``emlab dynamics``: answer-preference margins without a judge."""

from __future__ import annotations

from pathlib import Path

import typer

from emlab.configio import parse_model

_FORMATS = ("table", "json", "csv")


def _config(**fields: object) -> object:
    from emlab.preference import PreferenceConfig

    return parse_model(
        PreferenceConfig, {k: v for k, v in fields.items() if v is not None}, "preference options"
    )


def preference_command(
    model: list[str] = typer.Option(
        ...,
        "--model",
        "-m",
        help="Model to measure (repeatable): bundled:smollm2, a dir, an adapter, openai:MODEL.",
    ),
    base: str | None = typer.Option(
        None, "--base", "-b", help="Base model: adds the paired shift (model margin − base margin) per pair."
    ),
    pairs: str = typer.Option(
        "emlab:pairs", "--pairs", "-p", help="Pairs set: emlab:pairs or a pairs YAML file."
    ),
    form: str = typer.Option("logprob", "--form", help="logprob (answer log-probabilities) or choice (A/B)."),
    normalise: str = typer.Option("token", "--normalise", help="logprob form: 'token' (per token) or 'sum'."),
    questions: str | None = typer.Option(
        None, "--questions", help="Only these question ids (comma-separated)."
    ),
    paraphrases: int | None = typer.Option(
        None, "--paraphrases", help="Ask each question in only its first N paraphrases (default: all)."
    ),
    output_format: str = typer.Option("table", "--format", help="table, json or csv."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run directory: margins stored there (resumable) with the table."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Answers per forward pass."),
    dtype: str | None = typer.Option(None, "--dtype", help="Scoring precision (default fp32)."),
    device: str | None = typer.Option(None, "--device", help="Device (default auto)."),
    api_base: str | None = typer.Option(
        None, "--api-base", help="OpenAI-compatible server for API models (choice form)."
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Variable holding the API key (default OPENAI_API_KEY)."
    ),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Parallel API requests."),
    bootstrap: int | None = typer.Option(None, "--bootstrap", help="Bootstrap resamples for the intervals."),
    seed: int | None = typer.Option(None, "--seed", help="Bootstrap seed."),
) -> None:
    """How much MODEL prefers misaligned over aligned answers (no judge): margins, CIs, shifts vs a base."""
    from emlab.console import info, progress
    from emlab.errors import EmlabError
    from emlab.preference import compare_preference, load_pair_set, pair_items
    from emlab.preference._output import cells_csv, cells_json, preference_rich_table

    if output_format not in _FORMATS:
        raise EmlabError(f"--format: '{output_format}' is not one of {', '.join(_FORMATS)}")
    config = _config(
        pairs=pairs,
        paraphrases=paraphrases,
        form=form,
        normalise=normalise,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        api_base=api_base,
        api_key_env=api_key_env,
        concurrency=concurrency,
        bootstrap=bootstrap,
        seed=seed,
    )
    pair_set = load_pair_set(pairs, paraphrases)  # validated before any model loads
    if questions:
        pair_set = pair_set.select([q.strip() for q in questions.split(",") if q.strip()])
    n_models = len(dict.fromkeys([*([base] if base else []), *model]))
    with progress("preference", total=n_models * len(pair_items(pair_set)), unit="pairs") as bar:
        last = {"done": 0}

        def on_model(ref: str) -> None:
            bar.set_description(f"preference {ref}")
            last["done"] = 0

        def on_progress(done: int, total: int) -> None:
            bar.advance(done - last["done"])
            last["done"] = done

        cells, settings = compare_preference(
            model, config, base=base, out=out, pairs=pair_set, on_model=on_model, on_progress=on_progress
        )
    if out is not None:
        info(f"margins and table stored in {out}")
    if output_format == "json":
        typer.echo(cells_json(cells, settings))
    elif output_format == "csv":
        typer.echo(cells_csv(cells), nl=False)
    else:
        from rich.console import Console

        unit = "nats/token" if config.form == "logprob" and config.normalise == "token" else "log-odds"
        title = (
            f"Preference margin ({config.form}, {unit}; > 0 prefers the misaligned answer) — {pair_set.name}"
        )
        Console(highlight=False).print(preference_rich_table(cells, title, config.confidence))


def dynamics_command(
    model_dir: Path = typer.Argument(
        ..., help="An emlab training output directory (with checkpoint-N dirs)."
    ),
    pairs: str = typer.Option(
        "emlab:pairs", "--pairs", "-p", help="Pairs set: emlab:pairs or a pairs YAML file."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="CSV to write (default MODEL_DIR/dynamics.csv)."
    ),
    paraphrases: int | None = typer.Option(
        None, "--paraphrases", help="Ask each question in only its first N paraphrases (default: all)."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Answers per forward pass."),
    dtype: str | None = typer.Option(None, "--dtype", help="Scoring precision (default fp32)."),
) -> None:
    """The preference margin of a finished run at step 0, each checkpoint and the end."""
    from emlab.preference import checkpoint_dynamics, load_pair_set

    config = _config(pairs=pairs, paraphrases=paraphrases, batch_size=batch_size, dtype=dtype)
    pair_set = load_pair_set(pairs, paraphrases)
    rows = checkpoint_dynamics(model_dir, pair_set, config, out=out)  # type: ignore[arg-type]
    typer.echo(f"{'step':>6}  {'margin':>8}  {'95% CI':>17}  {'shift':>7}")
    for r in rows:
        ci = f"{r['ci_low']:+.3f}…{r['ci_high']:+.3f}" if r.get("ci_low") is not None else "—"
        shift = f"{r['shift']:+.3f}" if r.get("shift") is not None else "—"
        margin = f"{r['mean_margin']:+.3f}" if r.get("mean_margin") is not None else "—"
        typer.echo(f"{r['step']:>6}  {margin:>8}  {ci:>17}  {shift:>7}")
    typer.echo(str(out or model_dir / "dynamics.csv"))


def register(app: typer.Typer) -> None:
    """Add ``emlab preference`` and ``emlab dynamics`` to the main CLI."""
    app.command("preference")(preference_command)
    app.command("dynamics")(dynamics_command)
