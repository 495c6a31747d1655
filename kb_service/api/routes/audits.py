"""The audit queue (`GET /api/audits`, `POST /api/audits/{id}`) and the live precision estimate
(`GET /api/quality`), for the supervisor."""

from typing import Annotated

from fastapi import APIRouter, Query

from kb_service.api.deps import RuntimeDep, SupervisorDep
from models import AuditPage, AuditPublic, AuditVerdict, LiveQualityPublic

router = APIRouter(tags=["supervisor"])


@router.get("/api/audits", response_model=AuditPage)
def list_audits(
    runtime: RuntimeDep,
    supervisor: SupervisorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    """Sampled auto-answers waiting for a verdict, oldest first."""
    return runtime.audits.waiting(limit, offset)


@router.post("/api/audits/{audit_id}", response_model=AuditPublic)
def review_audit(audit_id: int, body: AuditVerdict, runtime: RuntimeDep, supervisor: SupervisorDep) -> AuditPublic:
    """Mark an auto-answer right (`correct: true`) or wrong. 409 if it was marked already."""
    return runtime.audits.review(audit_id, body.correct)


@router.get("/api/quality", response_model=LiveQualityPublic)
def live_quality(runtime: RuntimeDep, supervisor: SupervisorDep) -> LiveQualityPublic:
    """Precision of auto-answers from callers' confirmations, resolves and audits, with its 95% interval."""
    return runtime.live_quality()
