"""Counts for `GET /api/stats`, `GET /api/dashboard`, `/metrics` and `frontdesk stats`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import calibration, tuning
from kb_service.storage.store import Store, iso, now
from models import DashboardPublic, StatsPublic

STATUSES = ("pending", "resolved", "unresolved", "dismissed")
# Asks that were questions: answered, confirmed first or escalated. A turn the agent handled itself (`replied`: a
# greeting, thanks, "say that again") and a hand-off to staff are counted apart, never in the auto-answer rate.
QUESTIONS = "outcome IN ('answered', 'confirm', 'escalated')"


def help_request_counts(store: Store) -> dict[str, int]:
    """Help requests by status, every status present (0 when none)."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in store.query("SELECT status, COUNT(*) AS n FROM help_requests GROUP BY status"):
        counts[row["status"]] = row["n"]
    return counts


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def collect(kb: KnowledgeBase, match_threshold: float) -> StatsPublic:
    store = kb.store
    asks_total = store.scalar(f"SELECT COUNT(*) FROM ask_log WHERE {QUESTIONS}")
    asks_answered = store.scalar("SELECT COUNT(*) FROM ask_log WHERE outcome = 'answered'")
    stored, tuned = calibration.load(store), tuning.load(store)
    return StatsPublic(
        help_requests=help_request_counts(store),
        asks_total=asks_total,
        asks_answered=asks_answered,
        auto_answer_rate=rate(asks_answered, asks_total),
        conversational_turns=store.scalar("SELECT COUNT(*) FROM ask_log WHERE outcome = 'replied'"),
        handoffs=store.scalar("SELECT COUNT(*) FROM ask_log WHERE outcome = 'handoff'"),
        knowledge_entries=kb.count(),
        phrasings_in_db=kb.phrasing_count(),
        phrasings_in_index=len(kb.index),
        outbox_pending=store.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"),
        outbox_dead=store.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'dead'"),
        pending_phrasings=store.scalar("SELECT COUNT(*) FROM pending_phrasings WHERE status = 'pending'"),
        match_threshold=match_threshold,
        calibration=asdict(stored) if stored else None,
        tune=asdict(tuned) if tuned else None,
    )


def start_of_today() -> datetime:
    """Midnight in the service's local time zone: the business's day, not UTC's."""
    return now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


def dashboard(store: Store) -> DashboardPublic:
    today = iso(start_of_today())
    day_ago = iso(now() - timedelta(hours=24))
    by_outcome = {
        r["outcome"]: r["n"]
        for r in store.query(
            "SELECT outcome, COUNT(*) AS n FROM ask_log WHERE asked_at >= ? GROUP BY outcome", (day_ago,)
        )
    }
    asks = sum(by_outcome.get(outcome, 0) for outcome in ("answered", "confirm", "escalated"))
    answered = by_outcome.get("answered", 0)
    return DashboardPublic(
        pending=help_request_counts(store)["pending"],
        resolved_today=store.scalar(
            "SELECT COUNT(*) FROM help_requests WHERE status = 'resolved' AND resolved_at >= ?", (today,)
        ),
        unresolved_today=store.scalar(
            "SELECT COUNT(*) FROM help_requests WHERE status = 'unresolved' AND expired_at >= ?", (today,)
        ),
        dismissed_today=store.scalar(
            "SELECT COUNT(*) FROM help_requests WHERE status = 'dismissed' AND dismissed_at >= ?", (today,)
        ),
        asks_last_24h=asks,
        answered_last_24h=answered,
        auto_answer_rate_24h=rate(answered, asks),
        conversational_last_24h=by_outcome.get("replied", 0),
        handoffs_last_24h=by_outcome.get("handoff", 0),
        today_starts_at=start_of_today(),
    )
