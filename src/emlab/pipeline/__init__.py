"""Whole experiments: ``emlab run`` (resumable), ``emlab status`` and ``emlab demo``."""

from emlab.pipeline._demo import DEMO_CONDITIONS, demo_spec, demo_spec_dict
from emlab.pipeline._plan import STAGES, DataUnit, EvalUnit, Plan, TrainUnit, build_plan, model_slug
from emlab.pipeline._run import RunSummary, expected_samples, run_experiment
from emlab.pipeline._status import StageProgress, run_status

__all__ = [
    "DEMO_CONDITIONS",
    "STAGES",
    "DataUnit",
    "EvalUnit",
    "Plan",
    "RunSummary",
    "StageProgress",
    "TrainUnit",
    "build_plan",
    "demo_spec",
    "demo_spec_dict",
    "expected_samples",
    "model_slug",
    "run_experiment",
    "run_status",
]
