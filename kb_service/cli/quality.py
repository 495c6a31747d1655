"""`frontdesk stats`, `eval` and `calibrate`: how well the agent answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from kb_service.cli.base import knowledge_base, main, settings_or_exit
from kb_service.config import Settings


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--quality", is_flag=True, help="Answer quality: outcomes, missed auto-answers, live precision.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --quality: draw live precision against threshold (PNG).",
)
def stats(as_json: bool, quality: bool, plot: Path | None) -> None:
    """Counts by status, the auto-answer rate, and the index size against the database.

    Only reads: safe while the service runs.

    \b
    Example:
        frontdesk stats
        frontdesk stats --json
        frontdesk stats --quality
    """
    if quality:
        _quality_stats(as_json, plot)
        return
    from kb_service.knowledge.entries import KnowledgeBase
    from kb_service.knowledge.index import VectorIndex
    from kb_service.ops import stats as stats_module
    from kb_service.storage.backends import open_store

    settings = settings_or_exit()
    store = open_store(settings)

    class _NoModel:  # stats needs no embeddings; don't pay for loading the model
        dimension = 384
        model_name = ""

        def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
            raise RuntimeError("frontdesk stats embeds nothing")

    kb = KnowledgeBase(store, _NoModel(), settings.index_path)
    try:
        kb.mirror.index = VectorIndex.load(settings.index_path, 384)
        index_note = ""
    except Exception:
        index_note = " (no readable index file: it is rebuilt at the next start)"
    from kb_service.matching import calibration, live

    calibrated = calibration.load(store)
    threshold, _ = live.thresholds(store, settings.match_threshold, settings.target_precision)
    result = stats_module.collect(kb, threshold)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
        return
    rate = "n/a" if result.auto_answer_rate is None else f"{result.auto_answer_rate:.1%}"
    hr = result.help_requests
    click.echo(f"help requests: {hr['pending']} pending, {hr['resolved']} resolved, {hr['unresolved']} unresolved")
    click.echo(f"questions: {result.asks_total} ({result.asks_answered} auto-answered, rate {rate})")
    click.echo(f"conversational turns: {result.conversational_turns} (greetings, thanks, goodbyes…)")
    click.echo(f"hand-offs to staff: {result.handoffs}")
    click.echo(
        f"knowledge: {result.knowledge_entries} entries, {result.phrasings_in_db} phrasings in the database,"
        f" {result.phrasings_in_index} in the index file{index_note}"
    )
    click.echo(f"outbox: {result.outbox_pending} waiting, {result.outbox_dead} dead")
    from kb_service.desk import retention

    click.echo(retention.retention_summary(store, settings.retention_days))
    click.echo(f"match threshold: {result.match_threshold}")
    if calibrated:
        click.echo(f"calibration ({calibrated.calibrated_at[:16]}): {calibrated.describe()}")


def _quality_stats(as_json: bool, plot: Path | None) -> None:
    from dataclasses import asdict

    from kb_service.matching import live
    from kb_service.ops import quality
    from kb_service.storage.backends import open_store

    settings = settings_or_exit()
    store = open_store(settings)
    threshold, confirm = live.thresholds(store, settings.match_threshold, settings.target_precision)
    result = quality.collect(store, live.estimate(store, threshold, confirm, settings.target_precision))
    if plot:
        drawn = quality.plot_live_precision(store, plot, threshold, settings.target_precision)
        click.echo(f"wrote {plot}: live precision against threshold from {drawn} verdicts", err=as_json)
    if as_json:
        click.echo(json.dumps(asdict(result), indent=2))
        return

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    click.echo(f"asks: {result.asks}")
    click.echo(f"auto-answer rate: {pct(result.auto_answer_rate)} ({result.auto_answered})")
    click.echo(f"escalation rate: {pct(result.escalation_rate)} ({result.escalated})")
    click.echo(
        f"missed auto-answers: {result.missed_auto_answers} of {result.resolved_escalations} resolved"
        f" escalations ({pct(result.missed_rate)}) were answered with an entry that already existed"
        + (f"; their median score was {result.missed_median_score}" if result.missed_median_score else "")
    )
    click.echo(f"confirmations waiting for the caller: {result.confirmations}")
    estimate = result.live
    click.echo(
        f"answering threshold: {estimate['threshold']} (callers are asked to confirm from"
        f" {estimate['confirm_threshold']}); target precision {estimate['target_precision']}"
    )
    if estimate["precision"] is None:
        click.echo("live precision: no verdicts yet (callers' confirmations, resolves and audits give them)")
    else:
        click.echo(
            f"live precision: {estimate['precision']:.1%} (95% interval {estimate['lower']:.1%}"
            f"–{estimate['upper']:.1%}) from {estimate['labels']} verdicts at or above the threshold"
        )
    for band in estimate["bands"]:
        click.echo(f"  confidence {band['low']:.2f}–{band['high']:.2f}: {band['right']} of {band['labels']} right")
    click.echo(f"audits waiting for the supervisor: {estimate['audits_waiting']}")


@main.command("eval")
@click.option(
    "--clinc150", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A CLINC150 data_full.json."
)
@click.option("--k", default=5, show_default=True, type=click.IntRange(1), help="CLINC150 phrasings per entry.")
@click.option("--split", default="val", show_default=True, type=click.Choice(["val", "test"]))
@click.option("--intents", type=click.IntRange(2), help="Only the first N CLINC150 intents (a quick slice).")
@click.option(
    "--knowledge",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSON Lines of {"answer", "questions"}.',
)
@click.option(
    "--queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSON Lines of {"question", "expected_answer"}; null means it must escalate.',
)
@click.option("--threshold", type=float, help="Operating point to report (default: the current settings).")
@click.option("--naive", is_flag=True, help="Measure the old baseline: nearest phrasing only, no guard.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Write the precision-coverage curve.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def eval_(clinc150, k, split, intents, knowledge, queries, threshold, naive, plot, as_json) -> None:
    """Measure precision, coverage and false-answer rate across thresholds, through the live matcher.

    Builds its own knowledge base from the files given, in a temporary folder, and only reads the service's
    stored threshold: safe while the service runs.

    \b
    Example:
        frontdesk eval --knowledge faq.jsonl --queries asked.jsonl
        frontdesk eval --clinc150 data_full.json --k 5 --split val --plot curve.png --json
    """
    from kb_service.embedding.factory import make_embedder
    from kb_service.matching import calibration, evaluation

    settings = settings_or_exit()
    if clinc150 and not (knowledge or queries):
        label = f"CLINC150 k={k} {split}"
    elif knowledge and queries and not clinc150:
        label = f"{knowledge.name} / {queries.name}"
    else:
        raise click.UsageError("give either --clinc150 PATH, or both --knowledge FILE and --queries FILE")
    try:
        data = evaluation.load_clinc150(clinc150, k, split) if clinc150 else evaluation.load_jsonl(knowledge, queries)
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
    if as_json:  # stdout is the JSON and stderr stays quiet
        outcomes = evaluation.ask_all(embedder, data, naive=naive)
    else:
        with click.progressbar(length=len(data.queries), label="asking", file=sys.stderr) as bar:
            outcomes = evaluation.ask_all(embedder, data, naive=naive, progress=bar.update)
    points = evaluation.sweep(outcomes, evaluation.threshold_grid())
    current = evaluation.point(outcomes, threshold)
    policy = None if naive else evaluation.run_policy(outcomes, threshold)
    chosen = evaluation.lowest_threshold_for(points, settings.target_precision)
    if plot:
        evaluation.plot({label + (" naive" if naive else ""): points}, plot, settings.target_precision)
    if as_json:
        meta = {
            "data": label,
            "policy": "naive" if naive else "live",
            "queries": len(data.queries),
            "entries": len(data.knowledge),
            "target_precision": settings.target_precision,
        }
        click.echo(json.dumps(evaluation.report(points, current, chosen, meta, policy), indent=2))
        return
    click.echo(
        f"{label}: {len(data.knowledge)} entries, {len(data.queries)} queries"
        f" ({'naive baseline' if naive else 'live matcher'})"
    )
    click.echo(
        "coverage: right answers / questions the knowledge base can answer; wrong: wrong answers / all questions"
    )
    if policy:
        click.echo(
            f"live policy (answers from {threshold}, asks the caller to confirm below it, an honest caller replies):"
            f" precision {policy.precision:.3f}, coverage {policy.coverage:.3f}, wrong {policy.wrong_rate:.3f},"
            f" confirmations {policy.confirm_rate:.1%} of questions"
        )
        click.echo("answering alone, by threshold:")
    click.echo(
        f"{'threshold':>9}  {'precision':>9}  {'coverage':>8}  {'wrong':>6}  {'false-answer':>12}  {'answered':>8}"
    )
    shown = [p for p in points if round(p.threshold * 1000) % 50 == 0 and p.answered and p is not chosen]
    for p in shown + [current] + ([chosen] if chosen else []):
        note = "  <- current settings" if p is current else "  <- lowest with target precision" if p is chosen else ""
        click.echo(
            f"{p.threshold:>9.3f}  {p.precision:>9.3f}  {p.coverage:>8.3f}  {p.wrong_rate:>6.3f}"
            f"  {p.false_answer_rate:>12.3f}"
            f"  {p.answered:>8}{note}"
        )


def _store_if_exists(settings: Settings):
    from kb_service.storage.backends import open_store

    class _Empty:
        def scalar(self, *args):
            return None

    return open_store(settings) if settings.database_url or settings.db_path.exists() else _Empty()


@main.command()
@click.option("--target", type=click.FloatRange(0.5, 1.0), help="Precision to aim for (default KB_TARGET_PRECISION).")
@click.option("--apply", "apply_", is_flag=True, help="Store the result: a running service uses it within a second.")
@click.option(
    "--clinc150",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Calibrate a throwaway knowledge base of CLINC150 train phrasings instead (to validate).",
)
@click.option("--k", default=5, show_default=True, type=click.IntRange(1), help="CLINC150 phrasings per entry.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def calibrate(target, apply_, clinc150, k, as_json) -> None:
    """Check the answering threshold against the knowledge base's own phrasings, for a target precision.

    Each phrasing is asked with itself left out (it should find its entry) and with its whole entry left out
    (it should escalate). The threshold starts at KB_MATCH_THRESHOLD and only rises, while even this flattering
    self-test shows precision below the target. The service also does this by itself at start and after
    learning. Safe while the service runs; with --apply, a running service uses the result within a second.

    \b
    Example:
        frontdesk calibrate
        frontdesk calibrate --apply
    """
    from dataclasses import asdict

    from kb_service.embedding.factory import make_embedder
    from kb_service.matching import calibration, evaluation
    from kb_service.matching.matcher import Matcher

    settings = settings_or_exit()
    target = target or settings.target_precision
    try:
        if clinc150:
            if apply_:
                raise click.UsageError("--apply stores a calibration of the service's own knowledge base only")
            try:
                entries = evaluation.load_clinc150(clinc150, k, "val").knowledge
            except (KeyError, TypeError, ValueError) as exc:
                raise click.ClickException(f"{clinc150}: not in the CLINC150 format ({exc})") from exc
            result = calibration.calibrate_entries(make_embedder(settings), entries, target, settings.match_threshold)
        else:
            kb = knowledge_base(settings)
            kb.load_index()
            result = calibration.calibrate(Matcher(kb, settings.match_threshold), target, settings.match_threshold)
            if apply_:
                calibration.save(kb.store, result)
    except calibration.NotEnoughData as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(asdict(result), indent=2))
        return
    click.echo(result.describe())
    if apply_:
        click.echo("applied: stored in the database; a running service uses it within a second")
