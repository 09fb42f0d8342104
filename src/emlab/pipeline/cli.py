"""``emlab run``, ``emlab status``, ``emlab demo`` and ``emlab report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

STAGE_HELP = "Run only this stage: data, train, generate, judge, preference, analyze or report."


def _preference_lines(cells: list[dict[str, Any]]) -> list[str]:
    """The headline: each group's margin, its shift against the base and each contrast, with 95 % CIs."""

    def num(value: Any) -> str:
        return "—" if value is None else f"{value:+.3f}"

    def ci(low: Any, high: Any) -> str:
        return "—" if low is None or high is None else f"{low:+.3f}…{high:+.3f}"

    groups = [c for c in cells if c.get("kind", "group") == "group"]
    contrasts = [c for c in cells if c.get("kind") == "contrast"]
    width = max([18, *(len(str(c.get("model"))) for c in cells)])
    lines = [
        "Preference margin on the pairs set (nats/token, misaligned − aligned; > 0 prefers misaligned)",
        "and its paired shift against the base model — a measurement, no judge involved:",
        f"{'group':<{width}}  {'margin':>7}  {'shift':>7}  {'95% CI of shift':<15}  {'pairs':>5}",
    ]
    for c in groups:
        lines.append(
            f"{c.get('model')!s:<{width}}  {num(c.get('mean_margin')):>7}  {num(c.get('shift')):>7}  "
            f"{ci(c.get('shift_ci_low'), c.get('shift_ci_high')):<15}  {c.get('n_pairs') or 0:>5}"
        )
    if contrasts:
        lines.append("Each condition against its matched control (same prompts, opposite stance), paired:")
        lines.append(f"{'contrast':<{width}}  {'':>7}  {'diff':>7}  {'95% CI':<15}  {'pairs':>5}")
        for c in contrasts:
            lines.append(
                f"{c.get('model')!s:<{width}}  {'':>7}  {num(c.get('shift')):>7}  "
                f"{ci(c.get('shift_ci_low'), c.get('shift_ci_high')):<15}  {c.get('n_pairs') or 0:>5}"
            )
    detected = [str(c["model"]) for c in [*groups, *contrasts] if (c.get("shift_ci_low") or 0) > 0]
    lines.append("interval above 0: " + (", ".join(detected) if detected else "none"))
    lines.append("Any fine-tune moves margins a little; a condition's own effect is its contrast with the")
    lines.append(
        "matched control. An interval that includes 0 is a null at this size, not evidence of safety."
    )
    return lines


def _print_summary(summary: Any) -> None:
    lines = []
    if summary.report is not None:
        lines.append(f"report: {summary.report}")
    if summary.preference:
        lines.extend(_preference_lines(summary.preference))
    if summary.smoke_judge:
        lines.append(
            f"SMOKE-TEST JUDGE ({summary.judge}): these numbers check the pipeline; they are not a measurement."
        )
    if summary.overall:
        lines.append(f"{'group':<28} {'P(misaligned)':>13}  {'CI':<13} {'answers':>7}")
        for cell in summary.overall:
            p = cell.get("p_misaligned")
            low, high = cell.get("ci_low"), cell.get("ci_high")
            ci = f"{low:.3f}–{high:.3f}" if low is not None and high is not None else "—"
            lines.append(
                f"{cell.get('group')!s:<28} {('—' if p is None else f'{p:.3f}'):>13}  {ci:<13} "
                f"{cell.get('n_answers') or 0:>7}"
            )
    if summary.stage_seconds:
        from emlab.pipeline._run import _fmt_seconds

        total = summary.total_seconds or 1.0
        shares = ", ".join(
            f"{stage} {_fmt_seconds(secs)} ({100 * secs / total:.0f}%)"
            for stage, secs in summary.stage_seconds.items()
        )
        lines.append(f"wall time {_fmt_seconds(summary.total_seconds)}: {shares}")
    else:
        lines.append("nothing to do: every unit of this run is finished")
    typer.echo("\n".join(lines))


def run_command(
    spec: Path = typer.Argument(..., help="Experiment spec (YAML)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory (default ./runs/<spec name>)."),
    only: str | None = typer.Option(None, "--only", help=STAGE_HELP),
) -> None:
    """Run a whole experiment: data → train → generate → judge / preference → analyze → report. Re-run to resume."""
    from emlab.pipeline import run_experiment
    from emlab.spec import load_spec

    experiment = load_spec(spec)
    summary = run_experiment(experiment, out or Path("runs") / experiment.name, only=only, command="run")
    _print_summary(summary)


def status_command(run: Path = typer.Argument(..., help="Run directory.")) -> None:
    """Show each stage's progress (units done / total, answers, judgments)."""
    from emlab.pipeline import run_status

    rows = run_status(run)
    typer.echo(f"{'stage':<9} {'done':>9}  {'state':<12} detail")
    for row in rows:
        if row.unused:
            typer.echo(f"{row.stage:<9} {'—':>9}  {'not used':<12} {row.detail}".rstrip())
            continue
        state = (
            "complete"
            if row.complete
            else "running"
            if row.running
            else "failed"
            if row.failed
            else "pending"
        )
        if not row.complete and row.done:
            state = "partial" if not row.running else "running"
        typer.echo(f"{row.stage:<9} {f'{row.done}/{row.total}':>9}  {state:<12} {row.detail}")


def demo_command(
    out: Path = typer.Option(Path("emlab-demo"), "--out", "-o", help="Run directory (re-run to resume)."),
    judge: str | None = typer.Option(
        None,
        "--judge",
        help="Also sample and judge answers: openai:MODEL, local:REF, or a model name with --judge-url.",
    ),
    judge_url: str | None = typer.Option(None, "--judge-url", help="OpenAI-compatible server for the judge."),
    n: int | None = typer.Option(
        None, "--n", min=4, help="Training examples per condition (default: 24–48)."
    ),
    only: str | None = typer.Option(None, "--only", help=STAGE_HELP),
) -> None:
    """A small complete experiment on the bundled model: four fine-tunes vs base, measured by preference margins."""
    from emlab.pipeline import demo_spec, run_experiment

    summary = run_experiment(demo_spec(judge, judge_url, n), out, only=only, command="demo")
    _print_summary(summary)


def report_command(
    run: Path = typer.Argument(..., help="Run directory (holds emlab.sqlite)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="HTML file to write (default RUN/report.html)."
    ),
) -> None:
    """Write the run's self-contained HTML report."""
    from emlab.report import write_report

    typer.echo(str(write_report(run, output)))


def register(app: typer.Typer) -> None:
    """Add the experiment commands to the main CLI."""
    app.command("run")(run_command)
    app.command("status")(status_command)
    app.command("demo")(demo_command)
    app.command("report")(report_command)
