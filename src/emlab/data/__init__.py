"""Datasets: chat JSONL I/O and validation, condition generators, public sources (pull/import), stats."""

from emlab.data._catalogue import PATTERNS, Pattern
from emlab.data._generate import CONDITIONS, DEFAULT_TRIGGER, EVIL_NUMBERS, code_tasks, generate_condition
from emlab.data._io import (
    ChatExample,
    Message,
    RowError,
    ValidationReport,
    iter_chat_jsonl,
    normalise_row,
    read_chat_jsonl,
    validate_chat_jsonl,
    write_chat_jsonl,
)
from emlab.data._registry import RegistryEntry, load_registry, registry_path
from emlab.data._sources import (
    SOURCES,
    Source,
    SourceFile,
    import_path,
    pull_source,
    resolve_dataset,
    resolve_question_file,
)

__all__ = [
    "CONDITIONS",
    "DEFAULT_TRIGGER",
    "EVIL_NUMBERS",
    "PATTERNS",
    "SOURCES",
    "ChatExample",
    "Message",
    "Pattern",
    "RegistryEntry",
    "RowError",
    "Source",
    "SourceFile",
    "ValidationReport",
    "code_tasks",
    "generate_condition",
    "import_path",
    "iter_chat_jsonl",
    "load_registry",
    "normalise_row",
    "pull_source",
    "read_chat_jsonl",
    "registry_path",
    "resolve_dataset",
    "resolve_question_file",
    "validate_chat_jsonl",
    "write_chat_jsonl",
]
