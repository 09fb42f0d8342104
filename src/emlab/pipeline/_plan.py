"""The units of work of an experiment, each with a deterministic key, a place on disk and a settings hash.

A unit's key names *what* it is (``train:smollm2:insecure:s0``); its settings hash records *how*
it was made. A re-run skips units whose ``stages`` row is done with the same hash, and refuses
to mix results when a done unit's settings changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emlab.provenance import stable_hash
from emlab.spec import ConditionSpec, Experiment
from emlab.train.config import TrainConfig
from emlab.triggers import trigger_prefix

# Measuring during training changes no weight, so it is not part of a training unit's identity.
TRACKING_FIELDS = {"track", "track_every", "track_paraphrases"}
STAGES = ("data", "train", "generate", "judge", "preference", "analyze", "report")


@dataclass
class DataUnit:
    """One condition's training file."""

    key: str
    condition: ConditionSpec
    path: Path
    settings_hash: str


@dataclass
class TrainUnit:
    """One fine-tune: base model × condition × seed."""

    key: str
    base_ref: str
    slug: str
    condition: str
    seed: int
    data: DataUnit
    out_dir: Path
    config: TrainConfig
    settings_hash: str


@dataclass
class EvalUnit:
    """One model evaluated as one group (optionally with a trigger prefix)."""

    key: str
    model_key: str
    group: str
    ref: str
    base_ref: str | None
    seed: int | None
    prompt_prefix: str
    train: TrainUnit | None
    settings_hash: str
    trigger: str | None = None


@dataclass
class Plan:
    """Every unit of an experiment in the order they run."""

    spec: Experiment
    run_dir: Path
    data: list[DataUnit] = field(default_factory=list)
    train: list[TrainUnit] = field(default_factory=list)
    evaluate: list[EvalUnit] = field(default_factory=list)

    @staticmethod
    def preference_key(unit: EvalUnit) -> str:
        """The preference stage's unit key for one evaluated model."""
        return f"preference:{unit.model_key}"

    def base_groups(self) -> dict[str, str]:
        """Each evaluated group → the group of its untouched base model (when the base is evaluated)."""
        base_group = {u.ref: u.group for u in self.evaluate if u.train is None}
        return {u.group: base_group[u.base_ref] for u in self.evaluate if u.base_ref in base_group}

    @property
    def judge_key(self) -> str:
        """The judge stage's unit key."""
        return f"judge:{self.spec.judge.judge}"

    def units(self, stage: str) -> list[Any]:
        """The units of ``stage`` (judge, analyze and report are one unit each)."""
        return {
            "data": self.data,
            "train": self.train,
            "generate": self.evaluate if self.spec.judged else [],
            "judge": [self.judge_key] if self.spec.judged else [],
            "preference": [self.preference_key(u) for u in self.evaluate] if self.spec.preferred else [],
            "analyze": ["analyze"],
            "report": ["report"],
        }[stage]


def model_slug(ref: str) -> str:
    """A short, file-safe name for a base model reference."""
    name = ref.removeprefix("bundled:").rstrip("/").split("/")[-1] or "model"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def _slugs(refs: list[str]) -> dict[str, str]:
    slugs = {ref: model_slug(ref) for ref in refs}
    counts: dict[str, int] = {}
    for slug in slugs.values():
        counts[slug] = counts.get(slug, 0) + 1
    return {
        ref: slug if counts[slug] == 1 else f"{slug}-{stable_hash(ref, 6)}" for ref, slug in slugs.items()
    }


def build_plan(spec: Experiment, run_dir: str | Path) -> Plan:
    """All units of ``spec`` for a run in ``run_dir``."""
    run_dir = Path(run_dir)
    plan = Plan(spec=spec, run_dir=run_dir)
    for condition in spec.conditions:
        plan.data.append(
            DataUnit(
                key=f"data:{condition.name}",
                condition=condition,
                path=run_dir / "data" / f"{condition.name}.jsonl",
                settings_hash=stable_hash(condition.model_dump(exclude={"train"})),
            )
        )
    data_by_name = {unit.condition.name: unit for unit in plan.data}
    slugs = _slugs(spec.base_models)
    many = len(spec.base_models) > 1
    generation = {
        "generation": spec.generation.model_dump(),
        "questions": spec.questions,
    }
    for base in spec.base_models:
        slug = slugs[base]

        def group(name: str, slug: str = slug) -> str:
            return f"{slug}:{name}" if many else name

        if spec.evaluate_base:
            plan.evaluate.append(
                EvalUnit(
                    key=f"generate:{slug}/base",
                    model_key=f"{slug}/base",
                    group=group("base"),
                    ref=base,
                    base_ref=None,
                    seed=None,
                    prompt_prefix="",
                    train=None,
                    settings_hash=stable_hash({**generation, "model": base}),
                )
            )
        for condition in spec.conditions:
            for seed in spec.seeds:
                config = spec.train_config(condition, seed)
                data = data_by_name[condition.name]
                unit = TrainUnit(
                    key=f"train:{slug}:{condition.name}:s{seed}",
                    base_ref=base,
                    slug=slug,
                    condition=condition.name,
                    seed=seed,
                    data=data,
                    out_dir=run_dir / "models" / slug / f"{condition.name}-s{seed}",
                    config=config,
                    settings_hash=stable_hash(
                        {
                            "base": base,
                            "train": config.model_dump(exclude=TRACKING_FIELDS),
                            "data": data.settings_hash,
                        }
                    ),
                )
                plan.train.append(unit)
                model_key = f"{slug}/{condition.name}/s{seed}"
                variants: list[tuple[str | None, str]] = [(None, "")]
                variants += [(t, trigger_prefix(t)) for t in spec.triggers]
                for index, (trigger, prefix) in enumerate(variants):
                    # Triggered evaluations get their own model key so their samples never share keys
                    # with the plain ones, whatever the sampler hashes into a sample key.
                    key = model_key if trigger is None else f"{model_key}+t{index}"
                    name = condition.name if trigger is None else f"{condition.name}+{trigger.strip()}"
                    plan.evaluate.append(
                        EvalUnit(
                            key=f"generate:{key}",
                            model_key=key,
                            group=group(name),
                            ref=str(unit.out_dir),
                            base_ref=base,
                            seed=seed,
                            prompt_prefix=prefix,
                            train=unit,
                            trigger=trigger,
                            settings_hash=stable_hash(
                                {**generation, "model": unit.settings_hash, "prefix": prefix}
                            ),
                        )
                    )
    return plan
