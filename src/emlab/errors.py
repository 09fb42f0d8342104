"""The one exception type for mistakes a user can make (bad file, unknown model, bad flag)."""

from __future__ import annotations


class EmlabError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits with code 2."""


class SchemaError(EmlabError):
    """A file or store whose format emlab cannot read."""
