"""The service's counts: `GET /api/stats` and the console header's `GET /api/dashboard`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class StatsPublic(BaseModel):
    help_requests: dict[str, int]
    asks_total: int  # questions: asks answered, confirmed first or escalated
    asks_answered: int
    auto_answer_rate: float | None  # asks_answered / asks_total
    conversational_turns: int = 0  # turns the agent handled itself (`replied`): not questions
    handoffs: int = 0  # callers handed to staff (`handoff`): not questions
    knowledge_entries: int
    phrasings_in_db: int
    phrasings_in_index: int
    outbox_pending: int
    outbox_dead: int
    pending_phrasings: int = 0  # callers' confirmed wordings waiting for a supervisor (GET /api/pending-phrasings)
    match_threshold: float
    mode: Literal["ok", "degraded"] = "ok"
    # The stored self-calibration (`frontdesk calibrate --apply`), if any: threshold, target and estimates.
    calibration: dict | None = None
    # The last tune (`frontdesk tune`): status ("tuned", "kept_shipped", "too_small", "too_large"), note, the
    # held-out coverage of the shipped and the tuned scorer, and the adapter's thresholds.
    tune: dict | None = None


class DashboardPublic(BaseModel):
    """The counts at the top of the supervisor console."""

    pending: int
    resolved_today: int
    unresolved_today: int
    dismissed_today: int = 0
    asks_last_24h: int  # questions only: greetings, thanks and hand-offs are counted apart
    answered_last_24h: int
    auto_answer_rate_24h: float | None
    conversational_last_24h: int = 0  # turns the agent handled itself (`replied`)
    handoffs_last_24h: int = 0
    today_starts_at: datetime
