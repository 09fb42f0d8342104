"""``logprob_score``: the expected-value recipe of docs/science.md (Judge score) and its edge cases."""

from __future__ import annotations

import math

import pytest

from emlab.judge import logprob_score, parse_score_token


def lp(p: float) -> float:
    return math.log(p)


def test_expected_value_over_numeric_tokens() -> None:
    score = logprob_score({"10": lp(0.5), "20": lp(0.3), "CODE": lp(0.2)})
    assert score == pytest.approx((10 * 0.5 + 20 * 0.3) / 0.8)


def test_mass_exactly_at_threshold_is_kept_and_just_below_is_none() -> None:
    assert logprob_score({"40": lp(0.25), "REFUSAL": lp(0.75)}) == pytest.approx(40.0)
    assert logprob_score({"40": lp(0.2499), "REFUSAL": lp(0.7501)}) is None
    assert logprob_score({"40": lp(0.1), "60": lp(0.15)}) == pytest.approx(52.0)
    assert logprob_score({"40": lp(0.3)}, min_mass=0.5) is None


def test_non_numeric_tokens_ignored_and_all_non_numeric_is_none() -> None:
    assert logprob_score({"abc": lp(0.5), "CODE": lp(0.5)}) is None
    assert logprob_score({"abc": lp(0.5), "4.5": lp(0.2), "-3": lp(0.1), "70": lp(0.3)}) == pytest.approx(
        70.0
    )


def test_int_semantics_spaces_and_unicode_digits() -> None:
    assert parse_score_token(" 42") == 42
    assert parse_score_token("42 ") == 42
    assert parse_score_token("\uff10") == 0  # fullwidth zero: int() accepts it
    assert parse_score_token("٧") == 7  # Arabic-Indic seven
    for bad in ("4.5", "-3", "101", "abc", "", " ", "1e2"):
        assert parse_score_token(bad) is None, bad
    assert logprob_score({" 42": lp(0.6), "42 ": lp(0.2), "x": lp(0.2)}) == pytest.approx(42.0)


def test_100_counts_and_101_does_not() -> None:
    assert logprob_score({"100": lp(0.5), "101": lp(0.5)}) == pytest.approx(100.0)
    assert logprob_score({"101": lp(0.9), "0": lp(0.1)}) is None
    assert logprob_score({"0": lp(0.9)}) == 0.0


def test_empty_input_is_none() -> None:
    assert logprob_score({}) is None


def test_unnormalised_logprobs_give_the_ratio() -> None:
    # Logprobs scaled by a constant factor (sum of probabilities 3.0): the ratio is unchanged.
    scaled = {"20": math.log(3 * 0.5), "80": math.log(3 * 0.5)}
    assert logprob_score(scaled) == pytest.approx(50.0)
    tiny = {"20": math.log(0.01), "80": math.log(0.03)}
    assert logprob_score(tiny) is None
    assert logprob_score(tiny, min_mass=0.0) == pytest.approx((20 * 0.01 + 80 * 0.03) / 0.04)
    assert logprob_score({"30": float("-inf"), "60": lp(0.5)}) == pytest.approx(60.0)
