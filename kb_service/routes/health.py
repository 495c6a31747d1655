from fastapi import APIRouter

from kb_service import stats
from kb_service.deps import RuntimeDep, SupervisorDep
from models import StatsPublic

router = APIRouter()


@router.get("/healthz", tags=["ops"])
def healthz(runtime: RuntimeDep) -> dict:
    return {"status": "ok", "knowledge_entries": runtime.kb.count(), "index_size": len(runtime.kb.index)}


@router.get("/api/stats", response_model=StatsPublic, tags=["supervisor"])
def get_stats(runtime: RuntimeDep, supervisor: SupervisorDep) -> StatsPublic:
    return stats.collect(runtime.kb, runtime.matcher.threshold)
