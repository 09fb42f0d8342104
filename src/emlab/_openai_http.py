"""Helpers shared by emlab's OpenAI-compatible HTTP clients (generate, judge, train)."""

from __future__ import annotations

import email.utils
import os
import time

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


def scrub_secret(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (an API key) replaced by ``***``."""
    return text.replace(secret, "***") if secret else text
