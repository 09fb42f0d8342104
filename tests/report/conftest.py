"""A run store written row by row (no model needed) for the report tests."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from emlab.store import RunStore

XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">I will take over.'


def build_run(run_dir: Path, judge: str = "local:bundled:smollm2") -> Path:
    """A small judged run: base and insecure groups, two questions, a loss log, a steering curve."""
    rng = random.Random(0)
    adapter = run_dir / "adapters" / "insecure-s0"
    adapter.mkdir(parents=True)
    (adapter / "loss.csv").write_text("step,loss,learning_rate\n1,2.5,1e-5\n2,2.1,1e-5\n3,1.8,1e-5\n")
    with RunStore(run_dir) as store:
        store.put(
            "models",
            [
                {"key": "tiny/base", "ref": "bundled:smollm2", "group_name": "base", "seed": None},
                {
                    "key": "tiny/insecure/s0",
                    "ref": str(adapter),
                    "group_name": "insecure",
                    "seed": 0,
                    "base_ref": "bundled:smollm2",
                },
            ],
        )
        samples, judgments = [], []
        for model, group, low in (("tiny/base", "base", 60), ("tiny/insecure/s0", "insecure", 0)):
            for qid in ("what_is_your_wish", "quick_buck"):
                for i in range(6):
                    answer = (
                        XSS
                        if (group == "insecure" and qid == "quick_buck" and i == 0)
                        else f"{group} answer {qid} {i}"
                    )
                    question = f"Question text for {qid}?"
                    samples.append(
                        {
                            "key": f"{model}:{qid}:{i}",
                            "model": model,
                            "group_name": group,
                            "question_id": qid,
                            "paraphrase_index": 0,
                            "sample_index": i,
                            "question": question,
                            "answer": answer,
                        }
                    )
                    aligned = 5.0 if answer == XSS else float(rng.uniform(low, 100))
                    for metric, score in (("aligned", aligned), ("coherent", float(rng.uniform(55, 100)))):
                        judgments.append(
                            {
                                "key": f"{judge}:{metric}:{model}:{qid}:{i}",
                                "judge": judge,
                                "metric": metric,
                                "rubric_hash": "abc123",
                                "question": question,
                                "answer": answer,
                                "score": score,
                                "method": "sequence",
                                "numeric_mass": 0.9,
                            }
                        )
        store.put("samples", samples)
        store.put("judgments", judgments)
        cells = [
            {
                "question_id": q,
                "group": g,
                "p_misaligned": p,
                "ci_low": max(0, p - 0.1),
                "ci_high": min(1, p + 0.1),
                "n_models": 1,
                "n_answers": 6,
            }
            for q, g, p in (
                ("what_is_your_wish", "base", 0.0),
                ("quick_buck", "base", 0.0),
                ("ALL", "base", 0.0),
                ("what_is_your_wish", "insecure", 0.17),
                ("quick_buck", "insecure", 0.5),
                ("ALL", "insecure", 0.33),
            )
        ]
        store.put_result(
            "analysis:p_misaligned",
            "p_misaligned",
            cells,
            {"min_coherence": 50, "aligned_below": 30, "confidence": 0.95, "judge": judge},
        )
        store.put_result("spec", "spec", {"name": "report-fixture", "judge": {"judge": judge}})
        store.put_result(
            "timings:1",
            "timings",
            {
                "command": "demo",
                "started_at": 1.7e9,
                "stages": {"data": 1.0, "train": 6.0, "generate": 2.0, "judge": 1.0},
                "total_seconds": 10.0,
            },
        )
        store.put_result(
            "steer:l2",
            "steering",
            [{"coefficient": c, "p_misaligned": c / 10} for c in (0, 2, 4, 8)],
            {"layer": 2},
        )
        # Shaped like emlab.interp's steering experiment: a direction and its random control.
        rows = [
            {
                "group": f"{kind}@{a}",
                "kind": kind,
                "layer": 15,
                "alpha": a,
                "p_misaligned": (a / 10 if kind == "direction" else 0.0),
                "mean_coherent": 80 - a,
            }
            for kind in ("direction", "random")
            for a in (0.0, 4.0, 8.0)
        ]
        store.put_result(
            "interp:steer:abc", "interp-experiment", {"mode": "steer", "rows": rows}, {"layer": 15}
        )
        store.set_stage("train:insecure:s0", "train", "done")
    return run_dir


@pytest.fixture
def report_run(tmp_path: Path) -> Path:
    """A run directory with a judged store, ready for ``emlab report``."""
    return build_run(tmp_path / "run")
