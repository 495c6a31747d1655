"""Answer quality (`frontdesk stats --quality`): how often the agent answered by itself, asked the caller to
confirm or escalated; how often it escalated a question an existing entry already answered (a missed
auto-answer); and the live precision estimate from callers' and supervisors' verdicts (`matching/live.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kb_service.ops.stats import help_request_counts, rate
from kb_service.storage.store import Store
from models import LiveQualityPublic


@dataclass(frozen=True)
class Quality:
    asks: int
    auto_answered: int
    confirmations: int  # asks still waiting for the caller's yes or no
    escalated: int
    auto_answer_rate: float | None
    escalation_rate: float | None
    resolved_escalations: int
    missed_auto_answers: int  # resolved by pointing at an entry that existed before the question came in
    missed_rate: float | None  # of resolved escalations
    missed_median_score: float | None  # where those questions scored: how far the threshold is from them
    live: dict = field(default_factory=dict)  # LiveQualityPublic


def collect(store: Store, live: LiveQualityPublic) -> Quality:
    by_outcome = {
        r["outcome"]: r["n"] for r in store.query("SELECT outcome, COUNT(*) AS n FROM ask_log GROUP BY outcome")
    }
    asks = sum(by_outcome.values())
    answered, escalated = by_outcome.get("answered", 0), by_outcome.get("escalated", 0)
    resolved = help_request_counts(store)["resolved"]
    missed = store.query(
        "SELECT h.best_score FROM help_requests h JOIN knowledge_entries e ON e.id = h.knowledge_id"
        " WHERE h.status = 'resolved' AND e.created_at < h.created_at ORDER BY h.best_score"
    )
    scores = [r["best_score"] for r in missed if r["best_score"] is not None]
    return Quality(
        asks=asks,
        auto_answered=answered,
        confirmations=by_outcome.get("confirm", 0),
        escalated=escalated,
        auto_answer_rate=rate(answered, asks),
        escalation_rate=rate(escalated, asks),
        resolved_escalations=resolved,
        missed_auto_answers=len(missed),
        missed_rate=rate(len(missed), resolved),
        missed_median_score=round(scores[len(scores) // 2], 4) if scores else None,
        live=live.model_dump(),
    )
