"""``run_status``: how far each stage of a run has got (units done / total, plus answers and judgments)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError
from emlab.pipeline._plan import STAGES, build_plan
from emlab.spec import Experiment
from emlab.store import RunStore


@dataclass
class StageProgress:
    """One stage: units done out of total, units running, and a detail line (answers, judgments...)."""

    stage: str
    done: int
    total: int
    running: int = 0
    failed: int = 0
    detail: str = ""

    @property
    def complete(self) -> bool:
        """All units done (a stage this run does not use has none, and is complete)."""
        return self.done >= self.total

    @property
    def unused(self) -> bool:
        """The run's spec does not use this stage (e.g. generate and judge in a preference-only run)."""
        return self.total == 0


def _statuses(store: RunStore) -> dict[str, str]:
    return {row["key"]: row["status"] for row in store.iter_rows("stages")}


def _judged(store: RunStore, judge: str, metric: str) -> int:
    sql = (
        "SELECT COUNT(*) FROM samples s WHERE EXISTS (SELECT 1 FROM judgments j WHERE j.judge = ? "
        "AND j.metric = ? AND j.question = s.question AND j.answer = s.answer)"
    )
    return int(store._query(sql, (judge, metric))[0][0])


def run_status(run: str | Path) -> list[StageProgress]:
    """Progress of every stage of the run in directory ``run`` (read-only)."""
    with RunStore(run, create=False) as store:
        payload = store.result("spec")
        if payload is None:
            raise EmlabError(f"{run}: this run store has no experiment spec (not made by emlab run/demo)")
        spec = Experiment.model_validate(payload)
        plan = build_plan(spec, store.run_dir)
        status = _statuses(store)
        out = []
        for stage in STAGES:
            keys = [u if isinstance(u, str) else u.key for u in plan.units(stage)]
            states = [status.get(k) for k in keys]
            out.append(
                StageProgress(
                    stage=stage,
                    done=states.count("done"),
                    total=len(keys),
                    running=states.count("running"),
                    failed=states.count("failed"),
                )
            )
        by_stage = {p.stage: p for p in out}
        samples = store.count("samples")
        expected = _expected_samples(spec, len(plan.evaluate))
        by_stage["generate"].detail = (
            f"{samples:,}/{expected:,} answers" if expected else f"{samples:,} answers"
        )
        from emlab.pipeline._run import judge_name

        judge = judge_name(plan, store)
        judged = [_judged(store, judge, m) for m in spec.judge.metrics]
        by_stage["judge"].detail = (
            f"{sum(judged):,}/{samples * len(judged):,} judgments ({judge})" if samples else f"({judge})"
        )
        if spec.preferred:
            by_stage["preference"].detail = f"{store.count('margins'):,} margins ({spec.preference.pairs})"
        train_detail = []
        for unit in plan.train:
            if status.get(unit.key) == "running":
                checkpoints = sorted((unit.out_dir / "checkpoints").glob("checkpoint-*"))
                step = _last_logged_step(unit.out_dir / "loss.csv")
                at = f"step {step}, " if step is not None else ""
                train_detail.append(f"{unit.condition} s{unit.seed}: {at}{len(checkpoints)} checkpoint(s)")
        by_stage["train"].detail = "; ".join(train_detail)
        timings = store.rows("results", order_by="created_at", kind="timings")
        if timings:
            by_stage["report"].detail = _last_timing(timings[-1]["payload"])
    return out


def _expected_samples(spec: Experiment, n_units: int) -> int | None:
    from emlab.pipeline._run import expected_samples
    from emlab.questions import load_question_set

    try:
        per_model = expected_samples(load_question_set(spec.questions), spec.generation)
    except Exception:  # the question file may live on another machine; status still works without it
        return None
    return per_model * n_units


def _last_logged_step(loss_csv: Path) -> int | None:
    from emlab.report import read_loss_csv

    if not loss_csv.is_file():
        return None
    points = read_loss_csv(loss_csv)
    return int(points[-1][0]) if points else None


def _last_timing(payload: dict[str, Any]) -> str:
    state = "complete" if payload.get("complete") else "unfinished"
    return f"last invocation {payload.get('total_seconds', 0):.0f}s ({state})"
