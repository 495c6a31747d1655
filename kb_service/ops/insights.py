"""Insights for the console (`GET /api/insights`): questions, the auto-answer rate, escalations and the time to an
answer, day by day in the service's time zone; the questions that escalate most, grouped by meaning; and the
knowledge entries nobody has needed for a while.

Rows are bucketed here rather than with SQL date functions, so the same queries run on any SQL store."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta

import numpy as np

from kb_service.embedding import from_blob
from kb_service.ops.stats import rate, start_of_today
from kb_service.storage.store import Store, iso, now
from models.insights import EscalatedQuestion, InsightsCounts, InsightsDay, InsightsPublic, UnusedEntry

# Two escalated questions this close in meaning count as one. Lower than KB_DUPLICATE_THRESHOLD (0.92, which
# joins callers to one pending request) because these are rewordings asked days apart: a caller's paraphrase of
# a question scores about 0.72-0.96 against it with the default model (supervisor_gradio/views.py).
SAME_MEANING = 0.80
TOP_QUESTIONS = 10
UNUSED_DAYS = 30
UNUSED_SHOWN = 50
MAX_GROUPED = 5000  # the latest escalations grouped: bounded work however busy the period was


# Each ask with the status of the request it escalated to (an ask's `help_request_id` is its caller's reference).
_ASKS = (
    "SELECT a.asked_at, a.outcome, r.status AS request_status FROM ask_log a"
    " LEFT JOIN help_request_callers c ON c.id = a.help_request_id AND a.outcome = 'escalated'"
    " LEFT JOIN help_requests r ON r.id = c.help_request_id WHERE a.asked_at >= ?"
)


def local_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).astimezone().date()


def _counts(asks: list[str], resolve_seconds: list[float]) -> InsightsCounts:
    """`asks`: each ask's outcome, or `dismissed` for an escalation the supervisor dismissed (not a question)."""
    answered = asks.count("answered")
    dismissed = asks.count("dismissed")
    questions = len(asks) - dismissed - asks.count("replied") - asks.count("handoff")
    return InsightsCounts(
        questions=questions,
        auto_answered=answered,
        auto_answer_rate=rate(answered, questions),
        escalations=asks.count("escalated"),
        resolved=len(resolve_seconds),
        dismissed=dismissed,
        median_answer_seconds=round(statistics.median(resolve_seconds), 1) if resolve_seconds else None,
        conversational_turns=asks.count("replied"),
        handoffs=asks.count("handoff"),
    )


def collect(store: Store, days: int) -> InsightsPublic:
    since = start_of_today() - timedelta(days=days - 1)
    start = iso(since)
    outcomes: dict[date, list[str]] = defaultdict(list)
    for row in store.query(_ASKS, (start,)):
        dismissed = row["outcome"] == "escalated" and row["request_status"] == "dismissed"
        outcomes[local_day(row["asked_at"])].append("dismissed" if dismissed else row["outcome"])
    waits: dict[date, list[float]] = defaultdict(list)
    for row in store.query(
        "SELECT created_at, resolved_at FROM help_requests WHERE status = 'resolved' AND resolved_at >= ?", (start,)
    ):
        opened, answered = datetime.fromisoformat(row["created_at"]), datetime.fromisoformat(row["resolved_at"])
        waits[local_day(row["resolved_at"])].append((answered - opened).total_seconds())
    first = since.date()
    daily = [
        InsightsDay(date=day, **_counts(outcomes[day], waits[day]).model_dump())
        for day in (first + timedelta(days=n) for n in range(days))
    ]
    every_ask = [outcome for day_asks in outcomes.values() for outcome in day_asks]
    every_wait = [seconds for day_waits in waits.values() for seconds in day_waits]
    unused, unused_total = unused_entries(store)
    return InsightsPublic(
        days=days,
        since=since,
        time_zone=since.tzname() or "local",
        totals=_counts(every_ask, every_wait),
        daily=daily,
        top_escalated=top_escalated(store, start),
        unused_days=UNUSED_DAYS,
        unused_entries=unused,
        unused_total=unused_total,
    )


def top_escalated(store: Store, start: str) -> list[EscalatedQuestion]:
    """Help requests opened since `start`, grouped greedily by meaning (each joins the first group whose first
    question is at least SAME_MEANING alike), the groups most asked first. A group whose latest request was
    answered and learned is left out: that question is answered by itself now."""
    rows = store.query(
        "SELECT h.id, h.question, h.embedding, h.status, h.created_at, h.knowledge_id,"
        " (SELECT COUNT(*) FROM help_request_callers c WHERE c.help_request_id = h.id) AS callers"
        " FROM help_requests h WHERE h.created_at >= ? AND h.status != 'dismissed' ORDER BY h.id DESC LIMIT ?",
        (start, MAX_GROUPED),
    )
    if not rows:
        return []
    vectors = np.stack([from_blob(row["embedding"]) for row in rows])
    groups: list[list[int]] = []  # row positions, newest first; each group's first row stands for it
    heads = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    for position, vector in enumerate(vectors):
        scores = heads @ vector
        best = int(np.argmax(scores)) if len(scores) else -1
        if best >= 0 and scores[best] >= SAME_MEANING:
            groups[best].append(position)
        else:
            groups.append([position])
            heads = np.vstack([heads, vector])
    found = [
        EscalatedQuestion(
            question=rows[members[0]]["question"],
            asks=sum(max(rows[m]["callers"], 1) for m in members),
            requests=len(members),
            unanswered=sum(rows[m]["status"] != "resolved" for m in members),
            last_asked_at=rows[members[0]]["created_at"],
            help_request_ids=[rows[m]["id"] for m in members],
        )
        for members in groups
        if rows[members[0]]["knowledge_id"] is None
    ]
    found.sort(key=lambda group: (-group.asks, -group.help_request_ids[0]))
    return found[:TOP_QUESTIONS]


def unused_entries(store: Store) -> tuple[list[UnusedEntry], int]:
    """Entries not used to answer anyone in UNUSED_DAYS days (or ever), the longest unused first."""
    where = "WHERE last_used_at IS NULL OR last_used_at < ?"
    cutoff = (iso(now() - timedelta(days=UNUSED_DAYS)),)
    rows = store.query(
        f"SELECT id, answer, hit_count, last_used_at, created_at FROM knowledge_entries {where}"
        " ORDER BY COALESCE(last_used_at, created_at), id LIMIT ?",
        (*cutoff, UNUSED_SHOWN),
    )
    total = store.scalar(f"SELECT COUNT(*) FROM knowledge_entries {where}", cutoff)
    return [UnusedEntry(**dict(row)) for row in rows], total
