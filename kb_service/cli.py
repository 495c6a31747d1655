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
    uvicorn.run(logs.AccessLog(create_app(settings)), host=host, port=port, log_level="info", log_config=None)


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
@click.option("--quality", is_flag=True, help="Answer quality from the ask log, with missed auto-answers.")
def stats(as_json: bool, quality: bool) -> None:
    """Counts by status, the auto-answer rate, and the index size against the database.

    Example:

        frontdesk stats --json
        frontdesk stats --quality
    """
    if quality:
        _quality_stats(as_json)
        return
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
    from kb_service import calibration

    calibrated = calibration.load(store)
    result = stats_module.collect(kb, calibrated.threshold if calibrated else settings.match_threshold)
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
    click.echo(f"match threshold: {result.match_threshold}"
               + (f" (calibrated {calibrated.calibrated_at[:16]}, target precision {calibrated.target_precision},"
                  f" estimated coverage {calibrated.estimated_coverage:.0%})" if calibrated else ""))


def _quality_stats(as_json: bool) -> None:
    from dataclasses import asdict

    from kb_service import quality
    from kb_service.store import Store

    result = quality.collect(Store(_settings().db_path))
    if as_json:
        click.echo(json.dumps(asdict(result), indent=2))
        return

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    click.echo(f"asks: {result.asks}")
    click.echo(f"auto-answer rate: {pct(result.auto_answer_rate)} ({result.auto_answered})")
    click.echo(f"escalation rate: {pct(result.escalation_rate)} ({result.escalated})")
    click.echo(f"missed auto-answers: {result.missed_auto_answers} of {result.resolved_escalations} resolved"
               f" escalations ({pct(result.missed_rate)}) were answered with an entry that already existed"
               + (f"; their median score was {result.missed_median_score}" if result.missed_median_score else ""))


@main.command("eval")
@click.option("--clinc150", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CLINC150 data_full.json.")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1), help="CLINC150 phrasings per entry.")
@click.option("--split", default="val", show_default=True, type=click.Choice(["val", "test"]))
@click.option("--intents", type=click.IntRange(2), help="Only the first N CLINC150 intents (a quick slice).")
@click.option("--knowledge", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSON Lines of {"answer", "questions"}.')
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSON Lines of {"question", "expected_answer"}; null means it must escalate.')
@click.option("--threshold", type=float, help="Operating point to report (default: the current settings).")
@click.option("--naive", is_flag=True, help="Measure the old baseline: nearest phrasing only, no guard.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Write the precision-coverage curve.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def eval_(clinc150, k, split, intents, knowledge, queries, threshold, naive, plot, as_json) -> None:
    """Measure precision, coverage and false-answer rate across thresholds, through the live matcher.

    Example:

        frontdesk eval --clinc150 ../shared/eval/clinc150/data_full.json --k 5 --split val --plot curve.png
        frontdesk eval --knowledge faq.jsonl --queries asked.jsonl --json
    """
    from kb_service import calibration, evaluation
    from kb_service.embedder import make_embedder

    settings = _settings()
    if clinc150 and not (knowledge or queries):
        label = f"CLINC150 k={k} {split}"
    elif knowledge and queries and not clinc150:
        label = f"{knowledge.name} / {queries.name}"
    else:
        raise click.UsageError("give either --clinc150 PATH, or both --knowledge FILE and --queries FILE")
    try:
        data = (evaluation.load_clinc150(clinc150, k, split) if clinc150
                else evaluation.load_jsonl(knowledge, queries))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    except (KeyError, TypeError) as exc:
        raise click.ClickException(f"{clinc150}: not in the CLINC150 format ({exc})") from exc
    if intents:
        data = evaluation.restrict(data, intents)
    if not data.knowledge or not data.queries:
        raise click.ClickException("nothing to evaluate: the knowledge or the queries are empty")
    if threshold is None:
        stored = calibration.load(_store_if_exists(settings))
        threshold = stored.threshold if stored and not naive else settings.match_threshold
    embedder = make_embedder(settings)
    with click.progressbar(length=len(data.queries), label="asking", file=sys.stderr) as bar:
        outcomes = evaluation.ask_all(embedder, data, naive=naive, progress=bar.update)
    points = evaluation.sweep(outcomes, evaluation.threshold_grid())
    current = evaluation.point(outcomes, threshold)
    chosen = evaluation.lowest_threshold_for(points, settings.target_precision)
    if plot:
        evaluation.plot({label + (" naive" if naive else ""): points}, plot, settings.target_precision)
    if as_json:
        meta = {"data": label, "policy": "naive" if naive else "live", "queries": len(data.queries),
                "entries": len(data.knowledge), "target_precision": settings.target_precision}
        click.echo(json.dumps(evaluation.report(points, current, chosen, meta), indent=2))
        return
    click.echo(f"{label}: {len(data.knowledge)} entries, {len(data.queries)} queries"
               f" ({'naive baseline' if naive else 'live matcher'})")
    click.echo(f"{'threshold':>9}  {'precision':>9}  {'coverage':>8}  {'false-answer':>12}  {'answered':>8}")
    shown = [p for p in points if round(p.threshold * 1000) % 50 == 0 and p.answered and p is not chosen]
    for p in shown + [current] + ([chosen] if chosen else []):
        note = "  <- current settings" if p is current else "  <- lowest with target precision" if p is chosen else ""
        click.echo(f"{p.threshold:>9.3f}  {p.precision:>9.3f}  {p.coverage:>8.3f}  {p.false_answer_rate:>12.3f}"
                   f"  {p.answered:>8}{note}")


def _store_if_exists(settings: Settings):
    from kb_service.store import Store

    class _Empty:
        def scalar(self, *args):
            return None

    return Store(settings.db_path) if settings.db_path.exists() else _Empty()


@main.command()
@click.option("--target", type=click.FloatRange(0.5, 1.0), help="Precision to aim for (default KB_TARGET_PRECISION).")
@click.option("--apply", "apply_", is_flag=True, help="Store the result: the service uses it from its next start.")
@click.option("--clinc150", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Calibrate a throwaway knowledge base of CLINC150 train phrasings instead (to validate).")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1), help="CLINC150 phrasings per entry.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def calibrate(target, apply_, clinc150, k, as_json) -> None:
    """Pick the answering threshold from the knowledge base's own phrasings, for a target precision.

    Each phrasing is asked with itself left out (it should find its entry) and with its whole entry left out
    (it should escalate); the lowest threshold that keeps the precision at the target wins.

    Example:

        frontdesk calibrate --apply
    """
    from dataclasses import asdict

    from kb_service import calibration, evaluation
    from kb_service.embedder import make_embedder
    from kb_service.matcher import Matcher

    settings = _settings()
    target = target or settings.target_precision
    try:
        if clinc150:
            if apply_:
                raise click.UsageError("--apply stores a calibration of the service's own knowledge base only")
            try:
                entries = evaluation.load_clinc150(clinc150, k, "val").knowledge
            except (KeyError, TypeError, ValueError) as exc:
                raise click.ClickException(f"{clinc150}: not in the CLINC150 format ({exc})") from exc
            result = calibration.calibrate_entries(make_embedder(settings), entries, target)
        else:
            kb = _knowledge_base(settings)
            kb.load_index()
            result = calibration.calibrate(Matcher(kb, settings.match_threshold), target)
            if apply_:
                calibration.save(kb.store, result)
    except calibration.NotEnoughData as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(asdict(result), indent=2))
        return
    click.echo(f"threshold {result.threshold} for target precision {result.target_precision}"
               f" (estimated precision {result.estimated_precision:.3f}, coverage {result.estimated_coverage:.1%},"
               f" false-answer rate {result.estimated_false_answer_rate:.1%};"
               f" {result.positives} known and {result.unknowns} unknown questions)")
    if apply_:
        click.echo("applied: stored in the database; the service uses it from its next start")


def run() -> None:
    try:
        main(standalone_mode=True)
    except DomainError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
