"""Importing question–answer pairs: read a file's text, check every line, plan against what the knowledge base
holds, then write. `frontdesk import` and the console's import (`POST /api/knowledge/import…`) both use it.

Three formats:
- `jsonl`: one `{"answer": ..., "questions": [...]}` per line;
- `csv`: the columns `answer` and `question`, one row per phrasing;
- `pairs`, as pasted: one pair a line, the question, then a tab (as a spreadsheet copies cells) or ` | `, then
  the answer.

Lines with the same answer make one entry. An entry already in the knowledge base (the same answer and
phrasings) is skipped, and new phrasings of an answer already there are added to its entry, so importing the same
text twice changes nothing."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Literal

from kb_service.errors import DomainError
from kb_service.knowledge.entries import KnowledgeBase
from models.schemas import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS

Format = Literal["jsonl", "csv", "pairs"]
Action = Literal["new", "add", "skip"]
MAX_QUESTIONS = 100  # per answer, as the API allows
# A question this close in meaning to a phrasing of another entry is probably asked already: the preview says so.
# Paraphrases of one entry score about 0.72-0.96 against it with the default model (supervisor_gradio/views.py).
NEAR_DUPLICATE = 0.85

# A spreadsheet runs a cell that starts with one of these as a formula. Such a cell is written with a `'` in
# front (which spreadsheets show as text and hide), and so is a text that already starts with `'`s followed by one
# of them; import takes exactly one `'` off any cell of that shape, so every text comes back as it was.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")


def neutralise_formula(text: str) -> str:
    return "'" + text if _FORMULA_START.match(text) else text


def restore_formula(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _FORMULA_START.match(cell, 1) else cell


class InvalidImport(DomainError):
    """Some lines are wrong: nothing was written."""

    status_code = 422


@dataclass(frozen=True)
class Problem:
    line: int | None  # None: the whole text (a CSV without its columns, say)
    message: str

    def said(self, name: str = "") -> str:
        where = ", ".join(p for p in (name, f"line {self.line}" if self.line else "") if p)
        return f"{where}: {self.message}" if where else self.message


@dataclass
class Line:
    """A line that reads well, and what importing it would do."""

    number: int
    answer: str
    questions: list[str]
    action: Action = "new"
    knowledge_id: int | None = None  # with `add` and `skip`: the entry that has this answer
    warnings: list[str] = field(default_factory=list)


@dataclass
class Plan:
    lines: list[Line]
    problems: list[Problem]
    new_entries: list[tuple[str, list[str]]] = field(default_factory=list)
    additions: list[tuple[int, list[str]]] = field(default_factory=list)  # new phrasings of existing entries
    skipped: int = 0  # answers wholly in the knowledge base already

    @property
    def phrasings_added(self) -> int:
        return sum(len(questions) for _, questions in self.additions)


@dataclass(frozen=True)
class Imported:
    knowledge_ids: list[int]
    phrasings_added: int
    skipped: int

    def summary(self) -> str:
        """`imported 2 entries, added 1 phrasing to existing entries, skipped 1 duplicate`."""
        said = [f"imported {count(len(self.knowledge_ids), 'entry', 'entries')}"]
        if self.phrasings_added:
            said.append(f"added {count(self.phrasings_added, 'phrasing')} to existing entries")
        if self.skipped:
            said.append(f"skipped {count(self.skipped, 'duplicate')}")
        return ", ".join(said)


def count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def format_of(filename: str) -> Format:
    """By the file's ending: `.csv`, `.tsv` / `.txt` (pairs), anything else JSON Lines."""
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    return "csv" if suffix == "csv" else "pairs" if suffix in ("tsv", "txt") else "jsonl"


# ---- reading


def read(text: str, fmt: Format) -> tuple[list[Line], list[Problem]]:
    """Every line checked as the API checks an entry, each problem in plain words with its line number."""
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "pairs": _read_pairs}[fmt]
    lines: list[Line] = []
    problems: list[Problem] = []
    for number, row in reader(text, problems):
        try:
            lines.append(_checked(number, *row))
        except ValueError as exc:
            problems.append(Problem(number, str(exc)))
    if not lines and not problems:
        problems.append(Problem(None, "there is nothing to import"))
    problems.sort(key=lambda p: p.line or 0)
    return lines, problems


def _read_jsonl(text: str, problems: list[Problem]):
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(Problem(number, f"not JSON ({exc.msg})"))
            continue
        if not isinstance(row, dict):
            problems.append(Problem(number, 'expected {"answer": ..., "questions": [...]}'))
            continue
        unknown = sorted(set(row) - {"answer", "questions"})
        if unknown:
            problems.append(Problem(number, f"unknown field {unknown[0]!r} (only answer and questions)"))
            continue
        questions = row.get("questions")
        if isinstance(questions, str):
            problems.append(Problem(number, '"questions" must be a list of strings, e.g. ["How much is it?"]'))
            continue
        if not isinstance(questions, list) or not questions:
            problems.append(Problem(number, "no questions (give a list with at least one)"))
            continue
        yield number, (row.get("answer"), questions)


def _read_csv(text: str, problems: list[Problem]):
    """A cell starting with `'` and then `=`, `+`, `-`, `@`, tab or carriage return (after any further `'`s) loses
    that first `'`: it is how `export` keeps spreadsheets from running a text as a formula."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or not {"answer", "question"} <= set(reader.fieldnames):
        problems.append(Problem(None, "a CSV needs the columns 'answer' and 'question'"))
        return
    try:
        for row in reader:
            if row.get(None):  # more cells than columns: an unquoted comma cut a text short
                cells = len(reader.fieldnames) + len(row[None])
                problems.append(
                    Problem(
                        reader.line_num,
                        f"{cells} cells where the header has {len(reader.fieldnames)}:"
                        " a comma inside a question or answer cuts it there; put that text in double"
                        ' quotes ("…, …")',
                    )
                )
                continue
            answer, question = restore_formula(row["answer"] or ""), restore_formula(row["question"] or "")
            yield reader.line_num, (answer, [question])
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, f"not CSV ({exc})"))


def _read_pairs(text: str, problems: list[Problem]):
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        separator = "\t" if "\t" in raw else " | "
        if separator not in raw:
            problems.append(Problem(number, "no answer: put a tab or ' | ' between the question and its answer"))
            continue
        question, answer = raw.split(separator, 1)
        yield number, (answer, [question])


def _checked(number: int, answer: object, questions: list) -> Line:
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError("the answer is empty")
    if len(answer.strip()) > MAX_ANSWER_CHARS:
        raise ValueError(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    if len(questions) > MAX_QUESTIONS:
        raise ValueError(f"more than {MAX_QUESTIONS} questions for one answer")
    for position, question in enumerate(questions, start=1):
        which = "the question" if len(questions) == 1 else f"question {position}"
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{which} is empty")
        if len(question.strip()) > MAX_QUESTION_CHARS:
            raise ValueError(f"{which} is longer than {MAX_QUESTION_CHARS} characters")
    return Line(number, answer.strip(), list(dict.fromkeys(q.strip() for q in questions)))


# ---- planning and writing


def plan(kb: KnowledgeBase, text: str, fmt: Format, near_duplicates: bool = True) -> Plan:
    """What importing `text` would do, line by line, without writing anything. With `near_duplicates`, each new
    question is also searched by meaning, and one close to another entry's phrasing gets a warning."""
    lines, problems = read(text, fmt)
    result = Plan(lines, problems)
    existing: dict[str, tuple[int, set[str]]] = {}
    rows = kb.store.query(
        "SELECT e.id, e.answer, p.question FROM knowledge_entries e"
        " LEFT JOIN phrasings p ON p.knowledge_id = e.id ORDER BY e.id"
    )
    for row in rows:  # an answer already in more than one entry (an older double import) counts as its first
        existing.setdefault(row["answer"], (row["id"], set()))[1].add(row["question"])
    grouped: dict[str, list[str]] = {}
    for line in lines:
        known = grouped.setdefault(line.answer, [])
        known.extend(q for q in line.questions if q not in known)
        if line.answer in existing:
            line.knowledge_id, there = existing[line.answer]
            line.action = "skip" if set(line.questions) <= there else "add"
    for answer, questions in grouped.items():
        if answer not in existing:
            result.new_entries.append((answer, questions))
            continue
        knowledge_id, taught = existing[answer]
        fresh = [q for q in questions if q not in taught]
        if fresh:
            result.additions.append((knowledge_id, fresh))
        else:
            result.skipped += 1
    if near_duplicates:
        _warn_near_duplicates(kb, [line for line in lines if line.action != "skip"])
    return result


def _warn_near_duplicates(kb: KnowledgeBase, lines: list[Line]) -> None:
    asked = [(line, q) for line in lines for q in line.questions]
    if not asked or not len(kb.index):
        return
    ranked = kb.mirror.nearest_entries(kb.embedder.embed([q for _, q in asked]), min(5, len(kb.index)))
    for (line, question), nearest in zip(asked, ranked, strict=True):
        for neighbour in nearest:
            if neighbour.cosine < NEAR_DUPLICATE:
                break
            if neighbour.knowledge_id == line.knowledge_id:
                continue  # the same answer: a new phrasing of it, as intended
            line.warnings.append(
                f"“{question}” is close in meaning ({neighbour.cosine:.2f}) to entry #{neighbour.knowledge_id}, "
                "which has another answer: is it the same question?"
            )
            break


def apply(kb: KnowledgeBase, planned: Plan, show_progress: bool = False) -> Imported:
    """Write the plan: new entries in one batch, new phrasings of existing entries in one transaction."""
    if planned.problems:
        raise InvalidImport("; ".join(p.said() for p in planned.problems[:20]))
    ids = kb.import_entries(planned.new_entries, show_progress=show_progress) if planned.new_entries else []
    if planned.additions:
        vectors = kb.embedder.embed([q for _, fresh in planned.additions for q in fresh])
        start = 0
        with kb.store.write() as tx:
            for knowledge_id, fresh in planned.additions:
                kb.writes.insert_phrasings(tx, knowledge_id, fresh, vectors[start : start + len(fresh)])
                start += len(fresh)
    return Imported(ids, planned.phrasings_added, planned.skipped)
