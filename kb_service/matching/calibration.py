"""Self-calibration: pick the answering threshold from the knowledge base's own phrasings, no test set needed.

Positives: every phrasing is asked with only itself left out; the right answer is its own entry. Unknowns: every
phrasing is asked with its whole entry left out; any answer is wrong. Both go through `Matcher.rank` (the live
policy). The lowest threshold wins at which the known questions keep the target precision and at most
1 - target of the unknowns are answered. The result lives in the `meta` table
under 'calibration', so the service and `frontdesk stats` see it."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

import numpy as np

from kb_service.embedding import from_blob
from kb_service.matching.evaluation import Outcome, lowest_threshold_for, point, sweep, threshold_grid
from kb_service.matching.matcher import Decision, LeaveOut, Matcher
from kb_service.storage.store import Store, iso, now

log = logging.getLogger("frontdesk.calibration")

META_KEY = "calibration"
CHUNK = 512


@dataclass(frozen=True)
class Calibration:
    threshold: float
    target_precision: float
    estimated_precision: float
    estimated_coverage: float  # share of left-out phrasings still answered right
    estimated_false_answer_rate: float  # share of unknown questions answered
    positives: int
    unknowns: int
    learned: int  # resolved help requests at calibration time, for KB_RECALIBRATE_EVERY
    calibrated_at: str


class NotEnoughData(Exception):
    """Calibration needs at least two entries and one entry with two phrasings."""


def calibrate(matcher: Matcher, target_precision: float) -> Calibration:
    rows = matcher.kb.store.query("SELECT id, knowledge_id, embedding FROM phrasings")
    owner = {r["id"]: r["knowledge_id"] for r in rows}
    vectors = {r["id"]: from_blob(r["embedding"]) for r in rows}
    per_entry: dict[int, int] = {}
    for kid in owner.values():
        per_entry[kid] = per_entry.get(kid, 0) + 1
    if len(per_entry) < 2 or max(per_entry.values()) < 2:
        raise NotEnoughData("calibration needs at least two entries and an entry with two or more phrasings")
    outcomes = []
    ids = sorted(owner)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        batch = np.stack([vectors[pid] for pid in chunk])
        known = [pid for pid in chunk if per_entry[owner[pid]] > 1]
        if known:
            ranked = matcher.rank(
                np.stack([vectors[pid] for pid in known]), [LeaveOut(phrasing_id=pid) for pid in known]
            )
            outcomes += [_outcome(owner[pid], r) for pid, r in zip(known, ranked)]
        ranked = matcher.rank(batch, [LeaveOut(knowledge_id=owner[pid]) for pid in chunk])
        outcomes += [_outcome(None, r) for r in ranked]
    known = [o for o in outcomes if o.expected is not None]
    grid = threshold_grid()
    # Both kinds of error stay within 1 - target: known questions answered wrongly, and unknowns answered at all.
    safe = [p for p in sweep(outcomes, grid) if p.false_answer_rate <= 1 - target_precision]
    floor = min((p.threshold for p in safe), default=max(grid))
    chosen_known = lowest_threshold_for([p for p in sweep(known, grid) if p.threshold >= floor], target_precision)
    threshold = chosen_known.threshold if chosen_known else max(grid)
    chosen, on_known = point(outcomes, threshold), point(known, threshold)
    return Calibration(
        threshold=threshold,
        target_precision=target_precision,
        estimated_precision=round(on_known.precision, 4),
        estimated_coverage=round(on_known.coverage, 4),
        estimated_false_answer_rate=round(chosen.false_answer_rate, 4),
        positives=sum(o.expected is not None for o in outcomes),
        unknowns=sum(o.expected is None for o in outcomes),
        learned=learned_count(matcher.kb.store),
        calibrated_at=iso(now()),
    )


def _outcome(expected: int | None, ranked) -> Outcome:
    decision = Decision(
        answer=False, best=ranked[0] if ranked else None, runner_up=ranked[1] if len(ranked) > 1 else None
    )
    got = decision.best.knowledge_id if decision.best else None
    return Outcome(
        None if expected is None else str(expected), None if got is None else str(got), decision.confidence, False
    )


def learned_count(store: Store) -> int:
    return int(
        store.scalar("SELECT COUNT(*) FROM help_requests WHERE status = 'resolved' AND knowledge_id IS NOT NULL") or 0
    )


def save(store: Store, result: Calibration) -> None:
    with store.write() as tx:
        tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (META_KEY, json.dumps(asdict(result))))


def load(store: Store) -> Calibration | None:
    raw = store.scalar("SELECT value FROM meta WHERE key = ?", (META_KEY,))
    if not raw:
        return None
    try:
        return Calibration(**json.loads(raw))
    except (TypeError, ValueError):
        log.warning("ignoring an unreadable calibration in the meta table")
        return None


def maybe_recalibrate(matcher: Matcher, store: Store, every: int, target_precision: float) -> Calibration | None:
    """After every `every` learned answers, calibrate again and apply the result (0 turns this off)."""
    if every <= 0:
        return None
    current = load(store)
    if learned_count(store) - (current.learned if current else 0) < every:
        return None
    try:
        result = calibrate(matcher, target_precision)
    except NotEnoughData:
        return None
    save(store, result)
    matcher.threshold = result.threshold
    log.info("re-calibrated: threshold %.3f, estimated coverage %.2f", result.threshold, result.estimated_coverage)
    return result


def calibrate_entries(embedder, entries: list[tuple[str, list[str]]], target_precision: float) -> Calibration:
    """Calibrate a throwaway knowledge base built from `entries` (to check calibration against a labelled set)."""
    import tempfile
    from pathlib import Path

    from kb_service.knowledge.entries import KnowledgeBase

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "calibrate.db")
        kb = KnowledgeBase(store, embedder)
        kb.import_entries(entries)
        try:
            return calibrate(Matcher(kb, 1.0), target_precision)
        finally:
            store.close()
