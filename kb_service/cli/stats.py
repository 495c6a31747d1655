"""`frontdesk stats`: what the desk has done, and with `--quality` how well it answered."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click
import numpy as np

from kb_service.cli.base import main, settings_or_exit


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
        kb.mirror.space = replace(kb.mirror.space, index=VectorIndex.load(settings.index_path, 384))
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
    click.echo(
        f"help requests: {hr['pending']} pending, {hr['resolved']} resolved, {hr['unresolved']} unresolved,"
        f" {hr['dismissed']} dismissed"
    )
    click.echo(f"questions: {result.asks_total} ({result.asks_answered} auto-answered, rate {rate})")
    click.echo(f"conversational turns: {result.conversational_turns} (greetings, thanks, goodbyes…)")
    click.echo(f"hand-offs to staff: {result.handoffs}")
    click.echo(
        f"knowledge: {result.knowledge_entries} entries, {result.phrasings_in_db} phrasings in the database,"
        f" {result.phrasings_in_index} in the index file{index_note}"
    )
    click.echo(f"outbox: {result.outbox_pending} waiting, {result.outbox_dead} dead")
    click.echo(
        f"callers' wordings to approve: {result.pending_phrasings} (the console's Audit tab, GET /api/pending-phrasings)"
    )
    from kb_service.desk import retention

    click.echo(retention.retention_summary(store, settings.retention_days))
    click.echo(f"match threshold: {result.match_threshold}")
    if calibrated:
        click.echo(f"calibration ({calibrated.calibrated_at[:16]}): {calibrated.describe()}")
    if result.tune:
        click.echo(f"tune ({result.tune['tuned_at'][:16]}): {result.tune['note']}")


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
