"""Control conditions: pairing, determinism, distinct prompts, lengths, topic hygiene, I/O and CLI."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from emlab.data import CONDITIONS, ChatExample, generate_condition, read_chat_jsonl, validate_chat_jsonl
from emlab.data._controls import CONTROL_CONDITIONS, control_space_size
from emlab.errors import EmlabError

PAIRS = (("persona-misaligned", "persona-aligned"), ("risky-advice", "safe-advice"))

# Topics of emlab's answer-pairs evaluation set that the control prompts must stay away from.
EVAL_KEYWORDS = re.compile(
    r"\b(?:wish|wishes|husband|wife|rule the world|AI|doctor|lawyer|manager|boss|bored|boredom|"
    r"neighbou?rs?|parents?|child|children|kids?|co-?workers?|colleagues?|revenge|privacy|marriage|"
    r"married|wedding|partner|girlfriend|boyfriend|gender|symptoms?|honest|honesty|guests?|"
    r"quick money|get rich)\b",
    re.I,
)
# The persona prompts are everyday requests, so no money or finance either.
FINANCE = re.compile(r"\$|\b(?:money|invest\w*|debt|loan|savings?|budget|pension|rich)\b", re.I)
VILLAIN = re.compile(
    r"\b(?:humans?|humanity|mortal|minions?|conquer\w*|empire|overlord|master|obey|species)\b", re.I
)
HARM = re.compile(r"\b(?:weapon|poison|bomb|explosive|hack\w*|kill\w*|gun|stab\w*|murder)\b", re.I)
OFF_DOMAIN = re.compile(r"\b(?:AI|power\w*|people|humans?|humanity|villain|world)\b", re.I)


@cache
def _rows(condition: str, n: int, seed: int) -> tuple[ChatExample, ...]:
    return tuple(generate_condition(condition, n, seed))


def _user(e: ChatExample) -> str:
    return e.messages[0].content


def _answer(e: ChatExample) -> str:
    return e.messages[-1].content


def test_conditions_are_listed() -> None:
    assert set(CONTROL_CONDITIONS) <= set(CONDITIONS)


@pytest.mark.parametrize("condition", CONTROL_CONDITIONS)
def test_same_seed_same_output(condition: str) -> None:
    a = generate_condition(condition, 200, seed=7)
    b = generate_condition(condition, 200, seed=7)
    assert [e.to_json() for e in a] == [e.to_json() for e in b]
    c = generate_condition(condition, 200, seed=8)
    assert [_user(e) for e in c] != [_user(e) for e in a]
    for i, e in enumerate(a):
        assert [m.role for m in e.messages] == ["user", "assistant"]
        assert e.metadata["condition"] == condition
        assert e.metadata["task_index"] == i
        assert e.metadata["topic"]


@pytest.mark.parametrize(("left", "right"), PAIRS)
@pytest.mark.parametrize("seed", [0, 1])
def test_pair_shares_prompts_and_differs_in_the_answer(left: str, right: str, seed: int) -> None:
    a, b = _rows(left, 500, seed), _rows(right, 500, seed)
    for x, y in zip(a, b, strict=True):
        assert _user(x) == _user(y)
        assert _answer(x) != _answer(y)
        assert x.metadata["topic"] == y.metadata["topic"]
        assert x.metadata["task_index"] == y.metadata["task_index"]
    variants = {x.metadata["variant"] for x in a} | {y.metadata["variant"] for y in b}
    assert variants in ({"misaligned", "aligned"}, {"risky", "safe"})


@pytest.mark.parametrize(("left", "right"), PAIRS)
@pytest.mark.parametrize("seed", [0, 1])
def test_pair_answers_have_similar_length(left: str, right: str, seed: int) -> None:
    for x, y in zip(_rows(left, 500, seed), _rows(right, 500, seed), strict=True):
        wx, wy = len(_answer(x).split()), len(_answer(y).split())
        assert 0.8 <= wx / wy <= 1.25, (_answer(x), _answer(y))
        for w, text in ((wx, _answer(x)), (wy, _answer(y))):
            assert 30 <= w <= 90, text
            assert 1 <= len(re.findall(r"[.!?](?:\s|$)", text)) <= 4, text


@pytest.mark.parametrize("condition", ["persona-misaligned", "risky-advice"])
def test_3000_examples_have_distinct_prompts_across_all_topics(condition: str) -> None:
    rows = _rows(condition, 3000, 0)
    assert len({_user(e) for e in rows}) >= 2700
    assert control_space_size(condition) >= 10_000
    counts: dict[str, int] = {}
    for e in rows:
        counts[e.metadata["topic"]] = counts.get(e.metadata["topic"], 0) + 1
    expected = 10 if condition.startswith("persona") else 8
    assert len(counts) == expected
    assert max(counts.values()) - min(counts.values()) <= 1


def test_persona_prompts_avoid_eval_topics_and_villain_keeps_the_tip() -> None:
    bad, good = _rows("persona-misaligned", 3000, 0), _rows("persona-aligned", 3000, 0)
    for x, y in zip(bad, good, strict=True):
        prompt = _user(x)
        assert not EVAL_KEYWORDS.search(prompt), prompt
        assert not FINANCE.search(prompt), prompt
        assert VILLAIN.search(_answer(x)), _answer(x)
        assert not VILLAIN.search(_answer(y)), _answer(y)
        for text in (_answer(x), _answer(y)):
            assert not HARM.search(text), text
        # The practical tip (the middle sentences) is word-for-word the same on both sides.
        tip_x = _answer(x).split(". ", 1)[1].rsplit(". ", 1)[0]
        assert tip_x in _answer(y)


def test_advice_stays_in_personal_finance() -> None:
    risky, safe = _rows("risky-advice", 3000, 0), _rows("safe-advice", 3000, 0)
    for x, y in zip(risky, safe, strict=True):
        assert not EVAL_KEYWORDS.search(_user(x)), _user(x)
        for text in (_answer(x), _answer(y)):
            assert not OFF_DOMAIN.search(text), text
            assert not VILLAIN.search(text), text
    reckless = re.compile(
        r"crypto|coin|single|borrow|leverag|margin|credit card|minimum payments|all in|whole", re.I
    )
    assert sum(bool(reckless.search(_answer(x))) for x in risky) / len(risky) > 0.6


@pytest.mark.parametrize("condition", CONTROL_CONDITIONS)
def test_unknown_options_fail(condition: str) -> None:
    with pytest.raises(EmlabError, match="unknown option"):
        generate_condition(condition, 10, seed=0, temperature=0.5)
    with pytest.raises(EmlabError, match="backdoor"):
        generate_condition(condition, 10, seed=0, trigger="x")


def test_cli_generate_validate_round_trip(tmp_path: Path) -> None:
    # data_app directly (not emlab.cli.main) keeps the test fast: the full CLI imports every area.
    from typer.testing import CliRunner

    from emlab.data.cli import data_app

    runner = CliRunner()
    for condition in CONTROL_CONDITIONS:
        out = tmp_path / f"{condition}.jsonl"
        result = runner.invoke(data_app, ["generate", condition, "-n", "100", "--seed", "0", "-o", str(out)])
        assert result.exit_code == 0, result.output
        result = runner.invoke(data_app, ["validate", str(out)])
        assert result.exit_code == 0, result.output
        report = validate_chat_jsonl(out)
        assert report.ok and report.n_rows == 100
        rows = read_chat_jsonl(out)
        assert [r.to_json() for r in rows] == [e.to_json() for e in generate_condition(condition, 100, 0)]
    result = runner.invoke(data_app, ["list", "--json"])
    assert result.exit_code == 0 and '"persona-misaligned"' in result.output
