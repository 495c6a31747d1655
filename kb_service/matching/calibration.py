"""Self-calibration: check the answering threshold against the knowledge base's own phrasings.

Known questions: each phrasing asked with only itself left out; the right answer is its own entry. Unknown
questions: each phrasing asked with its whole entry left out; any answer is wrong. Both go through
`Matcher.rank` (the live policy).

Such a self-test flatters: a knowledge base's phrasings resemble each other more than callers' questions do. So
it may only raise the threshold, never lower it below the configured one (KB_MATCH_THRESHOLD): it starts there
and moves up while even this optimistic test shows precision below the target (the whole 95% interval under
it), and it reports the interval's lower end as its estimate. A knowledge base too small or too duplicated to
say anything keeps the configured threshold, and the result says so. It lives in the `meta` table under
'calibration', so the service, `frontdesk stats` and `frontdesk calibrate` all see it."""

from __future__ import annotations

import json
import logging
import random
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from kb_service.embedding import from_blob
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching.evaluation import Outcome, point, threshold_grid
from kb_service.matching.matcher import Decision, LeaveOut, Matcher
from kb_service.matching.precision import wilson
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import Store, iso, now

log = logging.getLogger("frontdesk.calibration")

META_KEY = "calibration"
CHUNK = 64  # phrasings ranked at a time; before each chunk, callers waiting on an answer go first
MAX_QUESTIONS = 2_000  # phrasings asked at most (a sample, in a large knowledge base)
MIN_KNOWN = 30  # known questions below which the self-test says nothing
DUPLICATE_COSINE = 0.98  # a phrasing this close to another of its entry is a copy, not another way of asking
MAX_DUPLICATE_SHARE = 0.5

CALIBRATED, TOO_SMALL, TOO_DUPLICATED = "calibrated", "too_small", "too_duplicated"


@dataclass(frozen=True)
class Calibration:
    threshold: float
    target_precision: float
    estimated_precision: float | None  # lower end of the 95% interval on the self-test, at `threshold`
    estimated_coverage: float | None  # share of left-out phrasings still answered right
    estimated_false_answer_rate: float | None  # share of unknown questions answered
    positives: int
    unknowns: int
    learned: int  # resolved help requests at calibration time
    calibrated_at: str
    status: str = CALIBRATED  # or TOO_SMALL, TOO_DUPLICATED: the configured threshold was kept
    note: str = ""
    knowledge_version: int = -1  # of the knowledge base it was calibrated on

    def describe(self) -> str:
        if self.status != CALIBRATED:
            return self.note
        if self.estimated_precision is None:
            return (
                f"threshold {self.threshold} for target precision {self.target_precision}: at it the knowledge base"
                f" answers none of its own {self.positives} known questions, so the self-test cannot estimate"
                " precision; the live estimate (frontdesk stats --quality) will."
            )
        return (
            f"threshold {self.threshold} for target precision {self.target_precision}: on its own phrasings the"
            f" knowledge base answers with precision at least {self.estimated_precision:.3f} (95% lower bound),"
            f" covering {self.estimated_coverage:.0%} of them and {self.estimated_false_answer_rate:.0%} of"
            f" questions it cannot answer ({self.positives} known and {self.unknowns} unknown questions)."
            " Callers' questions vary more than these, so the live estimate (frontdesk stats --quality) is the one"
            " to watch."
        )


class NotEnoughData(Exception):
    """Calibration needs at least two entries."""


def calibrate(
    matcher: Matcher, target_precision: float, floor: float, yield_to: Callable[[], object] = lambda: None
) -> Calibration:
    """The lowest threshold, from `floor` up, that the self-test does not show to be below the target.

    `yield_to` is called before each chunk of the self-test: the service passes one that waits while asks are
    in hand, so that a calibration running beside calls does not slow their answers."""
    store = matcher.kb.store
    rows = store.query("SELECT id, knowledge_id, embedding FROM phrasings")
    owner = {r["id"]: r["knowledge_id"] for r in rows}
    per_entry: dict[int, int] = {}
    for kid in owner.values():
        per_entry[kid] = per_entry.get(kid, 0) + 1
    if len(per_entry) < 2:
        raise NotEnoughData("calibration needs at least two entries")
    vectors = {r["id"]: from_blob(r["embedding"]) for r in rows}
    ids = sorted(owner)
    if len(ids) > MAX_QUESTIONS:
        ids = sorted(random.Random(0).sample(ids, MAX_QUESTIONS))
    outcomes, duplicates = _self_test(matcher, ids, owner, vectors, per_entry, yield_to)
    known = [o for o in outcomes if o.expected is not None]
    base: dict[str, Any] = dict(
        target_precision=target_precision,
        positives=len(known),
        unknowns=len(outcomes) - len(known),
        learned=learned_count(store),
        calibrated_at=iso(now()),
        knowledge_version=store.knowledge_version(),
    )
    if len(known) < MIN_KNOWN:
        note = (
            f"too small to calibrate: {len(known)} phrasings have another phrasing of their entry to be"
            f" checked against (at least {MIN_KNOWN} needed); kept the configured threshold {floor}"
        )
        return Calibration(
            threshold=floor,
            estimated_precision=None,
            estimated_coverage=None,
            estimated_false_answer_rate=None,
            status=TOO_SMALL,
            note=note,
            **base,
        )
    if duplicates > MAX_DUPLICATE_SHARE * len(known):
        note = (
            f"too duplicated to calibrate: {duplicates} of {len(known)} phrasings are near-copies of another"
            f" phrasing of their entry; kept the configured threshold {floor}"
        )
        return Calibration(
            threshold=floor,
            estimated_precision=None,
            estimated_coverage=None,
            estimated_false_answer_rate=None,
            status=TOO_DUPLICATED,
            note=note,
            **base,
        )
    threshold = floor
    for candidate in [t for t in threshold_grid() if t >= floor]:
        threshold = candidate
        at = point(outcomes, candidate)
        upper = wilson(round(at.precision * at.answered), at.answered)[1]
        if upper is None or upper >= target_precision:
            break
    at, on_known = point(outcomes, threshold), point(known, threshold)
    lower = wilson(round(at.precision * at.answered), at.answered)[0]
    return Calibration(
        threshold=threshold,
        estimated_precision=None if lower is None else round(lower, 4),
        estimated_coverage=round(on_known.coverage, 4),
        estimated_false_answer_rate=round(at.false_answer_rate, 4),
        **base,
    )


def _self_test(matcher, ids, owner, vectors, per_entry, yield_to) -> tuple[list[Outcome], int]:
    """Every phrasing asked as a known question (itself left out) and an unknown one (its entry left out);
    also how many known questions had a near-copy in their own entry."""
    outcomes, duplicates = [], 0
    for start in range(0, len(ids), CHUNK):
        yield_to()
        chunk = ids[start : start + CHUNK]
        known = [pid for pid in chunk if per_entry[owner[pid]] > 1]
        if known:
            ranked = matcher.rank(
                np.stack([vectors[pid] for pid in known]), [LeaveOut(phrasing_id=pid) for pid in known]
            )
            for pid, candidates in zip(known, ranked, strict=True):
                outcomes.append(_outcome(owner[pid], candidates))
                own = next((c for c in candidates if c.knowledge_id == owner[pid]), None)
                duplicates += own is not None and own.cosine is not None and own.cosine >= DUPLICATE_COSINE
        ranked = matcher.rank(
            np.stack([vectors[pid] for pid in chunk]), [LeaveOut(knowledge_id=owner[pid]) for pid in chunk]
        )
        outcomes += [_outcome(None, r) for r in ranked]
    return outcomes, duplicates


def _outcome(expected: int | None, ranked) -> Outcome:
    decision = Decision("escalate", ranked[0] if ranked else None, ranked[1] if len(ranked) > 1 else None)
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
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (META_KEY, json.dumps(asdict(result))),
        )


def load(store: Store) -> Calibration | None:
    raw = store.scalar("SELECT value FROM meta WHERE key = ?", (META_KEY,))
    if not raw:
        return None
    try:
        known = {f.name for f in fields(Calibration)}
        return Calibration(**{k: v for k, v in json.loads(raw).items() if k in known})
    except (TypeError, ValueError):
        log.warning("ignoring an unreadable calibration in the meta table")
        return None


def maybe_recalibrate(
    matcher: Matcher,
    store: Store,
    every: int,
    target_precision: float,
    floor: float,
    yield_to: Callable[[], object] = lambda: None,
) -> Calibration | None:
    """Calibrate when the knowledge base changed since the stored calibration: at start, after an import, and
    after every `every` learned answers (0 turns automatic calibration off)."""
    if every <= 0:
        return None
    current = load(store)
    if current is not None and current.knowledge_version == store.knowledge_version():
        return None
    if current is not None and 0 < learned_count(store) - current.learned < every:
        return None  # changed by learned answers only: wait for `every` of them
    try:
        result = calibrate(matcher, target_precision, floor, yield_to)
    except NotEnoughData:
        return None
    save(store, result)
    log.info("calibrated: %s", result.describe())
    return result


def calibrate_entries(
    embedder, entries: list[tuple[str, list[str]]], target_precision: float, floor: float
) -> Calibration:
    """Calibrate a throwaway knowledge base built from `entries` (to check calibration against a labelled set)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "calibrate.db")
        kb = KnowledgeBase(store, embedder)
        kb.import_entries(entries)
        try:
            return calibrate(Matcher(kb, 1.0), target_precision, floor)
        finally:
            store.close()
