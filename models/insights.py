"""`GET /api/insights?days=30`: how the agent is doing, day by day, and where the knowledge base falls short."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class InsightsCounts(BaseModel):
    questions: int  # asks: answered, confirmed first, or escalated
    auto_answered: int
    auto_answer_rate: float | None  # auto_answered / questions
    escalations: int  # asks that went to the supervisor
    resolved: int  # help requests the supervisor answered
    dismissed: int = 0  # help requests the supervisor dismissed as not a question (not counted in `escalations`)
    median_answer_seconds: float | None  # from a request opening to the supervisor's answer
    conversational_turns: int = 0  # turns the agent handled itself (`replied`: a greeting, thanks…): not questions
    handoffs: int = 0  # callers handed to staff (`handoff`): not questions


class InsightsDay(InsightsCounts):
    date: date  # in the service's time zone; escalations counted on the day asked, answers and dismissals on theirs


class EscalatedQuestion(BaseModel):
    """Questions that went to the supervisor, grouped by meaning (the embeddings stored with the requests).
    Dismissed requests are not questions, and are left out."""

    question: str  # the latest wording
    asks: int  # every caller who asked it, in the period
    requests: int
    unanswered: int  # of those requests, still pending or timed out
    last_asked_at: datetime
    help_request_ids: list[int]  # newest first


class UnusedEntry(BaseModel):
    id: int
    answer: str
    hit_count: int
    last_used_at: datetime | None
    created_at: datetime


class InsightsPublic(BaseModel):
    days: int
    since: datetime  # the first day's local midnight
    time_zone: str
    totals: InsightsCounts
    daily: list[InsightsDay]  # oldest first, every day present
    top_escalated: list[EscalatedQuestion]  # the most asked first
    unused_days: int
    unused_entries: list[UnusedEntry]  # not used in `unused_days` days, the longest unused first
    unused_total: int
