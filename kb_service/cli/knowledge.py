"""`frontdesk rebuild-index`, `import` and `export`: the knowledge base as files."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import click

from kb_service.cli import knowledge_base, main, settings_or_exit

# A spreadsheet runs a cell that starts with one of these as a formula. Such a cell is written with a `'` in
# front (which spreadsheets show as text and hide), and so is a text that already starts with `'`s followed by one
# of them; import takes exactly one `'` off any cell of that shape, so every text comes back as it was.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")


def neutralise_formula(text: str) -> str:
    return "'" + text if _FORMULA_START.match(text) else text


def restore_formula(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _FORMULA_START.match(cell, 1) else cell


@main.command("rebuild-index")
def rebuild_index() -> None:
    """Re-embed every phrasing and rewrite the index file from the database.

    Stop the service first: a running service keeps its own index in memory and does not load the rebuilt file
    until it restarts.

    \b
    Example:
        frontdesk rebuild-index
    """
    kb = knowledge_base(settings_or_exit())
    count = kb.rebuild(show_progress=True)
    click.echo(f"rebuilt the index: {count} phrasings, {kb.count()} entries")


def _count(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _read_entries(path: Path) -> list[tuple[str, list[str]]]:
    """The file's entries, one per answer (lines with the same answer are merged, repeated questions dropped)."""
    rows = _read_csv(path) if path.suffix.lower() == ".csv" else _read_jsonl(path)
    grouped: dict[str, list[str]] = {}
    for answer, questions in rows:
        known = grouped.setdefault(answer, [])
        known.extend(q for q in questions if q not in known)
    return list(grouped.items())


def _read_jsonl(path: Path) -> list[tuple[str, list[str]]]:
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise click.ClickException(f'{where}: expected {{"answer": ..., "questions": [...]}}')
        unknown = sorted(set(row) - {"answer", "questions"})
        if unknown:
            raise click.ClickException(f"{where}: unknown field {unknown[0]!r} (only answer and questions)")
        questions = row.get("questions")
        if not isinstance(questions, list) or not questions:
            raise click.ClickException(f"{where}: no questions (give a list with at least one)")
        entries.append(_entry(row.get("answer"), questions, where))
    return entries


def _read_csv(path: Path) -> list[tuple[str, list[str]]]:
    """CSV: columns `answer` and `question`, one row per phrasing; rows with the same answer are one entry.

    A cell starting with `'` and then `=`, `+`, `-`, `@`, tab or carriage return (after any further `'`s) loses
    that first `'`: it is how `export` keeps spreadsheets from running a text as a formula."""
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"answer", "question"} <= set(reader.fieldnames):
            raise click.ClickException(f"{path.name}: a CSV needs the columns 'answer' and 'question'")
        for number, row in enumerate(reader, start=2):
            answer, question = restore_formula(row["answer"] or ""), restore_formula(row["question"] or "")
            rows.append(_entry(answer, [question], f"{path.name}, line {number}"))
    return rows


def _entry(answer: object, questions: list, where: str) -> tuple[str, list[str]]:
    """Checked as the API checks it, with a plain message for each way a line can be wrong."""
    from models.schemas import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS

    if not isinstance(answer, str) or not answer.strip():
        raise click.ClickException(f"{where}: the answer is empty")
    if len(answer.strip()) > MAX_ANSWER_CHARS:
        raise click.ClickException(f"{where}: the answer is longer than {MAX_ANSWER_CHARS} characters")
    if len(questions) > 100:
        raise click.ClickException(f"{where}: more than 100 questions for one answer")
    for number, question in enumerate(questions, start=1):
        which = "the question" if len(questions) == 1 else f"question {number}"
        if not isinstance(question, str) or not question.strip():
            raise click.ClickException(f"{where}: {which} is empty")
        if len(question.strip()) > MAX_QUESTION_CHARS:
            raise click.ClickException(f"{where}: {which} is longer than {MAX_QUESTION_CHARS} characters")
    return answer.strip(), [q.strip() for q in questions]


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(file: Path) -> None:
    """Add entries from JSON Lines ({"answer", "questions"} per line) or CSV (answer,question).

    The whole file is checked before anything is written. An entry already in the knowledge base (the same
    answer and phrasings) is skipped, and new phrasings of an answer already there are added to its entry, so
    importing a file twice changes nothing. Safe while the service runs: it picks the changes up by itself.

    \b
    Example:
        frontdesk import faq.jsonl
        frontdesk import faq.csv
    """
    entries = _read_entries(file)
    kb = knowledge_base(settings_or_exit())
    kb.load_index()  # else the index file saved below would hold this import's phrasings only
    existing: dict[str, tuple[int, set[str]]] = {}
    rows = kb.store.query(
        "SELECT e.id, e.answer, p.question FROM knowledge_entries e"
        " LEFT JOIN phrasings p ON p.knowledge_id = e.id ORDER BY e.id"
    )
    for row in rows:  # an answer already in more than one entry (an older double import) counts as its first
        existing.setdefault(row["answer"], (row["id"], set()))[1].add(row["question"])
    new_entries, additions, skipped = [], [], 0
    for answer, questions in entries:
        if answer not in existing:
            new_entries.append((answer, questions))
            continue
        knowledge_id, known = existing[answer]
        fresh = [q for q in questions if q not in known]
        if fresh:
            additions.append((knowledge_id, fresh))
        else:
            skipped += 1
    ids = kb.import_entries(new_entries, show_progress=True) if new_entries else []
    added = sum(len(fresh) for _, fresh in additions)
    if additions:
        vectors = kb.embedder.embed([q for _, fresh in additions for q in fresh])
        start, inserted = 0, []
        with kb.store.write() as tx:
            for knowledge_id, fresh in additions:
                chunk = vectors[start : start + len(fresh)]
                inserted.append((knowledge_id, kb.insert_phrasings(tx, knowledge_id, fresh, chunk)))
                start += len(fresh)
        for knowledge_id, new in inserted:
            kb.apply(new, knowledge_id)
    kb.save_index()
    said = [f"imported {_count(len(ids), 'entry', 'entries')}"]
    if added:
        said.append(f"added {_count(added, 'phrasing')} to existing entries")
    if skipped:
        said.append(f"skipped {_count(skipped, 'duplicate')}")
    click.echo(f"{', '.join(said)} from {file.name}")


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export(file: Path) -> None:
    """Write every entry to JSON Lines, or to CSV when FILE ends in .csv.

    In a CSV, a text that a spreadsheet would run as a formula (it starts with =, +, -, @, tab or carriage
    return) is written with a `'` in front; `import` takes it off again. Safe while the service runs.

    \b
    Example:
        frontdesk export backup.jsonl
        frontdesk export backup.csv
    """
    from kb_service.storage.store import open_store

    store = open_store(settings_or_exit())
    rows = store.query(
        "SELECT e.id, e.answer, p.question FROM knowledge_entries e"
        " JOIN phrasings p ON p.knowledge_id = e.id ORDER BY e.id, p.id"
    )
    entries: dict[int, dict] = {}
    for row in rows:
        entries.setdefault(row["id"], {"answer": row["answer"], "questions": []})["questions"].append(row["question"])
    if file.suffix.lower() == ".csv":
        with file.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["answer", "question"])
            for entry in entries.values():
                for question in entry["questions"]:
                    writer.writerow([neutralise_formula(entry["answer"]), neutralise_formula(question)])
    else:
        with file.open("w", encoding="utf-8") as f:
            for entry in entries.values():
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    click.echo(f"exported {_count(len(entries), 'entry', 'entries')} to {file}")
