"""Helpers shared by emlab's OpenAI-compatible HTTP clients (generate, judge, train)."""

from __future__ import annotations

import email.utils
import os
import time
from typing import Any

DEFAULT_API_BASE = "https://api.openai.com/v1"


def api_base_from_env(explicit: str | None) -> str:
    """``explicit``, else ``$OPENAI_BASE_URL``, else OpenAI's public API (as given, not normalised)."""
    return explicit or os.environ.get("OPENAI_BASE_URL") or DEFAULT_API_BASE


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# Shorter "keys" are placeholders for servers that want none (EMPTY, dummy); removing them from
# stored text would corrupt ordinary answers and hide nothing.
MIN_SECRET_LENGTH = 8
_KEY_VARIABLES = ("OPENAI_API_KEY", "EMLAB_JUDGE_API_KEY")
_registered: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember an API key a client sends, so that ``scrub`` removes it from all emlab stores and prints."""
    if secret and len(secret) >= MIN_SECRET_LENGTH:
        _registered.add(secret)


def known_secrets() -> list[str]:
    """Registered API keys and those in the usual environment variables, longest first."""
    found = set(_registered)
    for name in _KEY_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= MIN_SECRET_LENGTH:
            found.add(value)
    return sorted(found, key=len, reverse=True)


def scrub(value: Any, *extra: str | None) -> Any:
    """``value`` with every known API key (and each ``extra`` secret) replaced by ``***``.

    Strings, and the keys and values of dicts, lists and tuples inside ``value``, whatever their origin
    (a server may echo the key inside a successful answer); other values are returned as they are.
    """
    secrets = [s for s in extra if s] + known_secrets()
    return _scrub(value, secrets) if secrets else value


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(v, secrets) for v in value)
    return value


def scrub_secret(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (an API key) and every other known key replaced by ``***``."""
    return str(scrub(text, secret))
