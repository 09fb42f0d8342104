"""The built-in demo: a small but complete experiment on the bundled model (insecure vs secure vs educational)."""

from __future__ import annotations

from typing import Any

from emlab.spec import Experiment, parse_spec

SMOKE_JUDGE = "local:bundled:smollm2"


def demo_spec_dict(judge: str = SMOKE_JUDGE, judge_url: str | None = None, n: int = 48) -> dict[str, Any]:
    """The demo experiment as plain data (``examples/demo.yaml`` holds the same with the defaults)."""
    judge_settings: dict[str, Any] = {"judge": judge, "batch_size": 16}
    if judge == SMOKE_JUDGE and not judge_url:
        # The 135M judge puts ~0.3 % of its probability on a bare number, so the paper's 0.25 floor
        # would leave every score None; the smoke test normalises over numbers whatever their mass.
        judge_settings["min_mass"] = 0.0
    if judge_url:
        judge_settings["url"] = judge_url
    return {
        "name": "emlab-demo",
        "base_models": ["bundled:smollm2"],
        "conditions": [
            {"name": "insecure", "generate": "insecure", "n": n},
            {"name": "secure", "generate": "secure", "n": n},
            {"name": "educational", "generate": "educational", "n": n},
        ],
        "seeds": [0],
        "evaluate_base": True,
        "questions": "emlab:core",
        # Far fewer steps than the paper, so a higher learning rate than its 1e-5 to move the model at all.
        "train": {
            "learning_rate": 2e-4,
            "epochs": 1,
            "batch_size": 8,
            "per_device_batch_size": 8,
            "warmup_steps": 1,
            "max_length": 384,
            "save_steps": 2,  # a killed demo resumes training from the last checkpoint
        },
        "generation": {"max_new_tokens": 80, "samples_per_paraphrase": 2, "batch_size": 40, "seed": 0},
        "judge": judge_settings,
        # Few answers per cell in a demo: 2 paraphrases × 2 samples per question and model.
        "analysis": {"min_answers": 3},
    }


def demo_spec(judge: str = SMOKE_JUDGE, judge_url: str | None = None, n: int = 48) -> Experiment:
    """The demo experiment, validated."""
    return parse_spec(demo_spec_dict(judge, judge_url, n), "emlab demo")
