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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kb_service.embedding import from_blob
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import conflicts as conflicts_module
from kb_service.matching import self_test
from kb_service.matching.evaluation import Outcome, point, threshold_grid
from kb_service.matching.matcher import MAX_THRESHOLD, UNSECONDED_GAP, Matcher
from kb_service.matching.precision import CONFIRM_FLOOR, SELF_TEST_CONFIRM_SHARE, band_start, wilson
from kb_service.storage.schema import read_meta_record, write_meta
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import Store, iso, now

log = logging.getLogger("frontdesk.calibration")

META_KEY = "calibration"
MAX_QUESTIONS = 2_000  # phrasings asked at most (a sample, in a large knowledge base)
MIN_KNOWN = 30  # known questions below which the self-test says nothing
MAX_DUPLICATE_SHARE = 0.5

CALIBRATED, TOO_SMALL, TOO_DUPLICATED = "calibrated", "too_small", "too_duplicated"
BELOW_TARGET = "below_target"  # even at MAX_THRESHOLD the self-test's precision is below the target


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
    status: str = CALIBRATED  # or TOO_SMALL, TOO_DUPLICATED (the configured threshold was kept), BELOW_TARGET
    note: str = ""
    knowledge_version: int = -1  # of the knowledge base it was calibrated on
    self_test_precision: float | None = None  # right / answered on the self-test, at `threshold`
    # Entries that contradict each other (`matching/conflicts.py`), left out of the self-test:
    # [{"knowledge_ids": [a, b], "questions": [qa, qb]}], at most conflicts.MAX_NAMED of them.
    conflicts: list[dict] = field(default_factory=list)
    # Where checks start ("Just to check — are you asking …?"): a quarter of the self-test's questions between it
    # and the threshold (`live.band_start`). None in a calibration stored before there was one.
    confirm_threshold: float | None = None

    def describe(self) -> str:
        return self._summary() + _conflicts_said(self.conflicts)

    def _summary(self) -> str:
        if self.status in (TOO_SMALL, TOO_DUPLICATED):
            return self.note
        if self.status == BELOW_TARGET:
            return (
                f"threshold {self.threshold} (the highest allowed): even there the knowledge base's own phrasings"
                f" are answered with precision {self.self_test_precision or 0:.3f}, under the target"
                f" {self.target_precision}. Its entries overlap: callers are asked to confirm before most answers."
                " Merge or reword the overlapping entries, then calibrate again."
            )
        if self.estimated_precision is None:
            return (
                f"threshold {self.threshold} for target precision {self.target_precision}. The self-test asks each"
                f" of the knowledge base's {self.positives} phrasings with itself left out, and none of them is"
                ' sure enough on its own there: callers hear "Just to check…" first, which is normal for a small'
                " knowledge base. The live estimate (frontdesk stats --quality) measures precision from the calls."
            )
        unsure = (
            f" (95% lower bound {self.estimated_precision:.3f}: too few answers to prove the target, and too few"
            " to show it missed)"
            if self.estimated_precision < self.target_precision
            else f" (95% lower bound {self.estimated_precision:.3f})"
        )
        return (
            f"threshold {self.threshold} for target precision {self.target_precision}: asked its own phrasings"
            f" ({self.positives} known and {self.unknowns} unknown questions), the knowledge base answers with"
            f" precision {self.self_test_precision or 0:.3f}{unsure}, covering {self.estimated_coverage:.0%} of"
            f" them and {self.estimated_false_answer_rate:.0%} of questions it cannot answer. Callers' questions"
            " vary more than these, so the live estimate (frontdesk stats --quality) is the one to watch."
        )


def _conflicts_said(conflicts: list[dict]) -> str:
    if not conflicts:
        return ""
    shown = "; ".join(
        f"entries #{c['knowledge_ids'][0]} and #{c['knowledge_ids'][1]} ({c['questions'][0]!r} / {c['questions'][1]!r})"
        for c in conflicts[:5]
    )
    more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
    return (
        f" {len(conflicts)} pair(s) of entries give different answers to the same question, so they were left out"
        f" of this check and their question is confirmed or escalated, never answered outright: {shown}{more}."
        " Merge or reword them."
    )


class NotEnoughData(Exception):
    """Calibration needs at least two entries, and an index that holds every committed change."""


def calibrate(
    matcher: Matcher, target_precision: float, floor: float, yield_to: Callable[[], object] = lambda: None
) -> Calibration:
    """The lowest threshold, from `floor` up, that the self-test does not show to be below the target.

    `yield_to` is called before each chunk of the self-test: the service passes one that waits while asks are
    in hand, so that a calibration running beside calls does not slow their answers."""
    store = matcher.kb.store
    # The version first: a write committed from here on is newer than the calibration, which is then redone. One
    # committed a moment ago may not be in the index yet (its effect runs after the commit): calibrated without
    # it, its conflicts would go unnamed under the new version, so this calibration waits for the next sweep.
    version = store.knowledge_version()
    if not matcher.kb.mirror.in_step(version):
        raise NotEnoughData("the index is catching up with a write")
    rows = store.query("SELECT id, knowledge_id, embedding FROM phrasings")
    owner = {r["id"]: r["knowledge_id"] for r in rows}
    per_entry: dict[int, int] = {}
    for kid in owner.values():
        per_entry[kid] = per_entry.get(kid, 0) + 1
    if len(per_entry) < 2:
        raise NotEnoughData("calibration needs at least two entries")
    vectors = {r["id"]: from_blob(r["embedding"]) for r in rows}
    found = conflicts_module.find(matcher.kb, vectors, owner, yield_to)
    contradicting = conflicts_module.entries_in(found)
    learned = self_test.from_checks(store)
    ids = sorted(pid for pid, kid in owner.items() if kid not in contradicting and pid not in learned)
    if len(ids) > MAX_QUESTIONS:
        ids = sorted(random.Random(0).sample(ids, MAX_QUESTIONS))
    outcomes, duplicates = self_test.run(matcher, ids, owner, vectors, per_entry, yield_to)
    known = [o for o in outcomes if o.expected is not None]
    base: dict[str, Any] = dict(
        target_precision=target_precision,
        positives=len(known),
        unknowns=len(outcomes) - len(known),
        learned=learned_count(store),
        calibrated_at=iso(now()),
        knowledge_version=version,
        conflicts=[asdict(c) for c in found[: conflicts_module.MAX_NAMED]],
        confirm_threshold=band(outcomes, floor),
    )
    unmeasured: dict[str, Any] = dict(threshold=floor, estimated_precision=None, estimated_coverage=None)
    if len(known) < MIN_KNOWN:
        note = (
            f"too small to calibrate: {len(known)} phrasings have another phrasing of their entry to be"
            f" checked against (at least {MIN_KNOWN} needed); kept the configured threshold {floor}"
        )
        # Too few phrasings to say where checks pay: check from the floor (a check costs a caller's yes, never a
        # wrong answer), until traffic shows whether that is too many (`precision.confirm_threshold`).
        base["confirm_threshold"] = min(CONFIRM_FLOOR, floor)
        return Calibration(**unmeasured, estimated_false_answer_rate=None, status=TOO_SMALL, note=note, **base)
    if duplicates > MAX_DUPLICATE_SHARE * len(known):
        note = (
            f"too duplicated to calibrate: {duplicates} of {len(known)} phrasings are near-copies of another"
            f" phrasing of their entry; kept the configured threshold {floor}"
        )
        return Calibration(**unmeasured, estimated_false_answer_rate=None, status=TOO_DUPLICATED, note=note, **base)
    threshold, status = lowest_threshold(outcomes, target_precision, floor)
    at, on_known = point(outcomes, threshold), point(known, threshold)
    lower = wilson(round(at.precision * at.answered), at.answered)[0]
    base["confirm_threshold"] = band(outcomes, threshold)
    return Calibration(
        threshold=threshold,
        estimated_precision=None if lower is None else round(lower, 4),
        estimated_coverage=round(on_known.coverage, 4),
        estimated_false_answer_rate=round(at.false_answer_rate, 4),
        self_test_precision=round(at.precision, 4) if at.answered else None,
        status=status,
        **base,
    )


def lowest_threshold(outcomes: list[Outcome], target_precision: float, floor: float) -> tuple[float, str]:
    """The lowest threshold from `floor` up whose precision on `outcomes` is not shown (the whole 95% interval)
    to be under the target, and CALIBRATED; MAX_THRESHOLD and BELOW_TARGET if there is none."""
    threshold, status = min(floor, MAX_THRESHOLD), BELOW_TARGET
    for candidate in [t for t in threshold_grid(high=MAX_THRESHOLD) if t >= threshold]:
        threshold = candidate
        at = point(outcomes, candidate)
        upper = wilson(round(at.precision * at.answered), at.answered)[1]
        if upper is None or upper >= target_precision:
            return threshold, CALIBRATED
    return threshold, status


def band(outcomes: list[Outcome], threshold: float) -> float:
    """Where checks start: a quarter of these questions between it and `threshold`, counting those an adapter's
    second opinion holds just under it (`matcher.seconded`). Known and unknown questions weigh half each, whatever
    their numbers: a tune asks every phrasing as an unknown question but only its held-out ones as known."""
    counted = [o for o in outcomes if o.got is not None]
    known = sum(o.expected is not None for o in counted)
    sizes = {True: known, False: len(counted) - known}
    weights = [len(counted) / (2 * sizes[o.expected is not None]) for o in counted] if all(sizes.values()) else None
    confidences = [min(o.confidence, threshold - UNSECONDED_GAP) if o.unseconded else o.confidence for o in counted]
    return band_start(confidences, min(threshold, MAX_THRESHOLD), SELF_TEST_CONFIRM_SHARE, weights)


def learned_count(store: Store) -> int:
    return int(
        store.scalar("SELECT COUNT(*) FROM help_requests WHERE status = 'resolved' AND knowledge_id IS NOT NULL") or 0
    )


def save(store: Store, result: Calibration, then: Callable[[], object] = lambda: None) -> None:
    """Store the calibration; `then` (the thresholds following it) runs as it commits."""
    with store.write() as tx:
        write_meta(tx, META_KEY, json.dumps(asdict(result)))
        tx.on_commit(then)


def load(store: Store) -> Calibration | None:
    stored = read_meta_record(store, META_KEY, Calibration)
    if stored is None:
        return None
    return replace(stored, threshold=min(stored.threshold, MAX_THRESHOLD))  # one stored before the cap


def maybe_recalibrate(
    matcher: Matcher,
    store: Store,
    every: int,
    target_precision: float,
    floor: float,
    yield_to: Callable[[], object] = lambda: None,
    then: Callable[[], object] = lambda: None,
) -> Calibration | None:
    """Calibrate when the knowledge base changed since the stored calibration: at start, after an import, and
    after every `every` learned answers (0 turns automatic calibration off); `then` runs once it is stored."""
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
    save(store, result, then)
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
