"""Terminal output shared by every command: one stderr console, progress bars, a quiet switch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

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
    """Print an informational line to stderr unless quiet."""
    if not _quiet:
        console.print(message)


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
