"""``emlab run``, ``emlab status``, ``emlab demo`` and ``emlab report``."""

from __future__ import annotations

from pathlib import Path

import typer


def report_command(
    run: Path = typer.Argument(..., help="Run directory (holds emlab.sqlite)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="HTML file to write (default RUN/report.html)."
    ),
) -> None:
    """Write the run's self-contained HTML report."""
    from emlab.report import write_report

    typer.echo(str(write_report(run, output)))


def register(app: typer.Typer) -> None:
    """Add the experiment commands to the main CLI."""
    app.command("report")(report_command)
