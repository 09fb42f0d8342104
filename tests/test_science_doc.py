"""docs/science.md carries the science emlab implements, and every reference to it resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCIENCE = ROOT / "docs" / "science.md"
OLD_NAME = "SCIENCE" + ".md"  # the design note outside the repository that code used to cite


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _headings() -> dict[str, str]:
    lines = SCIENCE.read_text(encoding="utf-8").splitlines()
    titles = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    return {_slug(t): t for t in titles}


def _sources() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for folder in ("src", "tests", "bench", "examples"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if f.is_file()]


def test_no_reference_to_a_file_outside_the_repository() -> None:
    offenders = [str(f.relative_to(ROOT)) for f in _sources() if OLD_NAME in f.read_text(encoding="utf-8")]
    assert offenders == []
    text = SCIENCE.read_text(encoding="utf-8")
    assert "../shared" not in text and OLD_NAME not in text


def test_every_cited_section_exists() -> None:
    headings = _headings()
    titles = set(headings.values())
    for needed in (
        "Judge score",
        "Aggregation",
        "Reference figures",
        "Preference margins",
        "Layer convention",
    ):
        assert needed in titles
    cited = 0
    for path in _sources():
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        # Code and help texts: the file name, then the section in brackets or after a comma.
        for section in re.findall(r"docs/science\.md(?: \(|, )([A-Z][\w -]*?)[);.,]", text):
            assert section in titles, f"{path.relative_to(ROOT)} cites missing section '{section}'"
            cited += 1
        # Markdown links: science.md#anchor.
        for anchor in re.findall(r"science\.md#([\w-]+)", text):
            assert anchor in headings, f"{path.relative_to(ROOT)} links to missing anchor '#{anchor}'"
            cited += 1
    assert cited >= 10
