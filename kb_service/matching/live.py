"""Live calibration: precision measured from the verdicts the product already collects.

Three sources label "entry X was (not) the right answer at confidence c":
- a caller's yes or no to "Just to check — are you asking …?";
- a supervisor's resolve: "Use this answer" on the entry the matcher proposed is a yes, a new answer written
  for a question whose best candidate was X is a no;
- the audit queue, where the supervisor marks sampled auto-answers right or wrong.

From them the service keeps a precision estimate with a 95% Wilson interval, and moves the answering threshold
only when the evidence supports it: up when the interval lies wholly below the target, down into the band the
callers confirmed when the interval there lies wholly above it.

The confirmation threshold needs no labels: it sits as low as keeps confirmations to about one question in six
of recent traffic (a confirmation costs the caller a yes, never a wrong answer)."""

from __future__ import annotations

import math

from kb_service.knowledge import adapter
from kb_service.matching import calibration
from kb_service.matching.matcher import MAX_THRESHOLD, Matcher
from kb_service.matching.precision import CONFIRM_WINDOW, PER_CLIENT, confirm_threshold, wilson
from kb_service.storage.store import Store, Tx, iso, now
from models import LiveQualityPublic, PrecisionBand

BAND_WIDTH = 0.05
MIN_TO_RAISE = 20  # verdicts at or above the threshold before a low precision moves it up
MIN_TO_LOWER = 10  # verdicts in the band below the threshold before a high precision moves it down
SCANNED = 20 * CONFIRM_WINDOW  # asks read for the check band's window at most
MAX_LOWERING = 0.10  # the furthest below its calibrated value that live evidence may take the threshold


def record(tx: Tx, knowledge_id: int | None, confidence: float, correct: bool, source: str) -> None:
    tx.execute(
        "INSERT INTO match_labels (knowledge_id, confidence, correct, source, created_at) VALUES (?, ?, ?, ?, ?)",
        (knowledge_id, confidence, int(correct), source, iso(now())),
    )


class Labels:
    """The verdicts, counted by confidence range in the database: each count is one range scan of an index that
    holds both columns, so a service with years of verdicts does not read them all on every sweep.

    The supervisor's verdicts (resolves, audits) always count. A caller's yes or no to a check is weak evidence
    (anyone can call): with `callers`, it counts once per client address and entry (the address its call session
    was opened from: one client opening many sessions is one label), and not at all without a session or once
    retention has forgotten the address; the live threshold lets it raise the threshold, never lower it."""

    def __init__(self, store: Store, callers: bool = True):
        self.store = store
        self.callers = callers

    def between(self, low: float, high: float | None = None) -> tuple[int, int]:
        """(right, total) of the verdicts with low <= confidence < high."""
        upper, params = ("", (low,)) if high is None else (" AND confidence < ?", (low, high))
        [row] = self.store.query(
            "SELECT COALESCE(SUM(correct), 0) AS rights, COUNT(*) AS total FROM match_labels"
            " WHERE confidence >= ? AND source IN ('resolve', 'audit')" + upper,
            params,
        )
        right, total = int(row["rights"]), int(row["total"])
        if self.callers:
            [row] = self.store.query(
                "SELECT COALESCE(SUM(yes), 0) AS rights, COUNT(*) AS total FROM (SELECT MAX(confidence) AS"
                " confidence, MIN(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END) AS yes FROM confirmations"
                " WHERE client_ip IS NOT NULL AND status IN ('confirmed', 'declined')"
                " GROUP BY client_ip, knowledge_id) AS per_client WHERE confidence >= ?" + upper,
                params,
            )
            right, total = right + int(row["rights"]), total + int(row["total"])
        return right, total

    def span(self) -> tuple[float, float] | None:
        """The lowest and the highest confidence of any verdict; None without verdicts."""
        [row] = self.store.query("SELECT MIN(confidence) AS low, MAX(confidence) AS high FROM match_labels")
        return None if row["low"] is None else (row["low"], row["high"])


def live_threshold(labels: Labels, calibrated: float, target: float) -> float:
    """The answering threshold the evidence supports, starting from the calibrated one.

    Raised, in steps of a band, while the verdicts at or above it say precision is below the target (the whole
    interval under it). Lowered a band at a time, never more than MAX_LOWERING, while the band below has enough
    of the supervisor's verdicts (callers' never lower it) and everything from there up keeps its interval
    wholly above the target."""
    threshold = calibrated
    while True:
        right, total = labels.between(threshold)
        upper = wilson(right, total)[1]
        if total < MIN_TO_RAISE or upper is None or upper >= target or threshold >= MAX_THRESHOLD:
            break
        threshold = min(round(threshold + BAND_WIDTH, 4), MAX_THRESHOLD)
    if threshold > calibrated:
        return threshold
    supervisor = Labels(labels.store, callers=False)
    lowest = calibrated - MAX_LOWERING
    while threshold - BAND_WIDTH >= lowest - 1e-9:
        candidate = round(threshold - BAND_WIDTH, 4)
        band_right, band_total = supervisor.between(candidate, threshold)
        lower = wilson(*supervisor.between(candidate))[0]
        if band_total < MIN_TO_LOWER or lower is None or lower < target:
            break
        threshold = candidate
    return threshold


def recent_confidences(store: Store) -> list[float]:
    """The last CONFIRM_WINDOW asks made in a call session, at most PER_CLIENT of each client address (the one its
    session was opened from; a session's own for asks logged before addresses were): one client's flood of
    anonymous asks, or of asks in one session or in many, does not make the window. Only the last SCANNED asks are
    read (a primary-key range), so the cost stays flat however long the log grows."""
    newest = store.scalar("SELECT MAX(id) FROM ask_log") or 0
    rows = store.query(
        "SELECT confidence FROM (SELECT id, confidence, ROW_NUMBER() OVER (PARTITION BY COALESCE(client_ip,"
        " session_id) ORDER BY id DESC) AS nth FROM ask_log WHERE id > ? AND confidence IS NOT NULL"
        " AND session_id IS NOT NULL) AS recent WHERE nth <= ? ORDER BY id DESC LIMIT ?",
        (newest - SCANNED, PER_CLIENT, CONFIRM_WINDOW),
    )
    return [r["confidence"] for r in rows]


def thresholds(store: Store, configured: float, target: float) -> tuple[float, float]:
    """(answering, confirmation) thresholds in force: the calibrated one, never below the configured one
    (`matching/calibration.py`) nor an adapter's (`matching/tuning.py`), moved by live verdicts; the confirmation
    band below it set by the adapter's or the calibration's self-test, narrowed by recent traffic."""
    calibrated = calibration.load(store)
    base = min(max(calibrated.threshold, configured) if calibrated else configured, MAX_THRESHOLD)
    start = calibrated.confirm_threshold if calibrated else None
    if (tuned := adapter.thresholds(store)) is not None:  # the tune's cross-fitted self-test: never below it
        base, start = max(base, min(tuned.threshold, MAX_THRESHOLD)), tuned.confirm_threshold
    answer = live_threshold(Labels(store), base, target)
    return answer, confirm_threshold(recent_confidences(store), answer, start)


def estimate(store: Store, threshold: float, confirm_threshold: float | None, target: float) -> LiveQualityPublic:
    labels = Labels(store)
    right, total = labels.between(threshold)
    lower, upper = wilson(right, total)
    lowest, highest = labels.span() or (threshold, -math.inf)
    bands = []
    edge = round(math.floor(min(lowest, threshold) / BAND_WIDTH) * BAND_WIDTH, 4)
    while edge <= highest:
        high = round(edge + BAND_WIDTH, 4)
        band_right, band_total = labels.between(edge, high)
        if band_total:
            band_lower, band_upper = wilson(band_right, band_total)
            bands.append(
                PrecisionBand(
                    low=edge,
                    high=high,
                    labels=band_total,
                    right=band_right,
                    precision=round(band_right / band_total, 4),
                    lower=_round(band_lower),
                    upper=_round(band_upper),
                )
            )
        edge = high
    waiting = store.scalar("SELECT COUNT(*) FROM audits WHERE verdict IS NULL")
    return LiveQualityPublic(
        threshold=threshold,
        confirm_threshold=confirm_threshold,
        target_precision=target,
        labels=total,
        precision=round(right / total, 4) if total else None,
        lower=_round(lower),
        upper=_round(upper),
        bands=bands,
        audits_waiting=waiting,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class Verdicts:
    """The verdicts on the matcher's answers, and the thresholds they set on it: a verdict recorded in a
    transaction refreshes the thresholds once that transaction commits."""

    def __init__(self, store: Store, matcher: Matcher, configured: float, target: float):
        self.store = store
        self.matcher = matcher
        self.configured = configured
        self.target = target

    def record(self, tx: Tx, knowledge_id: int | None, confidence: float, correct: bool, source: str) -> None:
        record(tx, knowledge_id, confidence, correct, source)
        tx.on_commit(self.refresh_thresholds)

    def refresh_thresholds(self) -> None:
        """Calibration, verdicts and traffic set the thresholds in force."""
        self.matcher.threshold, self.matcher.confirm_threshold = thresholds(self.store, self.configured, self.target)

    def estimate(self) -> LiveQualityPublic:
        """The estimate, with the last self-calibration in words and the entries it found contradicting."""
        result = estimate(self.store, self.matcher.threshold, self.matcher.confirm_threshold, self.target)
        calibrated = calibration.load(self.store)
        if calibrated is None:
            return result
        return LiveQualityPublic.model_validate(
            result.model_dump() | {"calibration": calibrated.describe(), "conflicts": calibrated.conflicts}
        )
