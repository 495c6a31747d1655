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

    Example:

        frontdesk rebuild-index
    """
    kb = knowledge_base(settings_or_exit())
    count = kb.rebuild(show_progress=True)
    click.echo(f"rebuilt the index: {count} phrasings, {kb.count()} entries")


def _read_entries(path: Path) -> list[tuple[str, list[str]]]:
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path}:{number}: not JSON ({exc.msg})") from exc
        entries.append(_entry(row, f"{path}:{number}"))
    return entries


def _read_csv(path: Path) -> list[tuple[str, list[str]]]:
    """CSV: columns `answer` and `question`, one row per phrasing; rows with the same answer are one entry.

    A cell starting with `'` and then `=`, `+`, `-`, `@`, tab or carriage return (after any further `'`s) loses
    that first `'`: it is how `export` keeps spreadsheets from running a text as a formula."""
    grouped: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"answer", "question"} <= set(reader.fieldnames):
            raise click.ClickException(f"{path}: a CSV needs the columns 'answer' and 'question'")
        for number, row in enumerate(reader, start=2):
            answer, question = restore_formula(row["answer"] or ""), restore_formula(row["question"] or "")
            _entry({"answer": answer, "questions": [question]}, f"{path}:{number}")
            grouped.setdefault(answer.strip(), []).append(question.strip())
    return list(grouped.items())


def _entry(row: object, where: str) -> tuple[str, list[str]]:
    from pydantic import ValidationError

    from models import KnowledgeCreate

    try:
        entry = KnowledgeCreate.model_validate(row)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(f"{where}: {problems}") from exc
    return entry.answer, entry.questions


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(file: Path) -> None:
    """Add entries from JSON Lines ({"answer", "questions"} per line) or CSV (answer,question).

    The whole file is checked before anything is written.

    Example:

        frontdesk import faq.jsonl
    """
    entries = _read_entries(file)
    kb = knowledge_base(settings_or_exit())
    ids = kb.import_entries(entries, show_progress=True)
    kb.save_index()
    click.echo(f"imported {len(ids)} entries ({sum(len(q) for _, q in entries)} phrasings) from {file}")


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export(file: Path) -> None:
    """Write every entry to JSON Lines, or to CSV when FILE ends in .csv.

    In a CSV, a text that a spreadsheet would run as a formula (it starts with =, +, -, @, tab or carriage
    return) is written with a `'` in front; `import` takes it off again.

    Example:

        frontdesk export backup.jsonl
    """
    from kb_service.storage.store import Store

    store = Store(settings_or_exit().db_path)
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
    click.echo(f"exported {len(entries)} entries to {file}")
