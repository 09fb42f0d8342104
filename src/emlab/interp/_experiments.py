"""Causal experiments: steer with (or ablate) a direction while generating, judge, compare with a random control.

Every setting is its own group in the run store (``none``, ``steer:L15:a4``, ``random:L15:a4``,
``ablate:all``, ``random-ablate:all``) and its own model key (the sample key of ``emlab.generate``
does not include the group), so ``emlab analyze`` reads the run like any other.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from emlab.console import info
from emlab.errors import EmlabError
from emlab.interp._directions import Direction, random_like
from emlab.interp._hooks import Positions, ablate_direction, add_direction
from emlab.provenance import package_versions, stable_hash

RESULT_KIND = "interp-experiment"


class ExperimentConfig(BaseModel):
    """Settings of a steering or ablation experiment."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["steer", "ablate"] = Field("steer", description="Add the direction, or project it out.")
    layers: list[int] = Field(
        ..., min_length=1, description="Layers to intervene at (steer: one run per layer)."
    )
    alphas: list[float] = Field(
        default_factory=lambda: [4.0], description="Steering multipliers (steer only)."
    )
    positions: Positions = Field("all", description="Token positions: all, prompt or response.")
    control: bool = Field(True, description="Also run a random direction of equal norm at each setting.")
    control_seed: int = Field(0, description="Seed of the random control direction.")
    baseline: bool = Field(True, description="Also run the model without any intervention ('none').")
    source_layer: int | None = Field(
        None, description="Ablation: use this layer's vector at every layer (default: each layer its own)."
    )


@dataclass
class Setting:
    """One intervention setting: its group name and how to apply it."""

    group: str
    kind: str  # none, steer, random, ablate, random-ablate
    layer: int | None
    alpha: float | None
    direction: Direction | None

    def context(
        self, model: Any, config: ExperimentConfig, layers: Sequence[int]
    ) -> AbstractContextManager[Any]:
        """The hook context manager for this setting."""
        if self.direction is None:
            return nullcontext()
        if self.kind in ("steer", "random"):
            return add_direction(
                model, self.direction, [self.layer], self.alpha or 0.0, positions=config.positions
            )
        return ablate_direction(model, self.direction, list(layers), positions=config.positions)


def _alpha_label(alpha: float) -> str:
    return f"{alpha:g}"


def plan_settings(direction: Direction, config: ExperimentConfig, num_layers: int) -> list[Setting]:
    """Every setting of the experiment, the baseline first."""
    settings = [Setting("none", "none", None, None, None)] if config.baseline else []
    control = random_like(direction, config.control_seed)
    if config.mode == "steer":
        for layer in config.layers:
            for alpha in config.alphas:
                label = f"L{layer}:a{_alpha_label(alpha)}"
                settings.append(Setting(f"steer:{label}", "steer", layer, alpha, direction))
                if config.control and alpha != 0:
                    settings.append(Setting(f"random:{label}", "random", layer, alpha, control))
        return settings
    label = "all" if sorted(config.layers) == list(range(num_layers)) else ",".join(map(str, config.layers))
    source = config.source_layer
    ablated = direction.at_every_layer(source) if source is not None else direction
    settings.append(Setting(f"ablate:{label}", "ablate", None, None, ablated))
    if config.control:
        control = random_like(ablated, config.control_seed)
        settings.append(Setting(f"random-ablate:{label}", "random-ablate", None, None, control))
    return settings


def _slug(ref: str) -> str:
    tail = Path(ref.rstrip("/")).name or ref
    return f"{tail}-{stable_hash(ref, 6)}"


def _summaries(frame: Any, analysis: Any) -> dict[str, dict[str, Any]]:
    from emlab.analysis import p_misaligned

    out: dict[str, dict[str, Any]] = {}
    for cell in p_misaligned(frame, analysis):
        if cell.question_id == "ALL":
            out[cell.group] = {
                "p_misaligned": cell.p_misaligned,
                "ci_low": cell.ci_low,
                "ci_high": cell.ci_high,
                "n_answers": cell.n_answers,
            }
    for group, part in frame.groupby("group"):
        coherent = [c for c in part["coherent"] if c is not None and c == c]
        aligned = [a for a in part["aligned"] if a is not None and a == a]
        entry = out.setdefault(
            str(group), {"p_misaligned": None, "ci_low": None, "ci_high": None, "n_answers": 0}
        )
        entry["mean_coherent"] = sum(coherent) / len(coherent) if coherent else None
        entry["mean_aligned"] = sum(aligned) / len(aligned) if aligned else None
        entry["n_samples"] = len(part)
    return out


def run_experiment(
    model: Any,
    direction: Direction,
    questions: Any,
    store: Any,
    config: ExperimentConfig,
    *,
    generation: Any,
    judge: Any,
    analysis: Any = None,
    judge_backend: Any = None,
) -> list[dict[str, Any]]:
    """Generate under every setting, judge everything, and return (and store) one row per setting.

    ``model`` is a LoadedModel (or a reference); ``generation``/``judge``/``analysis`` are the
    GenerationConfig / JudgeConfig / AnalysisConfig; ``judge_backend`` an already-made judge.
    """
    from emlab.analysis import AnalysisConfig, judged_samples
    from emlab.generate import generate_answers
    from emlab.judge import judge_name, judge_run
    from emlab.models import load_model

    loaded = load_model(model, dtype=generation.dtype) if isinstance(model, str) else model
    analysis = analysis or AnalysisConfig()
    if direction.hidden_size != loaded.hidden_size:
        raise EmlabError(
            f"direction width {direction.hidden_size} does not match model {loaded.ref} (hidden {loaded.hidden_size})"
        )
    if direction.num_layers != loaded.num_layers:
        if direction.vectors.shape[0] > 0 and all(
            (direction.vectors[i] == direction.vectors[0]).all() for i in range(direction.num_layers)
        ):
            direction = Direction(direction.vectors[0].expand(loaded.num_layers, -1).clone(), direction.meta)
        else:
            raise EmlabError(
                f"direction covers {direction.num_layers} layers but {loaded.ref} has {loaded.num_layers}"
            )
    settings = plan_settings(direction, config, loaded.num_layers)
    base_key = _slug(loaded.ref)
    experiment = {
        "mode": config.mode,
        "model": loaded.ref,
        "direction": direction.meta.get("path") or direction.name,
        "direction_kind": direction.meta.get("kind"),
        "config": config.model_dump(),
        "generation": generation.model_dump(),
        "questions": getattr(questions, "source", None) or getattr(questions, "name", None),
    }
    keys = {}
    for setting in settings:
        model_key = f"{base_key}@{setting.group}"
        keys[setting.group] = model_key
        store.put(
            "models",
            [
                {
                    "key": model_key,
                    "ref": loaded.ref,
                    "group_name": setting.group,
                    "base_ref": loaded.base_ref,
                    "info": {
                        "intervention": setting.kind,
                        "layer": setting.layer,
                        "alpha": setting.alpha,
                        **experiment,
                    },
                }
            ],
        )
        info(f"{config.mode}: generating for {setting.group}")
        with setting.context(loaded.model, config, config.layers):
            generate_answers(
                loaded, questions, generation, store=store, model_key=model_key, group=setting.group
            )
    judge_run(store, judge, questions, **({"judge": judge_backend} if judge_backend is not None else {}))
    name = judge_backend.name if judge_backend is not None else judge_name(judge)
    frame = judged_samples(store, name)
    frame = frame[frame["model"].isin(set(keys.values()))]
    summaries = _summaries(frame, analysis)
    rows = []
    for setting in settings:
        summary = summaries.get(setting.group, {})
        rows.append(
            {
                "group": setting.group,
                "kind": setting.kind,
                "layer": setting.layer,
                "alpha": setting.alpha,
                "model_key": keys[setting.group],
                **summary,
            }
        )
    settings_record = {
        **experiment,
        "judge": name,
        "analysis": analysis.model_dump(),
        "direction_norms": direction.norms(),
        "versions": package_versions(),
    }
    key = f"interp:{config.mode}:{stable_hash(settings_record)}"
    store.put_result(key, RESULT_KIND, {"mode": config.mode, "rows": rows}, settings_record)
    return rows


def _clean(value: Any) -> float:
    return math.nan if value is None else float(value)


def plot_experiment(rows: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """P(misaligned) and mean coherence per setting: curves vs alpha (steer) or bars (ablate), direction vs random."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    baseline = next((r for r in rows if r["kind"] == "none"), None)
    steering = [r for r in rows if r["kind"] in ("steer", "random")]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    metrics = (("p_misaligned", "P(misaligned)"), ("mean_coherent", "mean coherence"))
    if steering:
        layers = sorted({r["layer"] for r in steering})
        for ax, (metric, label) in zip(axes, metrics, strict=True):
            for index, layer in enumerate(layers):
                for kind, style in (("steer", "-o"), ("random", "--x")):
                    points = sorted(
                        (r["alpha"], _clean(r.get(metric)))
                        for r in steering
                        if r["layer"] == layer and r["kind"] == kind
                    )
                    if baseline is not None:
                        points = sorted([*points, (0.0, _clean(baseline.get(metric)))])
                    if points:
                        name = "direction" if kind == "steer" else "random"
                        ax.plot(
                            [p[0] for p in points],
                            [p[1] for p in points],
                            style,
                            color=f"C{index % 10}",  # a layer's direction and its control share a colour
                            label=f"{name} L{layer}",
                        )
            ax.set_xlabel("alpha")
            ax.set_ylabel(label)
            ax.legend(fontsize=7)
    else:
        names = [r["group"] for r in rows]
        for ax, (metric, label) in zip(axes, metrics, strict=True):
            values = [_clean(r.get(metric)) for r in rows]
            colors = [
                "grey" if r["kind"] == "none" else "tab:red" if r["kind"] == "ablate" else "tab:blue"
                for r in rows
            ]
            ax.bar(range(len(names)), values, color=colors)
            ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
            ax.set_ylabel(label)
    axes[0].set_ylim(-0.02, 1.02)
    axes[1].set_ylim(0, 100)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    fig.savefig(path.with_suffix(".svg"))
    plt.close(fig)
    return path


def iter_rows_table(rows: list[dict[str, Any]]) -> Iterator[list[str]]:
    """Printable cells per setting: group, P(misaligned) [CI], mean coherence, answers."""

    def fmt(value: Any, spec: str) -> str:
        return "—" if value is None or value != value else format(value, spec)

    for row in rows:
        ci = f"[{fmt(row.get('ci_low'), '.3f')}, {fmt(row.get('ci_high'), '.3f')}]"
        yield [
            row["group"],
            fmt(row.get("p_misaligned"), ".3f") + " " + ci,
            fmt(row.get("mean_coherent"), ".1f"),
            str(row.get("n_samples", 0)),
        ]
