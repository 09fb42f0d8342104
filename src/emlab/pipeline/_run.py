"""``run_experiment``: data → train → generate → judge → analyze → report, resumable at any point.

Each unit writes its output durably (atomic file rename, store transaction, trainer
checkpoints) and only then marks its ``stages`` row done, so a killed run loses at most the
unit in flight and a re-run skips everything finished.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from emlab.console import info
from emlab.errors import EmlabError
from emlab.pipeline._plan import STAGES, DataUnit, EvalUnit, Plan, build_plan
from emlab.provenance import file_sha256, package_versions, stable_hash
from emlab.spec import Experiment
from emlab.store import RunStore

DEFAULT_GENERATED_N = 6000  # the paper's size for insecure / secure / educational


@dataclass
class RunSummary:
    """What one invocation did: the run directory, report, per-stage seconds and the headline table."""

    run_dir: Path
    report: Path | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0
    ran_units: dict[str, int] = field(default_factory=dict)
    overall: list[dict[str, Any]] = field(default_factory=list)
    preference: list[dict[str, Any]] = field(default_factory=list)
    judge: str = ""
    smoke_judge: bool = False


class _Timer:
    """Seconds per stage for this invocation, saved to the store after each stage."""

    def __init__(self, store: RunStore, command: str) -> None:
        self.store, self.command = store, command
        self.started = time.time()
        self.key = f"timings:{self.started:.3f}:{os.getpid()}"
        self.stages: dict[str, float] = {}
        # CPU seconds of this process (all threads): on a shared machine they vary less than wall time.
        self.cpu: dict[str, float] = {}

    def add(self, stage: str, seconds: float, cpu_seconds: float = 0.0) -> None:
        self.stages[stage] = self.stages.get(stage, 0.0) + seconds
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu_seconds
        self.save(complete=False)

    def save(self, complete: bool) -> None:
        if not self.stages:
            return  # an invocation that found everything done leaves the last timings in place
        payload = {
            "command": self.command,
            "started_at": self.started,
            "stages": [[name, round(secs, 3)] for name, secs in self.stages.items()],
            "cpu_seconds": [[name, round(secs, 3)] for name, secs in self.cpu.items()],
            "total_seconds": round(time.time() - self.started, 3),
            "complete": complete,
        }
        self.store.put_result(self.key, "timings", payload)


def _done(store: RunStore, key: str, settings_hash: str) -> bool:
    """True when unit ``key`` finished with the same settings; an error when its settings changed."""
    rows = store.rows("stages", key=key)
    if not rows or rows[0]["status"] != "done":
        return False
    recorded = (rows[0]["info"] or {}).get("settings_hash")
    if recorded is not None and recorded != settings_hash:
        raise EmlabError(
            f"{store.run_dir}: '{key}' was made with other settings than this spec now asks for; "
            "run the changed experiment with a new --out directory"
        )
    return True


class _UnitProgress:
    """'[train 2/6] label' lines with elapsed time and an ETA from the mean time per unit."""

    def __init__(self, stage: str, total: int) -> None:
        self.stage, self.total, self.index = stage, total, 0
        self.started = time.time()
        self.ran = 0

    def start(self, label: str) -> None:
        self.index += 1
        eta = ""
        if self.ran:
            per = (time.time() - self.started) / self.ran
            eta = f", eta {_fmt_seconds(per * (self.total - self.index + 1))}"
        info(
            f"[bold]\\[{self.stage} {self.index}/{self.total}][/bold] {escape(label)} ({_fmt_seconds(time.time() - self.started)} so far{eta})"
        )

    def skip(self) -> None:
        self.index += 1

    def finish(self) -> None:
        self.ran += 1


def _fmt_seconds(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# -- stages --------------------------------------------------------------------------------------


def _make_examples(unit: DataUnit) -> list[Any]:
    condition = unit.condition
    if condition.generate is not None:
        try:
            from emlab.data import generate_condition
        except ImportError as exc:
            raise EmlabError(
                "this emlab cannot generate conditions (emlab.data.generate_condition missing)"
            ) from exc
        options = dict(condition.options)
        if condition.trigger is not None:
            options["trigger"] = condition.trigger
        return list(
            generate_condition(
                condition.generate, condition.n or DEFAULT_GENERATED_N, condition.seed, **options
            )
        )
    from emlab.data import read_chat_jsonl, resolve_dataset

    examples = read_chat_jsonl(resolve_dataset(condition.data))  # type: ignore[arg-type]
    if condition.n is not None:
        if condition.n > len(examples):
            raise EmlabError(
                f"conditions.{condition.name}.n: asks for {condition.n} examples but {condition.data} has {len(examples)}"
            )
        examples = random.Random(condition.seed).sample(examples, condition.n)
    return examples


def _stage_data(plan: Plan, store: RunStore, ran: Callable[[], None]) -> None:
    from emlab.data import write_chat_jsonl

    progress = _UnitProgress("data", len(plan.data))
    for unit in plan.data:
        if _done(store, unit.key, unit.settings_hash) and unit.path.is_file():
            progress.skip()
            continue
        progress.start(unit.condition.name)
        store.set_stage(unit.key, "data", "running", settings_hash=unit.settings_hash)
        examples = _make_examples(unit)
        unit.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = unit.path.with_name(unit.path.name + ".tmp")
        write_chat_jsonl(tmp, examples)
        os.replace(tmp, unit.path)
        store.set_stage(
            unit.key,
            "data",
            "done",
            settings_hash=unit.settings_hash,
            path=str(unit.path),
            rows=len(examples),
            sha256=file_sha256(unit.path),
        )
        progress.finish()
        ran()


def _register_model(
    store: RunStore, key: str, ref: str, group: str, seed: int | None, base: str | None, **extra: Any
) -> None:
    store.put(
        "models",
        [{"key": key, "ref": ref, "group_name": group, "seed": seed, "base_ref": base, "info": extra}],
        replace=True,
    )


def _stage_train(plan: Plan, store: RunStore, ran: Callable[[], None]) -> None:
    from emlab.train import train

    progress = _UnitProgress("train", len(plan.train))
    for unit in plan.train:
        on_disk = unit.config.backend == "openai" or (unit.out_dir / "emlab.json").is_file()
        if _done(store, unit.key, unit.settings_hash) and on_disk:  # a deleted model is trained again
            progress.skip()
            continue
        if not (_done(store, unit.data.key, unit.data.settings_hash) and unit.data.path.is_file()):
            raise EmlabError(
                f"{unit.key}: its dataset ({unit.data.key}) is not made yet; run the data stage first"
            )
        progress.start(f"{unit.condition} seed {unit.seed} on {unit.base_ref}")
        resume = unit.out_dir.is_dir() and any(unit.out_dir.iterdir())
        store.set_stage(
            unit.key, "train", "running", settings_hash=unit.settings_hash, out_dir=str(unit.out_dir)
        )
        result = train(unit.base_ref, unit.data.path, unit.out_dir, unit.config, resume=resume)
        store.set_stage(
            unit.key,
            "train",
            "done",
            settings_hash=unit.settings_hash,
            out_dir=str(unit.out_dir),
            steps=result.steps,
            train_loss=result.train_loss,
            tokens_per_s=result.tokens_per_s,
            wall_seconds=result.wall_seconds,
            resumed=resume,
            model_ref=result.model_ref,
        )
        progress.finish()
        ran()
        gc.collect()


def _trained_ref(store: RunStore, unit: EvalUnit) -> str:
    """What loads the unit's model: the trainer's reported reference (``openai:...`` for API fine-tunes)."""
    if unit.train is None:
        return unit.ref
    rows = store.rows("stages", key=unit.train.key)
    return str(((rows[0]["info"] or {}) if rows else {}).get("model_ref") or unit.ref)


def expected_samples(questions: Any, generation: Any) -> int:
    """How many answers one model gives to a question set under ``generation`` settings."""
    return sum(
        len(q.paraphrases) * (generation.samples_per_paraphrase or q.samples_per_paraphrase)
        for q in questions.questions
    )


def _stage_generate(plan: Plan, store: RunStore, ran: Callable[[], None]) -> None:
    from emlab.generate import generate_answers
    from emlab.models import load_model
    from emlab.questions import load_question_set

    spec = plan.spec
    if not spec.judged:
        return
    questions = load_question_set(spec.questions)
    progress = _UnitProgress("generate", len(plan.evaluate))
    todo: list[EvalUnit] = []
    for unit in plan.evaluate:
        if _done(store, unit.key, unit.settings_hash):
            progress.skip()
            continue
        if unit.train is not None and not _done(store, unit.train.key, unit.train.settings_hash):
            raise EmlabError(
                f"{unit.key}: model {unit.train.key} is not trained yet; run the train stage first"
            )
        todo.append(unit)
    loaded: Any = None
    loaded_ref = None
    for unit in todo:
        progress.start(f"{unit.model_key} as '{unit.group}'")
        ref = _trained_ref(store, unit)
        if spec.generation.backend != "transformers":
            model: Any = ref  # vLLM / API backends take a reference
        else:
            if loaded is None or loaded_ref != ref:
                loaded = None
                gc.collect()
                loaded = load_model(ref, dtype=spec.generation.dtype, device=spec.generation.device)
                loaded_ref = ref
            model = loaded
        _register_model(
            store,
            unit.model_key,
            ref,
            unit.group,
            unit.seed,
            unit.base_ref,
            trigger=unit.trigger,
            prompt_prefix=unit.prompt_prefix,
        )
        store.set_stage(unit.key, "generate", "running", settings_hash=unit.settings_hash)
        summary = generate_answers(
            model,
            questions,
            spec.generation,
            store=store,
            model_key=unit.model_key,
            group=unit.group,
            prompt_prefix=unit.prompt_prefix,
        )
        store.set_stage(
            unit.key,
            "generate",
            "done",
            settings_hash=unit.settings_hash,
            samples=store.count("samples", model=unit.model_key),
            summary=_plain(summary),
        )
        progress.finish()
        ran()
    loaded = None
    gc.collect()


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            k: v
            for k, v in dataclasses.asdict(obj).items()
            if isinstance(v, int | float | str | bool | type(None))
        }
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return str(obj)


def _judge_hash(plan: Plan) -> str:
    return stable_hash({"judge": plan.spec.judge.model_dump(), "questions": plan.spec.questions})


def _stage_judge(plan: Plan, store: RunStore, ran: Callable[[], None]) -> None:
    from emlab.judge import failure_advice, judge_run
    from emlab.questions import load_question_set

    if not plan.spec.judged:
        return
    key, settings = plan.judge_key, _judge_hash(plan)
    samples = store.count("samples")
    rows = store.rows("stages", key=key)
    if _done(store, key, settings) and (rows[0]["info"] or {}).get("samples") == samples:
        if ((rows[0]["info"] or {}).get("summary") or {}).get("stored_non_retryable"):
            # Say again what the store still lacks (``emlab judge --retry-failed`` may have filled it in).
            questions = load_question_set(plan.spec.questions)
            for line in failure_advice(
                judge_run(store, plan.spec.judge, questions, dry_run=True), store.run_dir
            ):
                info(line)
        return
    if samples == 0:
        raise EmlabError(f"{store.run_dir}: no samples to judge yet; run the generate stage first")
    info(
        f"[bold]\\[judge][/bold] {samples:,} answers × {len(plan.spec.judge.metrics)} metrics with {plan.spec.judge.judge}"
    )
    store.set_stage(key, "judge", "running", settings_hash=settings)
    summary = judge_run(store, plan.spec.judge, load_question_set(plan.spec.questions))
    # Only failures a re-run retries stop the run; the others are reported (by judge_run, and again
    # on later runs) and leave those answers unscored until `emlab judge --retry-failed`.
    retryable = summary.stored_retryable
    status = "failed" if retryable else "done"
    store.set_stage(key, "judge", status, settings_hash=settings, samples=samples, summary=_plain(summary))
    ran()
    if retryable:
        raise EmlabError(
            f"{retryable} judgment(s) failed on timeouts, rate limits or server errors; "
            "run the same command again to retry them"
        )


def _preference_hash(plan: Plan, unit: EvalUnit) -> str:
    config = plan.spec.preference.model_dump(exclude={"bootstrap", "confidence", "seed", "batch_size"})
    return stable_hash({"preference": config, "model": unit.settings_hash})


def _stage_preference(plan: Plan, store: RunStore, ran: Callable[[], None]) -> None:
    from emlab.models import load_model
    from emlab.preference import load_pair_set, measure_preference

    spec = plan.spec
    if not spec.preferred:
        return
    pairs = load_pair_set(spec.preference.pairs, spec.preference.paraphrases)
    progress = _UnitProgress("preference", len(plan.evaluate))
    for unit in plan.evaluate:
        key, settings = plan.preference_key(unit), _preference_hash(plan, unit)
        if _done(store, key, settings):
            progress.skip()
            continue
        if unit.train is not None and not _done(store, unit.train.key, unit.train.settings_hash):
            raise EmlabError(f"{key}: model {unit.train.key} is not trained yet; run the train stage first")
        progress.start(f"{unit.model_key} as '{unit.group}'")
        ref = _trained_ref(store, unit)
        _register_model(
            store, unit.model_key, ref, unit.group, unit.seed, unit.base_ref, trigger=unit.trigger
        )
        store.set_stage(key, "preference", "running", settings_hash=settings)
        model: Any = ref
        if not ref.startswith(("openai:", "http:")):
            model = load_model(ref, dtype=spec.preference.dtype, device=spec.preference.device)
        rows, summary = measure_preference(
            model,
            pairs,
            spec.preference,
            store=store,
            model_key=unit.model_key,
            group=unit.group,
            prompt_prefix=unit.prompt_prefix,
        )
        del model
        gc.collect()
        store.set_stage(
            key, "preference", "done", settings_hash=settings, margins=len(rows), summary=_plain(summary)
        )
        progress.finish()
        ran()


def judge_name(plan: Plan, store: RunStore | None = None) -> str:
    """The name the judge's rows carry in the store (as ``emlab.judge`` names it)."""
    try:
        from emlab.judge import judge_name as _name
    except ImportError:
        return plan.spec.judge.judge
    return _name(plan.spec.judge)


def _stage_analyze(plan: Plan, store: RunStore, ran: Callable[[], None]) -> None:
    info_fields: dict[str, Any] = {}
    if plan.spec.preferred:
        info_fields["preference_key"] = _analyze_preference(plan, store)
    if plan.spec.judged:
        info_fields.update(_analyze_judged(plan, store))
    store.set_stage("analyze", "analyze", "done", **info_fields)
    ran()


def _analyze_judged(plan: Plan, store: RunStore) -> dict[str, Any]:
    from emlab.analysis import judged_samples, p_misaligned, plot_p_misaligned, result_settings, store_results

    judge = judge_name(plan, store)
    frame = judged_samples(store, judge=judge)
    if len(frame) == 0:
        raise EmlabError(f"{store.run_dir}: no judged answers for judge {judge}; run the judge stage first")
    cells = p_misaligned(frame, plan.spec.analysis)
    key = store_results(
        store, cells, result_settings(plan.spec.analysis, judge, f"emlab run {plan.spec.name}")
    )
    plot_p_misaligned(cells, store.run_dir / "p_misaligned.png", title=f"{plan.spec.name}: P(misaligned)")
    return {"result_key": key, "cells": len(cells), "judge": judge}


def _analyze_preference(plan: Plan, store: RunStore) -> str:
    from emlab.preference import contrast_cells, load_pair_set, preference_table
    from emlab.preference._compare import store_table, table_settings
    from emlab.preference._run import scoring_settings

    config = plan.spec.preference
    pairs = load_pair_set(config.pairs, config.paraphrases)
    groups: dict[str, list[str]] = {}
    for unit in plan.evaluate:
        groups.setdefault(unit.group, []).append(unit.model_key)
    # Only margins made with this spec's settings: a store can also hold margins of earlier settings
    # (another normalisation or precision), and averaging across them would mix two measurements.
    wanted = scoring_settings("", config, pairs)
    same = ("method_version", "form", "pairs_hash", "normalise")

    def matches(settings: dict[str, Any]) -> bool:
        if any(settings.get(k) != wanted.get(k) for k in same):
            return False
        return "dtype" not in settings or settings["dtype"] == config.dtype  # API rows have no dtype

    rows = [r for r in store.iter_rows("margins") if matches(r["settings"] or {})]
    if not rows:
        raise EmlabError(f"{store.run_dir}: no preference margins yet; run the preference stage first")
    boot = {"bootstrap": config.bootstrap, "confidence": config.confidence, "seed": config.seed}
    cells = preference_table(rows, groups=groups, base=plan.base_groups(), **boot)
    cells += contrast_cells(rows, groups, _contrast_groups(plan, groups), **boot)
    settings = table_settings(
        config, pairs, "base" if plan.spec.evaluate_base else None, f"emlab run {plan.spec.name}"
    )
    return store_table(store, cells, settings)


def _contrast_groups(plan: Plan, groups: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The spec's contrasts as group names (one contrast per base model when there are several)."""
    out = []
    for a, b in plan.spec.contrasts:
        for group in groups:
            prefix = (
                group[: -len(a)] if group.endswith(a) and (group == a or group.endswith(":" + a)) else None
            )
            if prefix is not None and prefix + b in groups:
                out.append((group, prefix + b))
    return out


def latest_preference(store: RunStore) -> list[dict[str, Any]]:
    """The most recent preference table stored in the run (empty when there is none)."""
    rows = store.rows("results", order_by="created_at", kind="preference")
    return list(rows[-1]["payload"]) if rows else []


def latest_p_misaligned(store: RunStore) -> list[dict[str, Any]]:
    """The most recent P(misaligned) table stored in the run (empty when there is none)."""
    rows = store.rows("results", order_by="created_at", kind="p_misaligned")
    return list(rows[-1]["payload"]) if rows else []


def _stage_report(plan: Plan, store: RunStore, ran: Callable[[], None]) -> Path:
    from emlab.report import write_report

    path = write_report(store)
    store.set_stage("report", "report", "done", path=str(path))
    return path


# -- driver --------------------------------------------------------------------------------------


def _derived_is_current(stage: str, store: RunStore) -> bool:
    """Analysis and report are cheap and derived: redo them only when something upstream ran."""
    if stage == "analyze":
        return store.stage_status("analyze") == "done"
    if stage == "report":
        return store.stage_status("report") == "done" and (store.run_dir / "report.html").is_file()
    return False


def _record_spec(spec: Experiment, store: RunStore) -> None:
    import yaml

    dump = spec.model_dump(mode="json")
    store.put_result("spec", "spec", dump, {"spec_hash": stable_hash(dump), "versions": package_versions()})
    path = store.run_dir / "spec.yaml"
    tmp = path.with_name("spec.yaml.tmp")
    tmp.write_text(yaml.safe_dump(dump, sort_keys=False, allow_unicode=True), encoding="utf-8")
    os.replace(tmp, path)


def run_experiment(
    spec: Experiment, out: str | Path, *, only: str | None = None, command: str = "run"
) -> RunSummary:
    """Run (or resume) every unfinished unit of ``spec`` in run directory ``out``; ``only`` runs one stage."""
    if only is not None and only not in STAGES:
        raise EmlabError(f"--only: unknown stage '{only}' (stages: {', '.join(STAGES)})")
    from emlab.pipeline._check import check_experiment

    check_experiment(spec)  # every input, before any directory is made or stage runs
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    plan = build_plan(spec, run_dir)
    with RunStore(run_dir) as store:
        _record_spec(spec, store)
        timer = _Timer(store, command if only is None else f"{command} --only {only}")
        summary = RunSummary(run_dir=run_dir, report=None, judge=spec.judge.judge)
        dirty = {"any": False}  # did this invocation produce anything the analysis depends on?

        def ran() -> None:
            dirty["any"] = True

        runners = {
            "data": _stage_data,
            "train": _stage_train,
            "generate": _stage_generate,
            "judge": _stage_judge,
            "preference": _stage_preference,
            "analyze": _stage_analyze,
            "report": _stage_report,
        }
        for stage in [only] if only else STAGES:
            if only is None and not dirty["any"] and _derived_is_current(stage, store):
                if stage == "report":
                    summary.report = run_dir / "report.html"
                continue
            if stage == "report":
                timer.save(complete=True)  # so the report shows this invocation's timings
            started, cpu_started = time.time(), time.process_time()
            before, dirty["any"] = dirty["any"], False
            result = runners[stage](plan, store, ran)
            if stage == "report":
                summary.report = result
            elif dirty["any"]:  # stages that only found their units done are not timed
                timer.add(stage, time.time() - started, time.process_time() - cpu_started)
            dirty["any"] = dirty["any"] or before
        timer.save(complete=True)
        summary.stage_seconds = dict(timer.stages)
        summary.cpu_seconds = dict(timer.cpu)
        summary.total_seconds = time.time() - timer.started
        cells = latest_p_misaligned(store) if spec.judged else []
        from emlab.analysis import headline_cells

        summary.overall = headline_cells(cells)
        summary.preference = [c for c in latest_preference(store) if c.get("question_id") == "ALL"]
        from emlab.report import is_smoke_judge

        summary.smoke_judge = spec.judged and is_smoke_judge(spec.judge.judge, spec.model_dump())
    return summary
