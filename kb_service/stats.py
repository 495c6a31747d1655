"""Counts for `GET /api/stats` and `frontdesk stats`."""

from __future__ import annotations

from kb_service.knowledge import KnowledgeBase
from models import StatsPublic


def collect(kb: KnowledgeBase, match_threshold: float) -> StatsPublic:
    store = kb.store
    by_status = {s: 0 for s in ("pending", "resolved", "unresolved")}
    for row in store.query("SELECT status, COUNT(*) AS n FROM help_requests GROUP BY status"):
        by_status[row["status"]] = row["n"]
    asks_total = store.scalar("SELECT COUNT(*) FROM ask_log")
    asks_answered = store.scalar("SELECT COUNT(*) FROM ask_log WHERE outcome = 'answered'")
    return StatsPublic(
        help_requests=by_status,
        asks_total=asks_total,
        asks_answered=asks_answered,
        auto_answer_rate=round(asks_answered / asks_total, 4) if asks_total else None,
        knowledge_entries=kb.count(),
        phrasings_in_db=kb.phrasing_count(),
        phrasings_in_index=len(kb.index),
        outbox_pending=store.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"),
        outbox_dead=store.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'dead'"),
        match_threshold=match_threshold,
        calibration=_calibration(store),
    )


def _calibration(store) -> dict | None:
    from dataclasses import asdict

    from kb_service import calibration

    stored = calibration.load(store)
    return asdict(stored) if stored else None
