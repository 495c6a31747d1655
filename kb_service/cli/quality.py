"""`frontdesk eval` and `calibrate`: how well the agent answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb_service.cli.base import knowledge_base, main, settings_or_exit
from kb_service.config import Settings


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
    (it should escalate). The threshold starts at KB_MATCH_THRESHOLD and only rises (to 1.0 at most), while even
    this flattering self-test shows precision below the target. Entries that give different answers to the same
    question are named and left out of the check. The service also does this by itself at start and after
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
        kept = " (the configured one)" if result.status in (calibration.TOO_SMALL, calibration.TOO_DUPLICATED) else ""
        click.echo(f"applied: the service answers by itself from confidence {result.threshold}{kept}, within a second")


@main.command()
@click.option("--target", type=click.FloatRange(0.5, 1.0), help="Precision to aim for (default KB_TARGET_PRECISION).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def tune(target, as_json) -> None:
    """Fit the scorer to this knowledge base's own phrasings, and keep it only if it answers them better.

    Trains a linear adapter on pairs of phrasings of the same entry, then asks the phrasings it held out from
    training and, as questions it must not answer, each entry's phrasings through an adapter trained without it.
    The adapter is kept when it answers more of the held-out phrasings right than the shipped scorer at the target
    precision; otherwise the shipped scorer answers (and a stored adapter is dropped). The service also tunes by
    itself at first, after an import and every KB_TUNE_EVERY learned answers. Safe while the service runs: it uses
    the result within a second.

    \b
    Example:
        frontdesk tune
        frontdesk tune --json
    """
    from dataclasses import asdict

    from kb_service.matching import calibration, tuning

    settings = settings_or_exit()
    kb = knowledge_base(settings)
    kb.load_index()
    try:
        result, adapter = tuning.tune(kb, target or settings.target_precision, settings.match_threshold)
    except calibration.NotEnoughData as exc:
        raise click.ClickException(str(exc)) from exc
    tuning.save(kb.store, result, adapter)
    if as_json:
        click.echo(json.dumps(asdict(result), indent=2))
        return
    click.echo(f"{result.note} ({result.seconds} s)")
