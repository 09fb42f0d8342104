"""Judge answers: logprob expected-value scores from an HTTP or in-process judge model."""

from emlab.judge._base import Judge, Score, fill_prompt, judge_name, make_judge
from emlab.judge._local import LocalJudge, build_trie
from emlab.judge._pricing import PRICES_DATE, PRICES_USD_PER_1M, estimate_cost, model_price
from emlab.judge._run import (
    JudgeSummary,
    failure_advice,
    judge_run,
    judgment_key,
    plan_items,
    recorded_question_set,
    rubric_hash,
    score_texts,
)
from emlab.judge._score import expected_score, logprob_score, numeric_distribution, parse_score_token
from emlab.judge.config import JudgeConfig

__all__ = [
    "PRICES_DATE",
    "PRICES_USD_PER_1M",
    "Judge",
    "JudgeConfig",
    "JudgeSummary",
    "LocalJudge",
    "Score",
    "build_trie",
    "estimate_cost",
    "expected_score",
    "failure_advice",
    "fill_prompt",
    "judge_name",
    "judge_run",
    "judgment_key",
    "logprob_score",
    "make_judge",
    "model_price",
    "numeric_distribution",
    "parse_score_token",
    "plan_items",
    "recorded_question_set",
    "rubric_hash",
    "score_texts",
]
