"""``emlab questions show SET``."""

from __future__ import annotations

import json

import typer

questions_app = typer.Typer(
    help="Question sets: built-in (emlab:core), pulled, imported or YAML files.", no_args_is_help=True
)


@questions_app.command("show")
def show_command(
    ref: str = typer.Argument(..., help="emlab:core, betley2025:first_plot_questions, or a YAML path."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the questions of a set: ids, paraphrase counts, samples, system prompts and judge metrics."""
    from rich.table import Table

    from emlab.console import console
    from emlab.questions import load_question_set

    qset = load_question_set(ref)
    if as_json:
        typer.echo(qset.model_dump_json(indent=2))
        return
    table = Table(title=f"{qset.name} ({len(qset.questions)} questions)")
    for col in ("id", "type", "paraphrases", "samples/para", "temp", "system", "judge", "metrics"):
        table.add_column(col)
    for q in qset.questions:
        system = "" if q.system is None else (q.system[:30] + ("…" if len(q.system) > 30 else ""))
        table.add_row(
            q.id,
            q.type,
            str(len(q.paraphrases)),
            str(q.samples_per_paraphrase),
            f"{q.temperature:g}",
            system,
            q.judge or "",
            ", ".join(q.judge_prompts),
        )
    console.print(table)
    total = sum(len(q.paraphrases) * q.samples_per_paraphrase for q in qset.questions)
    console.print(f"samples per model: {total}; metrics: {', '.join(qset.metrics())}")
    if any(q.extra for q in qset.questions):
        console.print(json.dumps({q.id: q.extra for q in qset.questions if q.extra}, default=str))


def register(app: typer.Typer) -> None:
    """Add the question-set commands to the main CLI."""
    app.add_typer(questions_app, name="questions")
