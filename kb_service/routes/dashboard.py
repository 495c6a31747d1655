"""`GET /api/dashboard`: the counts at the top of the supervisor console ("today" and "last 24 hours")."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel

from kb_service.deps import RuntimeDep, SupervisorDep
from kb_service.store import iso, now

router = APIRouter()


class DashboardPublic(BaseModel):
    pending: int
    resolved_today: int
    unresolved_today: int
    asks_last_24h: int
    answered_last_24h: int
    auto_answer_rate_24h: float | None
    today_starts_at: datetime


def start_of_today() -> datetime:
    """Midnight in the service's local time zone: the business's day, not UTC's."""
    return now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


@router.get("/api/dashboard", response_model=DashboardPublic, tags=["supervisor"])
def get_dashboard(runtime: RuntimeDep, supervisor: SupervisorDep) -> DashboardPublic:
    """Pending now, resolved and timed out since local midnight, and the auto-answer rate over 24 hours."""
    store = runtime.store
    today = iso(start_of_today())
    day_ago = iso(now() - timedelta(hours=24))
    asks = store.scalar("SELECT COUNT(*) FROM ask_log WHERE asked_at >= ?", (day_ago,))
    answered = store.scalar("SELECT COUNT(*) FROM ask_log WHERE asked_at >= ? AND outcome = 'answered'",
                            (day_ago,))
    return DashboardPublic(
        pending=store.scalar("SELECT COUNT(*) FROM help_requests WHERE status = 'pending'"),
        resolved_today=store.scalar(
            "SELECT COUNT(*) FROM help_requests WHERE status = 'resolved' AND resolved_at >= ?", (today,)),
        unresolved_today=store.scalar(
            "SELECT COUNT(*) FROM help_requests WHERE status = 'unresolved' AND expired_at >= ?", (today,)),
        asks_last_24h=asks,
        answered_last_24h=answered,
        auto_answer_rate_24h=round(answered / asks, 4) if asks else None,
        today_starts_at=start_of_today(),
    )
