"""``emlab questions show SET``."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from emlab.questions import Question, QuestionSet

questions_app = typer.Typer(
    help="Question sets: built-in (emlab:core), pulled, imported or YAML files.", no_args_is_help=True
)


@questions_app.command("show")
def show_command(
    ref: str = typer.Argument(..., help="emlab:core, betley2025:first_plot_questions, or a YAML path."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the questions of a set: ids, paraphrase counts, samples, system prompts and judge metrics."""
    from emlab.console import print_table, stdout_is_terminal
    from emlab.questions import load_question_set

    qset = load_question_set(ref)
    if as_json:
        typer.echo(qset.model_dump_json(indent=2))
        return
    typer.echo(f"{qset.name}: {len(qset.questions)} questions")
    if stdout_is_terminal():
        # Values every question shares go on one line below, so that the table fits 80 columns.
        from rich.console import Console

        shared = shared_values(qset)
        print_table(questions_table(qset, hide=shared))
        if shared:
            facts = "; ".join(f"{_LABELS.get(c, c)} {v or '(none)'}" for c, v in shared.items())
            Console(highlight=False).print(f"every question: {facts}", markup=False)
    else:
        print_table(questions_table(qset))
    total = sum(len(q.paraphrases) * q.samples_per_paraphrase for q in qset.questions)
    typer.echo(f"samples per model: {total}; metrics: {', '.join(qset.metrics())}")
    if any(q.extra for q in qset.questions):
        typer.echo(json.dumps({q.id: q.extra for q in qset.questions if q.extra}, default=str))


_COLUMNS = ("id", "type", "paras", "n/para", "temp", "system", "judge", "metrics")
_LABELS = {"n/para": "samples per paraphrase", "temp": "temperature"}


def _cells(q: Question) -> dict[str, str]:
    return {
        "id": q.id,
        "type": q.type,
        "paras": str(len(q.paraphrases)),
        "n/para": str(q.samples_per_paraphrase),
        "temp": f"{q.temperature:g}",
        "system": " ".join((q.system or "").split()),  # one line per cell: newlines would break rows
        "judge": q.judge or "",
        "metrics": ", ".join(q.judge_prompts),
    }


def shared_values(qset: QuestionSet) -> dict[str, str]:
    """Columns (besides id and paraphrase count) whose value every question of the set shares."""
    rows = [_cells(q) for q in qset.questions]
    return {c: rows[0][c] for c in _COLUMNS if c not in ("id", "paras") and len({r[c] for r in rows}) == 1}


def questions_table(qset: QuestionSet, *, hide: Collection[str] = ()) -> Table:
    """The set as a table (less the ``hide`` columns); ids and types never wrap or shrink."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1), pad_edge=False, show_edge=False)
    columns = [c for c in _COLUMNS if c not in hide]
    for name in columns:
        if name in ("id", "type"):
            table.add_column(name, no_wrap=True, overflow="fold")  # fold only if nothing else can give
        elif name in ("paras", "n/para", "temp"):
            table.add_column(name, justify="right", no_wrap=True)
        else:
            table.add_column(name, overflow="fold")
    for q in qset.questions:
        cells = _cells(q)
        table.add_row(*(cells[c] for c in columns))
    return table


def register(app: typer.Typer) -> None:
    """Add the question-set commands to the main CLI."""
    app.add_typer(questions_app, name="questions")
