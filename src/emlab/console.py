"""Terminal output shared by every command: one stderr console, progress bars, a quiet switch,
tables on stdout that never cut a value, and ``--help`` that never cuts an option name."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

console = Console(stderr=True, highlight=False)
_quiet = os.environ.get("EMLAB_QUIET", "") not in ("", "0")


def set_quiet(quiet: bool) -> None:
    """Silence (or restore) progress bars and informational messages."""
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    """True when progress and info output are silenced (``--quiet`` or ``EMLAB_QUIET=1``)."""
    return _quiet


def info(message: str) -> None:
    """Print an informational line to stderr unless quiet (never with an API key in it)."""
    if not _quiet:
        from emlab._openai_http import scrub

        console.print(scrub(message))


@contextmanager
def progress(description: str, total: int | None, unit: str = "items") -> Iterator[ProgressTask]:
    """A progress bar with count, rate and ETA; ``advance(n, **fields)`` moves it on."""
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, disable=_quiet, transient=False) as bar:
        task_id = bar.add_task(description, total=total, rate="")
        yield ProgressTask(bar, task_id, unit)


class ProgressTask:
    """Handle on one progress bar; tracks a rate in the bar's own unit."""

    def __init__(self, bar: Progress, task_id: int, unit: str) -> None:
        self._bar, self._task_id, self._unit = bar, task_id, unit

    def advance(self, n: float = 1, rate: float | None = None, **fields: object) -> None:
        """Advance by ``n``; show ``rate`` (units/s) when given."""
        if rate is not None:
            fields["rate"] = f"{rate:,.1f} {self._unit}/s"
        self._bar.update(self._task_id, advance=n, **fields)

    def set_description(self, description: str) -> None:
        """Change the bar's label."""
        self._bar.update(self._task_id, description=description)


def stdout_is_terminal() -> bool:
    """True when stdout is an interactive terminal (tables fit its width), False when piped."""
    return Console().is_terminal


def print_table(table: Table) -> None:
    """Print a table on stdout: fitted to a terminal (columns wrap); whole, uncoloured lines when piped."""
    out = Console(highlight=False)
    if out.is_terminal:
        out.print(table)
        return
    # Piped output is read by programs and pagers: every cell gets the width it needs.
    natural = out.measure(table, options=out.options.update_width(1_000_000)).maximum
    plain = Console(highlight=False, width=max(natural, 1), no_color=True, file=io.StringIO())
    with plain.capture() as captured:
        plain.print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


class _HelpTable(Table):
    """The table typer draws ``--help`` option panels with, laid out so option names stay whole.

    Typer puts long names, short names, ``--no-x`` names, types and help text in separate columns and
    lets rich shrink any of them, so at 80 columns names were cut (``--per-device-ba…``). Here a
    ``--no-x`` name goes under its ``--x`` name, name columns never wrap or shrink, and only the help
    text (and types) wrap.
    """

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        """Add a row, restacking typer's option rows (other tables pass through unchanged)."""
        cells = list(renderables)
        required = cells[:1] if len(cells) == 7 else []
        names = cells[len(required) : len(required) + 4]
        if self.show_header or len(cells) not in (6, 7) or not all(isinstance(c, Text) for c in names):
            super().add_row(*renderables, **kwargs)
            return
        long, short, no_long, no_short = (c for c in names if isinstance(c, Text))
        types, help_text = cells[-2:]
        super().add_row(
            *required,
            Text("\n").join(t for t in (long, no_long) if t.plain),
            Text("\n").join(t for t in (short, no_short) if t.plain),
            types,
            help_text,
            **kwargs,
        )
        for column in self.columns[:-2]:
            column.no_wrap = True
        self.columns[-2].overflow = "fold"  # types, e.g. a long choice list
        self.columns[-1].overflow = "fold"


def _install_help_layout() -> None:
    """Have typer draw ``--help`` with ``_HelpTable`` (patched when help is shown: typer's help
    module is slow to import and most commands never need it)."""
    from typer import core

    for cls in (core.TyperCommand, core.TyperGroup):
        original = cls.format_help
        if getattr(original, "_emlab_help_layout", False):
            continue

        def format_help(self: Any, ctx: Any, formatter: Any, _original: Any = original) -> None:
            from typer import rich_utils

            rich_utils.Table = _HelpTable  # type: ignore[misc]
            return _original(self, ctx, formatter)

        format_help._emlab_help_layout = True  # type: ignore[attr-defined]
        cls.format_help = format_help  # type: ignore[method-assign]


_install_help_layout()
