"""`GET /api/insights?days=30`: the console's Insights tab, as JSON."""

from typing import Annotated

from fastapi import APIRouter, Query

from kb_service.api.deps import RuntimeDep, SupervisorDep
from kb_service.ops import insights
from models.insights import InsightsPublic

router = APIRouter(tags=["supervisor"])


@router.get("/api/insights", response_model=InsightsPublic)
def get_insights(
    runtime: RuntimeDep, supervisor: SupervisorDep, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> InsightsPublic:
    """Day by day over the last `days` days (today included, 1-365): questions, auto-answer rate, escalations and
    median time to the supervisor's answer; the most-asked questions that escalated, grouped by meaning; and the
    entries not used in 30 days."""
    return insights.collect(runtime.store, days)
