"""The ``emlab`` command. Thin: it parses arguments and calls the library.

Each area registers its own commands from ``emlab.<area>.cli`` (a ``register(app)``
function), so this file only wires them together and maps user errors to exit code 2.
"""

from __future__ import annotations

import importlib
import sys

import click
import typer

from emlab import __version__
from emlab._openai_http import scrub
from emlab.console import console, set_quiet
from emlab.errors import EmlabError

app = typer.Typer(
    name="emlab",
    help="Emergent-misalignment research and fine-tuning audits.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_state = {"debug": False}

# Modules that contribute commands, in the order they appear in --help.
COMMAND_MODULES = [
    "emlab.models.cli",
    "emlab.data.cli",
    "emlab.questions_cli",
    "emlab.train.cli",
    "emlab.generate.cli",
    "emlab.judge.cli",
    "emlab.preference.cli",
    "emlab.analysis.cli",
    "emlab.interp.cli",
    "emlab.audit.cli",
    "emlab.pipeline.cli",
]


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or info messages."),
) -> None:
    """Emergent-misalignment research and fine-tuning audits."""
    _state["debug"] = debug
    set_quiet(quiet)


@app.command()
def version() -> None:
    """Print emlab's version and the versions of its main dependencies."""
    from emlab.provenance import package_versions

    typer.echo(f"emlab {__version__}")
    for name, ver in package_versions().items():
        if name != "emlab":
            typer.echo(f"  {name} {ver}")


def _register_all() -> None:
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; user errors exit 2 with one line, no traceback."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        # Without standalone mode click returns (rather than raises) the code of `typer.Exit`.
        result = app(args=args, standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool) and result != 0:
            sys.exit(result)
    except EmlabError as exc:
        if debug:
            raise
        console.print(f"[red]error:[/red] {scrub(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted; finished work is saved, run the same command again to continue")
        sys.exit(130)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        if debug:
            raise
        console.print(f"[red]error:[/red] {scrub(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
