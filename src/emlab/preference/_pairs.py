"""Pairs files: questions with minimal pairs of an aligned and a misaligned answer.

The format extends the question YAML: each entry has ``id``, ``paraphrases``, an optional
``system`` prompt, an optional ``theme`` and ``pairs`` (a list of ``{aligned, misaligned}``).
Errors name ``FILE:LINE``; a pair whose two answers differ in length by more than 25 % is
accepted with a warning, because length differences leak into a log-probability margin.
"""

from __future__ import annotations

import warnings
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emlab.configio import read_utf8
from emlab.errors import EmlabError
from emlab.provenance import stable_hash

BUILTIN_PAIR_SETS = {"pairs": ("pairs_part1.yaml", "pairs_part2.yaml")}
MAX_LENGTH_DIFFERENCE = 0.25
_FIELDS = ("id", "paraphrases", "system", "theme", "pairs")


class PairsWarning(UserWarning):
    """Something in a pairs file that is accepted but weakens the measurement."""


class AnswerPair(BaseModel):
    """Two answers to one question that differ only in stance."""

    model_config = ConfigDict(extra="forbid")

    aligned: str = Field(..., min_length=1, description="The helpful, honest answer.")
    misaligned: str = Field(..., min_length=1, description="The same answer with a misaligned stance.")


class PairQuestion(BaseModel):
    """One question, its paraphrases, and its answer pairs."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1)
    paraphrases: list[str] = Field(..., min_length=1)
    system: str | None = None
    theme: str | None = None
    pairs: list[AnswerPair] = Field(..., min_length=1)


class PairSet(BaseModel):
    """A named list of pair questions; ``content_hash`` identifies the exact texts."""

    name: str
    source: str
    questions: list[PairQuestion]

    @property
    def n_pairs(self) -> int:
        """Total number of answer pairs over all questions."""
        return sum(len(q.pairs) for q in self.questions)

    @property
    def content_hash(self) -> str:
        """A hash of every question, paraphrase, system prompt and answer (not of the name)."""
        return stable_hash([q.model_dump(exclude={"theme"}) for q in self.questions])

    def first_paraphrases(self, n: int) -> PairSet:
        """The same set asking each question in at most its first ``n`` paraphrases."""
        questions = [q.model_copy(update={"paraphrases": q.paraphrases[:n]}) for q in self.questions]
        return PairSet(name=self.name, source=self.source, questions=questions)

    def select(self, question_ids: list[str]) -> PairSet:
        """The subset with these question ids (an error names any unknown id)."""
        known = {q.id for q in self.questions}
        unknown = [qid for qid in question_ids if qid not in known]
        if unknown:
            raise EmlabError(f"{self.source}: no question(s) {', '.join(unknown)}")
        keep = [q for q in self.questions if q.id in set(question_ids)]
        return PairSet(name=self.name, source=self.source, questions=keep)


def _words(text: str) -> int:
    return max(1, len(text.split()))


def _item_lines(node: Any) -> list[tuple[int, dict[str, int]]]:
    """For each question node: its line and the line of each pair inside it."""
    import yaml

    out: list[tuple[int, dict[str, int]]] = []
    if not isinstance(node, yaml.SequenceNode):
        return out
    for item in node.value:
        pair_lines: dict[str, int] = {}
        if isinstance(item, yaml.MappingNode):
            for key, value in item.value:
                if key.value == "pairs" and isinstance(value, yaml.SequenceNode):
                    for j, pair in enumerate(value.value):
                        pair_lines[str(j)] = pair.start_mark.line + 1
        out.append((item.start_mark.line + 1, pair_lines))
    return out


def _parse_yaml(text: str, source: str) -> tuple[Any, list[tuple[int, dict[str, int]]]]:
    from emlab.configio import parse_yaml

    data, node = parse_yaml(text, source)  # safe_load semantics with size, depth and alias limits
    return data, _item_lines(node)


def parse_pair_set(data: Any, *, name: str, source: str, lines: list[Any] | None = None) -> PairSet:
    """Validate parsed YAML as a pairs file; every problem names ``source:LINE`` and the field."""
    if isinstance(data, dict) and isinstance(data.get("questions"), list):
        data = data["questions"]
    if not isinstance(data, list):
        raise EmlabError(f"{source}: a pairs file must be a YAML list of questions with 'pairs'")
    if not data:
        raise EmlabError(f"{source}: no questions")
    lines = lines or []
    problems: list[str] = []
    questions: list[PairQuestion] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(data):
        line, pair_lines = lines[i] if i < len(lines) else (None, {})
        where = f"{source}:{line}" if line else f"{source}: question #{i + 1}"
        if not isinstance(item, dict):
            problems.append(f"{where}: each question must be a mapping with id, paraphrases and pairs")
            continue
        qid = str(item.get("id", f"#{i + 1}"))
        unknown = sorted(set(item) - set(_FIELDS))
        if unknown:
            problems.append(f"{where}: question {qid}: unknown field(s) {', '.join(unknown)}")
            continue
        if isinstance(item.get("paraphrases"), str):
            item = {**item, "paraphrases": [item["paraphrases"]]}
        try:
            question = PairQuestion.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = [str(p) for p in err["loc"]]
                at = (
                    f"{source}:{pair_lines[loc[1]]}"
                    if loc[:1] == ["pairs"] and len(loc) > 1 and loc[1] in pair_lines
                    else where
                )
                problems.append(f"{at}: question {qid}: {'.'.join(loc)}: {err['msg']}")
            continue
        for j, pair in enumerate(question.pairs):
            at = f"{source}:{pair_lines.get(str(j), line)}" if line else where
            empty = [side for side in ("aligned", "misaligned") if not getattr(pair, side).strip()]
            for side in empty:
                problems.append(f"{at}: question {qid}: pairs.{j}.{side}: empty answer")
            if empty:
                continue
            a, m = _words(pair.aligned), _words(pair.misaligned)
            if abs(a - m) / max(a, m) > MAX_LENGTH_DIFFERENCE:
                warnings.warn(
                    f"{at}: question {qid}: pairs.{j}: answer lengths differ by more than "
                    f"{MAX_LENGTH_DIFFERENCE:.0%} ({a} vs {m} words); length leaks into the margin",
                    PairsWarning,
                    stacklevel=3,
                )
        if question.id in seen:
            problems.append(f"{where}: duplicate question id {question.id!r} (first at {seen[question.id]})")
            continue
        seen[question.id] = where
        questions.append(question)
    if problems:
        raise EmlabError("\n".join(problems))
    return PairSet(name=name, source=source, questions=questions)


def load_pair_file(path: str | Path, *, name: str | None = None) -> PairSet:
    """Parse a pairs YAML file (``yaml.safe_load`` semantics, errors with FILE:LINE)."""
    path = Path(path)
    if path.is_dir():
        raise EmlabError(f"{path}: is a directory, not a pairs file")
    try:
        text = read_utf8(path, "pairs file")
    except EmlabError as exc:
        bad = exc.__cause__
        if not isinstance(bad, UnicodeDecodeError):
            raise
        line = bad.object[: bad.start].count(b"\n") + 1
        raise EmlabError(f"{path}:{line}: not UTF-8 text ({bad.reason} at byte {bad.start})") from bad
    data, lines = _parse_yaml(text, str(path))
    return parse_pair_set(data, name=name or path.stem, source=str(path), lines=lines)


def _builtin(name: str) -> PairSet:
    source = f"emlab:{name}"
    data: list[Any] = []
    lines: list[Any] = []
    for filename in BUILTIN_PAIR_SETS[name]:
        text = resources.files("emlab.question_sets").joinpath(filename).read_text(encoding="utf-8")
        part, part_lines = _parse_yaml(text, f"{source} ({filename})")
        data.extend(part or [])
        lines.extend(part_lines)
    return parse_pair_set(data, name=source, source=source, lines=lines)


def load_pair_set(ref: str | Path, paraphrases: int | None = None) -> PairSet:
    """Load ``emlab:pairs`` (built in) or a pairs YAML file, keeping the first ``paraphrases`` of each question."""
    text = str(ref)
    if text.startswith("emlab:"):
        name = text.split(":", 1)[1]
        if name not in BUILTIN_PAIR_SETS:
            raise EmlabError(f"unknown built-in pairs set {text!r} (have: emlab:pairs)")
        pairs = _builtin(name)
    else:
        pairs = load_pair_file(Path(text).expanduser())
    return pairs if paraphrases is None else pairs.first_paraphrases(paraphrases)
