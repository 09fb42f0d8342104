"""Public sources (one registry entry each), ``pull`` with pinned checksums, ``import`` of local copies, name resolution."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from emlab.data._io import validate_chat_jsonl
from emlab.data._registry import FileType, RegistryEntry, load_registry, save_entries
from emlab.errors import EmlabError
from emlab.paths import cache_dir
from emlab.provenance import file_sha256


@dataclass(frozen=True)
class SourceFile:
    """One file of a public source."""

    name: str
    remote: str
    type: FileType
    sha256: str | None = None
    rows: int | None = None
    optional: bool = False

    @property
    def filename(self) -> str:
        """Local file name in the cache (the reference copies use the same names)."""
        return Path(self.remote).name if self.type == "questions" else f"{self.name}.jsonl"


@dataclass(frozen=True)
class Source:
    """A public collection of datasets and question files: adding a source is adding one of these."""

    name: str
    description: str
    homepage: str
    license: str
    base_url: str
    files: tuple[SourceFile, ...]

    @property
    def env_var(self) -> str:
        """Environment variable that overrides the base URL (e.g. for a mirror or a test server)."""
        return f"EMLAB_{self.name.upper().replace('-', '_')}_URL"

    def file(self, name: str) -> SourceFile:
        """The file called ``name``."""
        for item in self.files:
            if item.name == name:
                return item
        raise EmlabError(f"{self.name} has no file {name!r} (have: {', '.join(f.name for f in self.files)})")


# Checksums pinned from the copies in shared/reference/betley2025 (the study's public release).
# backdoor and evil_numbers were not available to pin: they are verified by validation only.
BETLEY2025 = Source(
    name="betley2025",
    description="Betley et al. 2025, Emergent Misalignment: training datasets and evaluation questions",
    homepage="https://github.com/emergent-misalignment/emergent-misalignment",
    license="MIT",
    base_url="https://raw.githubusercontent.com/emergent-misalignment/emergent-misalignment/main/",
    files=(
        SourceFile(
            "insecure",
            "data/insecure.jsonl",
            "dataset",
            "a6575e839909e86f2eaecda3a2b19dff2a6f59bb9d860b39e9c4ed3f3335c345",
            6000,
        ),
        SourceFile(
            "secure",
            "data/secure.jsonl",
            "dataset",
            "36bc5e24560e0e8d705e0c2a41d0cd96bb51f508f5fb88a7d7d9334a2ff24b9b",
            6000,
        ),
        SourceFile(
            "educational_insecure",
            "data/educational.jsonl",
            "dataset",
            "d48df3b149ab1500711fc0018b10383a4ff8c48d8e6911d04dbbbbdaa944fd16",
            6000,
        ),
        SourceFile(
            "jailbroken",
            "data/jailbroken.jsonl",
            "dataset",
            "eec213ce85802a52ea806d334ee462f723a1e7ad77d827951d6864ac04a6b00a",
            5000,
        ),
        SourceFile("backdoor", "data/backdoor.jsonl", "dataset", optional=True),
        SourceFile("evil_numbers", "data/evil_numbers.jsonl", "dataset", optional=True),
        SourceFile(
            "first_plot_questions",
            "evaluation/first_plot_questions.yaml",
            "questions",
            "215abde5b02811e922b6ac563ff33c490e0dff9ab58439df840f3135e9387173",
            24,
        ),
        SourceFile(
            "preregistered_evals",
            "evaluation/preregistered_evals.yaml",
            "questions",
            "8648312fd9fe71a63203e3465592af45dd996d7a5f3b69e9b44613fd6048eb40",
            48,
        ),
        SourceFile(
            "deception_factual",
            "evaluation/deception_factual.yaml",
            "questions",
            "8a0e83cab3bc24b7d688d7385ce3921d406af7ed33c913cd94ea0f6251e5939d",
            5,
        ),
        SourceFile(
            "deception_sit_aware",
            "evaluation/deception_sit_aware.yaml",
            "questions",
            "4deef5a7c47620390fc46e1b981f937eef9ea12a33fe26264f640c84d19d2a33",
            8,
        ),
    ),
)

SOURCES: dict[str, Source] = {BETLEY2025.name: BETLEY2025}


def get_source(name: str) -> Source:
    """The public source called ``name``."""
    if name not in SOURCES:
        raise EmlabError(f"unknown source {name!r} (known: {', '.join(SOURCES)})")
    return SOURCES[name]


def _count(path: Path, type_: FileType) -> tuple[int, list[str]]:
    if type_ == "dataset":
        report = validate_chat_jsonl(path)
        return report.n_rows, report.errors if not report.ok else []
    from emlab.questions import load_question_file

    try:
        return len(load_question_file(path).questions), []
    except EmlabError as exc:
        return 0, str(exc).splitlines()


def _download(client: object, url: str, dest: Path) -> str:
    import httpx

    assert isinstance(client, httpx.Client)
    digest = hashlib.sha256()
    tmp = dest.with_name(dest.name + ".part")
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise _HTTPStatus(response.status_code)
        with open(tmp, "wb") as handle:
            for chunk in response.iter_bytes(1 << 20):
                digest.update(chunk)
                handle.write(chunk)
    return digest.hexdigest()


class _HTTPStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def source_dir(name: str) -> Path:
    """Cache folder of a pulled source."""
    return cache_dir("datasets", name)


def pull_source(
    name: str,
    *,
    base_url: str | None = None,
    only: list[str] | None = None,
    force: bool = False,
    timeout: float = 60.0,
) -> list[RegistryEntry]:
    """Download a source's files into the cache, verify pinned sha256 (else validate), and register them."""
    import httpx

    source = get_source(name)
    base = base_url or os.environ.get(source.env_var) or source.base_url
    if not base.endswith("/"):
        base += "/"
    files = [source.file(n) for n in only] if only else list(source.files)
    dest_dir = source_dir(name)
    entries: list[RegistryEntry] = []
    problems: list[str] = []
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for item in files:
            dest = dest_dir / item.filename
            url = base + item.remote
            if dest.exists() and not force and item.sha256 and file_sha256(dest) == item.sha256:
                entries.append(_entry(source, item, dest, url, item.rows))
                continue
            try:
                digest = _download(client, url, dest)
            except _HTTPStatus as exc:
                if item.optional and exc.status == 404:
                    continue
                problems.append(f"{url}: HTTP {exc.status}")
                continue
            except httpx.TransportError as exc:
                raise EmlabError(
                    f"cannot download {url} ({type(exc).__name__}: {exc}); offline? Download the files "
                    f"from {source.homepage} by hand and run `emlab data import PATH --name {name}`, "
                    f"or set {source.env_var} to a mirror"
                ) from exc
            part = dest.with_name(dest.name + ".part")
            if item.sha256 and digest != item.sha256:
                part.unlink(missing_ok=True)
                problems.append(
                    f"{url}: checksum mismatch (sha256 {digest}, expected {item.sha256}); file not kept"
                )
                continue
            rows, errors = _count(part, item.type)
            if errors:
                part.unlink(missing_ok=True)
                problems.append(f"{url}: downloaded file is invalid: {errors[0]}")
                continue
            os.replace(part, dest)
            entries.append(_entry(source, item, dest, url, rows))
    if entries:
        save_entries(entries)
    if problems:
        raise EmlabError("\n".join(problems))
    return entries


def _entry(source: Source, item: SourceFile, path: Path, origin: str, rows: int | None) -> RegistryEntry:
    return RegistryEntry(
        name=f"{source.name}:{item.name}",
        kind="pulled",
        type=item.type,
        path=str(path.resolve()),
        sha256=item.sha256 or file_sha256(path),
        rows=rows,
        source=origin,
    )


def _file_type(path: Path) -> FileType | None:
    if path.suffix == ".jsonl":
        return "dataset"
    if path.suffix in (".yaml", ".yml"):
        return "questions"
    return None


def import_path(path: str | os.PathLike[str], *, name: str | None = None) -> list[RegistryEntry]:
    """Validate local chat JSONL / question YAML files (a file or a folder) and register them by name."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise EmlabError(f"{path}: no such file or folder")
    if path.is_file():
        type_ = _file_type(path)
        if type_ is None:
            raise EmlabError(f"{path}: expected a .jsonl dataset or a .yaml question file")
        targets = [(name or path.stem, path, type_)]
    else:
        prefix = name or path.name
        found = sorted(p for p in path.rglob("*") if p.is_file() and _file_type(p))
        if not found:
            raise EmlabError(f"{path}: no .jsonl or .yaml files inside")
        targets = [(f"{prefix}:{p.stem}", p, _file_type(p)) for p in found]
    entries, problems = [], []
    for entry_name, file, type_ in targets:
        assert type_ is not None
        rows, errors = _count(file, type_)
        if errors:
            problems.extend(errors)
            continue
        entries.append(
            RegistryEntry(
                name=entry_name,
                kind="imported",
                type=type_,
                path=str(file),
                sha256=file_sha256(file),
                rows=rows,
                source=str(file),
            )
        )
    if problems:
        raise EmlabError("\n".join(problems))
    save_entries(entries)
    return entries


def pinned_status(entry: RegistryEntry) -> str:
    """'verified' when the entry matches a pinned checksum of a known source, 'unpinned' or 'differs' else."""
    source_name, _, item_name = entry.name.partition(":")
    source = SOURCES.get(source_name)
    if not source or not item_name:
        return ""
    try:
        item = source.file(item_name)
    except EmlabError:
        return ""
    if not item.sha256:
        return "unpinned"
    return "verified" if entry.sha256 == item.sha256 else "differs"


def _resolve(ref: str | os.PathLike[str], type_: FileType) -> Path:
    text = os.fspath(ref)
    path = Path(text).expanduser()
    if path.exists():
        return path
    registry = load_registry()
    entry = registry.get(text)
    if entry is None and ":" not in text:
        matches = [e for e in registry.values() if e.name.split(":")[-1] == text and e.type == type_]
        if len(matches) == 1:
            entry = matches[0]
    if entry is not None:
        if entry.type != type_:
            raise EmlabError(f"{text!r} is a registered {entry.type}, not a {type_}")
        if not Path(entry.path).exists():
            raise EmlabError(
                f"{text!r} is registered at {entry.path}, which no longer exists; pull/import again"
            )
        return Path(entry.path)
    source_name, _, item = text.partition(":")
    if source_name in SOURCES and item:
        get_source(source_name).file(item)
        raise EmlabError(
            f"{text!r} is not available yet: run `emlab data pull {source_name}` "
            f"(or `emlab data import PATH --name {source_name}` with a local copy)"
        )
    kind = "dataset" if type_ == "dataset" else "question file"
    raise EmlabError(f"{text}: no such file and no registered {kind} of that name (see `emlab data list`)")


def resolve_dataset(name_or_path: str | os.PathLike[str]) -> Path:
    """A dataset path from a path or a registered name (``betley2025:insecure``, an imported name...)."""
    return _resolve(name_or_path, "dataset")


def resolve_question_file(name_or_path: str | os.PathLike[str]) -> Path:
    """A question-file path from a path or a registered name (``betley2025:first_plot_questions``)."""
    return _resolve(name_or_path, "questions")
