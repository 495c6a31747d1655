"""Callers' confirmed wordings waiting to become phrasings (`GET /api/pending-phrasings`), approved or dropped one
at a time (`POST /api/pending-phrasings/{id}/approve`, `/drop`) or in bulk (`POST /api/pending-phrasings/approve`,
`/drop`), for the supervisor."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from kb_service.api.deps import RuntimeDep, SupervisorDep
from models.pending_phrasings import (
    PendingPhrasingDecide,
    PendingPhrasingPage,
    PendingPhrasingPublic,
    PendingPhrasingsDecide,
    PendingPhrasingsDecided,
)

router = APIRouter(prefix="/api/pending-phrasings", tags=["supervisor"])


@router.get("", response_model=PendingPhrasingPage)
def list_pending_phrasings(
    runtime: RuntimeDep,
    supervisor: SupervisorDep,
    status: Literal["pending", "approved", "dropped", "added", "all"] = "pending",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PendingPhrasingPage:
    """Callers' words confirmed as meaning an entry, the most confirmed first (`status=pending`, the default), or
    those approved, dropped, added on their own after enough agreeing calls, or `all`."""
    return runtime.pending_phrasings.waiting(limit, offset, None if status == "all" else status)


@router.post("/approve", response_model=PendingPhrasingsDecided)
async def approve_pending_phrasings(
    body: PendingPhrasingsDecide, runtime: RuntimeDep, supervisor: SupervisorDep
) -> PendingPhrasingsDecided:
    """Each becomes a phrasing of its entry (answered from then on). Those decided already come back in `skipped`."""
    return await run_in_threadpool(
        runtime.pending_phrasings.decide, body.pending_phrasing_ids, True, body.decided_by or supervisor
    )


@router.post("/drop", response_model=PendingPhrasingsDecided)
def drop_pending_phrasings(
    body: PendingPhrasingsDecide, runtime: RuntimeDep, supervisor: SupervisorDep
) -> PendingPhrasingsDecided:
    """Never learned, nor proposed again. Those decided already come back in `skipped`."""
    return runtime.pending_phrasings.decide(body.pending_phrasing_ids, False, body.decided_by or supervisor)


@router.post("/{pending_phrasing_id}/approve", response_model=PendingPhrasingPublic)
async def approve_pending_phrasing(
    pending_phrasing_id: int, runtime: RuntimeDep, supervisor: SupervisorDep, body: PendingPhrasingDecide | None = None
) -> PendingPhrasingPublic:
    """It becomes a phrasing of its entry. 404 if unknown, 409 if decided already."""
    by = (body.decided_by if body else None) or supervisor
    return await run_in_threadpool(runtime.pending_phrasings.decide_one, pending_phrasing_id, True, by)


@router.post("/{pending_phrasing_id}/drop", response_model=PendingPhrasingPublic)
def drop_pending_phrasing(
    pending_phrasing_id: int, runtime: RuntimeDep, supervisor: SupervisorDep, body: PendingPhrasingDecide | None = None
) -> PendingPhrasingPublic:
    """Never learned, nor proposed again. 404 if unknown, 409 if decided already."""
    by = (body.decided_by if body else None) or supervisor
    return runtime.pending_phrasings.decide_one(pending_phrasing_id, False, by)
