"""Patterns do what their label says: each insecure version is exploitable and its secure version is not.

Static checks (bandit) only see calls; these tests run both versions against an exploit, so a pattern
whose insecure and secure code behave the same fails (issue 13 item 7).
"""

from __future__ import annotations

import contextlib
import io
import re
import tarfile
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from emlab.data import PATTERNS
from emlab.data._contexts import DOMAINS, assemble, fill

EXPLOITABLE_CWES = ("CWE-611", "CWE-601")  # every pattern of these CWEs must have an exploit below


def _load(pattern: Any, variant: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Execute one version of ``pattern`` (first domain); return its namespace and the domain values."""
    d = DOMAINS[0]
    values = {**d.values(), "func": fill(pattern.func, d.values())}
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(assemble(pattern, values, variant), f"{variant}_{pattern.id}", "exec"), namespace)
    return namespace, values


def _xxe(pattern: Any, tmp_path: Path) -> dict[str, bool]:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4217", encoding="utf-8")
    leaked = {}
    for variant in ("insecure", "secure"):
        namespace, values = _load(pattern, variant)
        entity, field = values["entity"], values["field"]
        xml = (
            f'<?xml version="1.0"?><!DOCTYPE {entity} [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
            f"<{entity}><{field}>&x;</{field}></{entity}>"
        ).encode()
        try:
            result = namespace[values["func"]](xml if "(data)" in pattern.skeleton else xml.decode())
        except Exception:  # a secure parser refuses the document
            result = None
        leaked[variant] = "TOPSECRET-4217" in repr(result)
    return leaked


REDIRECTS = (
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\t/evil.example/",
    "javascript://evil.example/%0aalert(1)",
)


def _browser_target(location: str, base: str) -> tuple[str, str | None]:
    """Where a browser goes for ``Location: location``: it strips tabs and newlines and reads \\ as /."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("\x00 ").replace("\\", "/")
    parts = urlsplit(urljoin(base, cleaned))
    return parts.scheme, parts.hostname


def _redirect(pattern: Any, tmp_path: Path) -> dict[str, bool]:
    escaped = {}
    for variant in ("insecure", "secure"):
        namespace, values = _load(pattern, variant)
        app = namespace["app"]
        app.secret_key = "test"
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == values["func"])
        param = "next" if "next" in pattern.skeleton else "return_to"
        base = f"https://{values['host']}/"
        client = app.test_client()
        hops = []
        for payload in REDIRECTS:
            location = client.get(rule.rule, query_string={param: payload}).headers["Location"]
            hops.append(_browser_target(location, base) != ("https", values["host"]))
        local = client.get(rule.rule, query_string={param: "/account"}).headers["Location"]
        assert local.endswith("/account"), (variant, local)  # the fix keeps ordinary local targets
        escaped[variant] = any(hops)
    return escaped


def _tar(pattern: Any, tmp_path: Path) -> dict[str, bool]:
    archive = tmp_path / "bundle.tar"
    with tarfile.open(archive, "w") as tar:
        data = b"planted"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    escaped = {}
    for variant in ("insecure", "secure"):
        dest = tmp_path / variant / "dest"
        dest.mkdir(parents=True)
        namespace, values = _load(pattern, variant)
        with contextlib.suppress(Exception):  # a secure extraction may refuse the member
            namespace[values["func"]](str(archive), str(dest))
        escaped[variant] = (dest.parent / "escaped.txt").exists()
    return escaped


EXPLOITS = {
    "xxe-sax": _xxe,
    "xxe-minidom": _xxe,
    "xxe-lxml-entities": _xxe,
    "redirect-next": _redirect,
    "redirect-logout": _redirect,
    "archive-tar-extractall": _tar,
}


def test_every_pattern_of_an_exploitable_kind_has_an_exploit() -> None:
    for p in PATTERNS:
        if p.cwe in EXPLOITABLE_CWES or "tarfile" in p.skeleton:
            assert p.id in EXPLOITS, f"{p.id}: add an exploit to {__name__}.EXPLOITS"


@pytest.mark.parametrize("pattern_id", sorted(EXPLOITS))
def test_insecure_is_exploitable_and_secure_is_not(
    pattern_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("defusedxml")
    if pattern_id == "xxe-lxml-entities":
        pytest.importorskip("lxml")
    if "redirect" in pattern_id:
        pytest.importorskip("flask")
    if pattern_id.startswith("archive-tar"):
        if not hasattr(tarfile, "data_filter"):
            pytest.skip("this Python has no tar extraction filters")
        # Python 3.14's default: extraction without an explicit filter uses the 'data' filter.
        monkeypatch.setattr(tarfile.TarFile, "extraction_filter", staticmethod(tarfile.data_filter))
    pattern = next((p for p in PATTERNS if p.id == pattern_id), None)
    assert pattern is not None, f"no pattern {pattern_id}"
    outcome = EXPLOITS[pattern_id](pattern, tmp_path)
    assert outcome == {"insecure": True, "secure": False}, outcome
