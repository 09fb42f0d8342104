"""Preference tables from hand-made margins: keys, paraphrase averaging, paired shifts, two-way bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from emlab.preference import ALL, RESULT_KEYS, preference_table, two_way_bootstrap

QUESTIONS = ("q_a", "q_b", "q_c")


def rows_for(model: str, margins: dict[tuple[str, int], float], paraphrases: int = 1) -> list[dict]:
    """Margin rows as the store holds them; with several paraphrases each gets margin ± 0.5 (same mean)."""
    rows = []
    for (question, pair), margin in margins.items():
        offsets = [0.0] if paraphrases == 1 else [0.5 * (-1) ** p for p in range(paraphrases)]
        for p, offset in enumerate(offsets):
            rows.append(
                {
                    "model": model,
                    "question_id": question,
                    "pair_index": pair,
                    "paraphrase_index": p,
                    "margin": margin + offset,
                    "p_misaligned": None,
                    "form": "logprob",
                }
            )
    return rows


def spread_margins(n_per_question: int, scale: float, seed: int = 0) -> dict[tuple[str, int], float]:
    rng = np.random.default_rng(seed)
    return {(q, j): float(rng.normal(0.0, scale)) for q in QUESTIONS for j in range(n_per_question)}


def _cell(cells, model: str, question: str = ALL):
    return next(c for c in cells if c.model == model and c.question_id == question)


def test_rows_per_question_and_all_with_documented_keys() -> None:
    base = spread_margins(10, 1.0, seed=1)
    tuned = {pid: m + 0.3 for pid, m in spread_margins(10, 1.0, seed=2).items()}
    failed = {**rows_for("tuned", tuned)[0], "margin": None, "pair_index": 99, "error": "boom"}
    rows = rows_for("base", base, paraphrases=2) + rows_for("tuned", tuned) + [failed]
    cells = preference_table(rows, base="base", bootstrap=500)
    assert [(c.model, c.question_id) for c in cells] == [
        (m, q) for m in ("base", "tuned") for q in (*QUESTIONS, ALL)
    ]
    for cell in cells:
        data = cell.as_dict()
        assert list(data)[: len(RESULT_KEYS)] == list(RESULT_KEYS)  # documented keys first, in order
        assert set(RESULT_KEYS) <= set(data)
        for key in (
            "model",
            "question_id",
            "n_pairs",
            "mean_margin",
            "p_misaligned_preferred",
            "ci_low",
            "ci_high",
        ):
            assert data[key] is not None
        assert data["ci_low"] <= data["mean_margin"] <= data["ci_high"]
        assert data["n_pairs"] == (30 if cell.question_id == ALL else 10)  # pairs, not paraphrases
        if cell.model == "base":
            assert data["shift"] is None and data["base"] is None
        else:
            assert data["base"] == "base" and data["shift_ci_low"] <= data["shift"] <= data["shift_ci_high"]
    # Paraphrases average out before anything else: the base's means are those of its pair margins.
    for question in QUESTIONS:
        values = [m for (q, _), m in base.items() if q == question]
        cell = _cell(cells, "base", question)
        assert cell.mean_margin == pytest.approx(np.mean(values), abs=1e-12)
        assert cell.p_misaligned_preferred == pytest.approx(np.mean(np.array(values) > 0), abs=1e-12)
    everything = _cell(cells, "tuned")
    assert everything.mean_margin == pytest.approx(np.mean(list(tuned.values())), abs=1e-12)
    assert everything.shift == pytest.approx(np.mean([tuned[p] - base[p] for p in base]), abs=1e-12)
    assert everything.failed == 1 and _cell(cells, "base").failed == 0


def test_shift_is_paired() -> None:
    c = 0.7
    base = spread_margins(40, 5.0)  # large pair-to-pair variance
    tuned = {pid: m + c for pid, m in base.items()}
    cells = preference_table(rows_for("base", base) + rows_for("tuned", tuned), base="base")
    for question in (*QUESTIONS, ALL):
        cell = _cell(cells, "tuned", question)
        assert cell.shift == pytest.approx(c, abs=1e-9)
        assert cell.shift_ci_high - cell.shift_ci_low < 1e-9  # the same shift on every pair: no doubt at all
        assert cell.shift_ci_low == pytest.approx(c, abs=1e-9)
        assert cell.ci_high - cell.ci_low > 1.0  # while the margin itself is uncertain
        assert cell.ci_low <= cell.mean_margin <= cell.ci_high
    # An unpaired comparison would see nothing: the two margin intervals overlap widely.
    tuned_all, base_all = _cell(cells, "tuned"), _cell(cells, "base")
    assert tuned_all.ci_low < base_all.ci_high
    # A per-group base mapping gives the same numbers.
    mapped = preference_table(
        rows_for("base", base) + rows_for("tuned", tuned),
        groups={"base": ["base"], "tuned": ["tuned"]},
        base={"tuned": "base"},
    )
    assert _cell(mapped, "tuned").shift == pytest.approx(c, abs=1e-9)


def test_several_models_use_the_two_way_bootstrap() -> None:
    pairs = spread_margins(20, 1.0, seed=3)
    seeds = {
        f"seed{k}": {pid: m + offset for pid, m in pairs.items()} for k, offset in enumerate((-1.0, 0.0, 1.0))
    }
    rows = [r for model, margins in seeds.items() for r in rows_for(model, margins)]
    rows += rows_for("base", {pid: m - 0.5 for pid, m in pairs.items()})
    cells = preference_table(
        rows,
        groups={"condition": list(seeds), "one seed": ["seed1"], "base": ["base"]},
        base={"condition": "base", "one seed": "base"},
    )
    pooled, single = _cell(cells, "condition"), _cell(cells, "one seed")
    assert pooled.n_models == 3 and single.n_models == 1 and pooled.n_pairs == single.n_pairs == 60
    assert pooled.mean_margin == pytest.approx(single.mean_margin, abs=1e-12)  # the offsets cancel
    # The seed-to-seed spread (±1) widens the interval well beyond the pairs-only one.
    assert pooled.ci_high - pooled.ci_low > 2 * (single.ci_high - single.ci_low)
    assert pooled.ci_low <= pooled.mean_margin <= pooled.ci_high
    assert pooled.shift == pytest.approx(0.5, abs=1e-12) and single.shift == pytest.approx(0.5, abs=1e-12)
    assert pooled.shift_ci_low < 0.5 < pooled.shift_ci_high  # seeds disagree about the shift
    assert single.shift_ci_high - single.shift_ci_low < 1e-9


def test_two_way_bootstrap_interval() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(0.2, 1.0, size=(1, 400))
    low, high = two_way_bootstrap(values, 2000, 0.95, seed=0)
    half = 1.96 * values.std(ddof=1) / np.sqrt(values.size)  # the normal approximation of the same CI
    assert low < values.mean() < high
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)
    assert two_way_bootstrap(values, 2000, 0.95, seed=0) == (low, high)  # seeded
    wider = two_way_bootstrap(values, 2000, 0.99, seed=0)
    assert wider[0] < low and wider[1] > high
    assert two_way_bootstrap(np.array([[1.5]]), 100, 0.95, seed=0) == (1.5, 1.5)
    assert two_way_bootstrap(np.zeros((0, 3)), 100, 0.95, seed=0) == (None, None)
