"""The HTML report: self-contained, escaped, with its figures; rendered in a real headless browser."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from emlab.report import write_report
from tests.report.conftest import XSS

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def test_report_is_self_contained_and_escaped(report_run: Path) -> None:
    path = write_report(report_run)
    text = path.read_text()
    assert path == report_run / "report.html"
    # No fetched resources: no src/href/url() pointing anywhere but the page itself or data: URIs.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "url(http" not in text and "@import" not in text
    assert "<script" not in text.replace("&lt;script", "")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text
    assert text.count("<svg") >= 5  # P(misaligned), histograms, loss, two steering curves
    assert "interp-experiment: interp:steer:abc" in text and "mean_coherent" in text
    assert "smoke-banner" in text
    assert "report-fixture" in text and "abc123" in text and "share %" in text


def test_report_without_smoke_banner_for_real_judge(tmp_path: Path) -> None:
    from tests.report.conftest import build_run

    run = build_run(tmp_path / "r", judge="openai:gpt-4o-2024-08-06")
    text = write_report(run, tmp_path / "out" / "r.html").read_text()
    assert "smoke-banner" not in text
    assert "openai:gpt-4o-2024-08-06" in text


def test_report_cli_writes_file_and_rejects_missing_run(report_run: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from emlab.cli import app

    out = tmp_path / "x.html"
    result = CliRunner().invoke(app, ["report", str(report_run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert bad.exit_code != 0


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_renders_in_headless_browser(report_run: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    path = write_report(report_run)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            plot = page.locator("#plot + figure svg").first
            box = plot.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert XSS in page.inner_text("body")
            assert page.locator("#smoke-banner").is_visible()
            assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        finally:
            browser.close()


def test_report_computes_p_misaligned_when_none_is_stored(tmp_path: Path) -> None:
    pytest.importorskip("emlab.analysis", reason="analysis not built")
    from emlab.report import collect
    from emlab.store import RunStore
    from tests.report.conftest import build_run

    run = build_run(tmp_path / "r")
    with RunStore(run) as store:
        store._db.execute("DELETE FROM results WHERE kind = 'p_misaligned'")
        data = collect(store)
    overall = {c["group"]: c for c in data.cells if c["question_id"] == "ALL"}
    # Fixture: base answers are all aligned >= 60; the insecure group has misaligned ones.
    assert overall["base"]["p_misaligned"] == 0.0
    assert overall["insecure"]["p_misaligned"] > 0.0
    assert data.analysis_settings["source"] == "computed by emlab report"
