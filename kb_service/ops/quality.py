"""Answer quality from the ask log (`frontdesk stats --quality`): how often the agent answered by itself, and
how often it escalated a question that an existing entry already answered (a missed auto-answer)."""

from __future__ import annotations

from dataclasses import dataclass

from kb_service.ops.stats import help_request_counts, rate
from kb_service.storage.store import Store


@dataclass(frozen=True)
class Quality:
    asks: int
    auto_answered: int
    escalated: int
    auto_answer_rate: float | None
    escalation_rate: float | None
    resolved_escalations: int
    missed_auto_answers: int  # resolved by pointing at an entry that existed before the question came in
    missed_rate: float | None  # of resolved escalations
    missed_median_score: float | None  # where those questions scored: how far the threshold is from them


def collect(store: Store) -> Quality:
    asks = store.scalar("SELECT COUNT(*) FROM ask_log") or 0
    answered = store.scalar("SELECT COUNT(*) FROM ask_log WHERE outcome = 'answered'") or 0
    escalated = asks - answered
    resolved = help_request_counts(store)["resolved"]
    missed = store.query(
        "SELECT h.best_score FROM help_requests h JOIN knowledge_entries e ON e.id = h.knowledge_id"
        " WHERE h.status = 'resolved' AND e.created_at < h.created_at ORDER BY h.best_score"
    )
    scores = [r["best_score"] for r in missed if r["best_score"] is not None]
    return Quality(
        asks=asks,
        auto_answered=answered,
        escalated=escalated,
        auto_answer_rate=rate(answered, asks),
        escalation_rate=rate(escalated, asks),
        resolved_escalations=resolved,
        missed_auto_answers=len(missed),
        missed_rate=rate(len(missed), resolved),
        missed_median_score=round(scores[len(scores) // 2], 4) if scores else None,
    )
