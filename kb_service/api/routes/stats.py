"""What the supervisor's header and the operator see: `GET /api/stats` and `GET /api/dashboard`."""

from fastapi import APIRouter

from kb_service.api.deps import RuntimeDep, SupervisorDep
from kb_service.ops import stats
from models import DashboardPublic, StatsPublic

router = APIRouter(tags=["supervisor"])


@router.get("/api/stats", response_model=StatsPublic)
def get_stats(runtime: RuntimeDep, supervisor: SupervisorDep) -> StatsPublic:
    return stats.collect(runtime.kb, runtime.matcher.threshold)


@router.get("/api/dashboard", response_model=DashboardPublic)
def get_dashboard(runtime: RuntimeDep, supervisor: SupervisorDep) -> DashboardPublic:
    """Pending now, resolved and timed out since local midnight, and the auto-answer rate over 24 hours."""
    return stats.dashboard(runtime.store)
