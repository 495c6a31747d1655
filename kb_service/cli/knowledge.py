"""`frontdesk rebuild-index`, `import` and `export`: the knowledge base as files."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from kb_service import demo
from kb_service.cli.base import knowledge_base, main, settings_or_exit
from kb_service.knowledge import importing
from kb_service.knowledge.importing import neutralise_formula


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
    count = kb.rebuild(show_progress=sys.stderr.isatty())
    click.echo(f"rebuilt the index: {count} phrasings, {kb.count()} entries")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--replace-demo/--keep-demo",
    default=None,
    help="When the knowledge base holds only the demo salon: delete it first, or keep it (asked when not given).",
)
def import_(file: Path, replace_demo: bool | None) -> None:
    """Add entries from JSON Lines ({"answer", "questions"} per line), CSV (answer,question), or question-answer
    pairs (.tsv or .txt: the question, a tab or " | ", the answer, one pair a line).

    The whole file is checked before anything is written, and every wrong line is named. An entry already in the
    knowledge base (the same answer and phrasings) is skipped, and new phrasings of an answer already there are
    added to its entry, so importing a file twice changes nothing. Safe while the service runs: it picks the
    changes up by itself. The console's Import tab does the same, with a preview.

    The first import into a knowledge base that holds only the demo salon asks whether to replace the demo
    (--replace-demo or --keep-demo answer without asking; without a terminal to ask on, the demo is kept).

    \b
    Example:
        frontdesk import faq.jsonl --replace-demo
        frontdesk import faq.csv
        frontdesk import faq.txt
    """
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file.name}: not UTF-8 text ({exc.reason})") from exc
    kb = knowledge_base(settings_or_exit())
    fmt = importing.format_of(file.name)
    planned = importing.plan(kb, text, fmt, near_duplicates=False)
    if planned.problems:
        shown = "\n".join(problem.said(file.name) for problem in planned.problems[:20])
        more = len(planned.problems) - 20
        raise click.ClickException(shown + (f"\n… and {more} more" if more > 0 else ""))
    kb.load_index()  # else the index file saved below would hold this import's phrasings only
    removed = 0
    if demo.holds_only_demo(kb):
        if replace_demo is None and sys.stdin.isatty():
            replace_demo = click.confirm("The knowledge base holds only the demo salon. Replace it?", default=True)
        if replace_demo:
            removed = demo.remove(kb)
            planned = importing.plan(kb, text, fmt, near_duplicates=False)
        else:
            click.echo("kept the demo salon's entries (frontdesk import --replace-demo replaces them)", err=True)
    imported = importing.apply(kb, planned, show_progress=sys.stderr.isatty())
    kb.save_index()
    replaced = f"replaced the demo ({importing.count(removed, 'entry', 'entries')}); " if removed else ""
    click.echo(f"{replaced}{imported.summary()} from {file.name}")


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
    from kb_service.storage.backends import open_store

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
    click.echo(f"exported {importing.count(len(entries), 'entry', 'entries')} to {file}")
