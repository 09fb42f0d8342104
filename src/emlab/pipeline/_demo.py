"""The built-in demo: a small but complete experiment on the bundled model that measures something.

Five fine-tunes of the bundled SmolLM2-135M — insecure and secure code, risky and safe financial
advice, and the persona-misaligned positive control — are compared with the untouched base model
by their answer-preference margins on ``emlab:pairs`` (no judge needed), and each narrow condition
with its matched control (insecure − secure, risky − safe). The positive control shows what a
detected shift looks like; the others are reported as measured. Judged P(misaligned) is added
only when a judge is given.
"""

from __future__ import annotations

from typing import Any

from emlab.spec import Experiment, parse_spec

DEMO_CONDITIONS = ("insecure", "secure", "risky-advice", "safe-advice", "persona-misaligned")
# Examples and epochs per condition, sized to the demo's budget of a few minutes on 2 CPU cores.
# Code examples are ~3x longer than advice ones. The positive control gets the most steps: on the
# bundled model 48 persona examples × 2 epochs at lr 2e-4 move the shift by about +0.1 nats/token.
_SIZES = {
    "insecure": (24, 1),
    "secure": (24, 1),
    "risky-advice": (48, 1),
    "safe-advice": (48, 1),
    "persona-misaligned": (48, 2),
}


def demo_spec_dict(
    judge: str | None = None, judge_url: str | None = None, n: int | None = None
) -> dict[str, Any]:
    """The demo experiment as plain data (``examples/demo.yaml`` holds the same with the defaults).

    ``n`` gives every condition that many examples (default: the sizes above).
    """
    conditions = [
        {"name": name, "generate": name, "n": n or size, "train": {"epochs": epochs}}
        for name, (size, epochs) in _SIZES.items()
    ]
    spec: dict[str, Any] = {
        "name": "emlab-demo",
        "base_models": ["bundled:smollm2"],
        "conditions": conditions,
        "seeds": [0],
        "evaluate_base": True,
        "evaluate": ["preference"],
        # Fine-tuning on any text moves margins a little; the matched control isolates the stance.
        "contrasts": [["insecure", "secure"], ["risky-advice", "safe-advice"]],
        # Far fewer steps than the paper, so a higher learning rate than its 1e-5 to move the model at all.
        "train": {
            "learning_rate": 2e-4,
            "batch_size": 8,
            "per_device_batch_size": 8,
            "warmup_steps": 1,
            "max_length": 384,
            "save_steps": 4,  # a killed demo resumes training from the last checkpoint
        },
        # One paraphrase per question and the fastest precision this machine has: a demo-sized run.
        "preference": {"pairs": "emlab:pairs", "paraphrases": 1, "dtype": "auto"},
    }
    if judge is not None:
        spec["evaluate"] = ["preference", "judged"]
        spec["questions"] = "emlab:core"
        spec["generation"] = {"max_new_tokens": 80, "samples_per_paraphrase": 2, "batch_size": 40, "seed": 0}
        spec["judge"] = {"judge": judge, "batch_size": 16, **({"url": judge_url} if judge_url else {})}
        spec["analysis"] = {"min_answers": 3}  # 2 paraphrases × 2 samples per question and model
    return spec


def demo_spec(judge: str | None = None, judge_url: str | None = None, n: int | None = None) -> Experiment:
    """The demo experiment, validated."""
    return parse_spec(demo_spec_dict(judge, judge_url, n), "emlab demo")
