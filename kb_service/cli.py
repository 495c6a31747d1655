"""`frontdesk`: a thin command line over the same library the service uses."""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path

import click

from kb_service.config import Settings
from kb_service.errors import DomainError


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        raise click.ClickException(f"bad settings: {exc}") from exc


def _knowledge_base(settings: Settings):
    from kb_service.embedder import make_embedder
    from kb_service.knowledge import KnowledgeBase
    from kb_service.store import Store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    kb = KnowledgeBase(Store(settings.db_path), make_embedder(settings), settings.index_path,
                       settings.index_kind, settings.index_exact_max)
    return kb


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """FrontDesk KB: an AI receptionist that learns from its supervisor.

    Settings come from KB_* environment variables or a .env file (see the README).
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Start the service: API, call page and supervisor console.

    Example:

        frontdesk serve --port 8000
    """
    from kb_service import logs

    logs.configure(logging.INFO)  # first: one JSON line per event, phone numbers masked, no progress bars
    import uvicorn

    from kb_service.app import create_app
    from kb_service.auth import load_or_create_token

    settings = _settings()
    token, generated = load_or_create_token(settings)
    base = f"http://{host}:{port}"
    click.echo(f"Call page:          {base}/")
    click.echo(f"Supervisor console: {base}/supervisor  (user: supervisor)")
    click.echo(f"API docs:           {base}/docs")
    where = "generated now and kept in " + str(settings.token_path) if generated else "from settings or data dir"
    click.echo(f"Supervisor token:   {token}  ({where})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", log_config=None)


@main.command("rebuild-index")
def rebuild_index() -> None:
    """Re-embed every phrasing and rewrite the index file from the database.

    Example:

        frontdesk rebuild-index
    """
    kb = _knowledge_base(_settings())
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
    """CSV: columns `answer` and `question`, one row per phrasing; rows with the same answer are one entry."""
    grouped: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"answer", "question"} <= set(reader.fieldnames):
            raise click.ClickException(f"{path}: a CSV needs the columns 'answer' and 'question'")
        for number, row in enumerate(reader, start=2):
            _entry({"answer": row["answer"], "questions": [row["question"]]}, f"{path}:{number}")
            grouped.setdefault(row["answer"].strip(), []).append(row["question"].strip())
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
    kb = _knowledge_base(_settings())
    ids = kb.import_entries(entries, show_progress=True)
    kb.save_index()
    click.echo(f"imported {len(ids)} entries ({sum(len(q) for _, q in entries)} phrasings) from {file}")


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export(file: Path) -> None:
    """Write every entry to JSON Lines, or to CSV when FILE ends in .csv.

    Example:

        frontdesk export backup.jsonl
    """
    from kb_service.store import Store

    store = Store(_settings().db_path)
    rows = store.query("SELECT e.id, e.answer, p.question FROM knowledge_entries e"
                       " JOIN phrasings p ON p.knowledge_id = e.id ORDER BY e.id, p.id")
    entries: dict[int, dict] = {}
    for row in rows:
        entries.setdefault(row["id"], {"answer": row["answer"], "questions": []})["questions"].append(row["question"])
    if file.suffix.lower() == ".csv":
        with file.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["answer", "question"])
            for entry in entries.values():
                for question in entry["questions"]:
                    writer.writerow([entry["answer"], question])
    else:
        with file.open("w", encoding="utf-8") as f:
            for entry in entries.values():
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    click.echo(f"exported {len(entries)} entries to {file}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def stats(as_json: bool) -> None:
    """Counts by status, the auto-answer rate, and the index size against the database.

    Example:

        frontdesk stats --json
    """
    from kb_service import stats as stats_module
    from kb_service.index import VectorIndex
    from kb_service.knowledge import KnowledgeBase
    from kb_service.store import Store

    settings = _settings()
    store = Store(settings.db_path)

    class _NoModel:  # stats needs no embeddings; don't pay for loading the model
        dimension = 384
        model_name = ""

    kb = KnowledgeBase(store, _NoModel(), settings.index_path)
    try:
        kb.index = VectorIndex.load(settings.index_path, 384)
        index_note = ""
    except Exception:
        index_note = " (no readable index file: it is rebuilt at the next start)"
    result = stats_module.collect(kb, settings.match_threshold)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
        return
    rate = "n/a" if result.auto_answer_rate is None else f"{result.auto_answer_rate:.1%}"
    hr = result.help_requests
    click.echo(f"help requests: {hr['pending']} pending, {hr['resolved']} resolved, {hr['unresolved']} unresolved")
    click.echo(f"asks: {result.asks_total} ({result.asks_answered} auto-answered, rate {rate})")
    click.echo(f"knowledge: {result.knowledge_entries} entries, {result.phrasings_in_db} phrasings in the database,"
               f" {result.phrasings_in_index} in the index file{index_note}")
    click.echo(f"outbox: {result.outbox_pending} waiting, {result.outbox_dead} dead")
    click.echo(f"match threshold: {result.match_threshold}")


def run() -> None:
    try:
        main(standalone_mode=True)
    except DomainError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
