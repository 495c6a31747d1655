"""Call-backs: the supervisor's list (`GET /api/callbacks`, `POST /api/callbacks/{id}/done`) and a waiting
caller's "call me back instead" (`POST /api/sessions/{session_id}/callbacks`, with the session's token)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from kb_service.api.deps import RuntimeDep, SessionId, SessionTokenDep, SupervisorDep
from kb_service.desk import callbacks
from models.callbacks import CallbackDone, CallbackPage, CallbackPublic, CallbackRequest, CallbackRequested

router = APIRouter()


@router.get("/api/callbacks", response_model=CallbackPage, tags=["supervisor"])
def list_callbacks(
    runtime: RuntimeDep,
    supervisor: SupervisorDep,
    status: Literal["open", "done", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CallbackPage:
    """Callers to phone back, one per caller, with their full phone number: `open` (the longest waiting first),
    `done` (the latest first) or `all`."""
    return callbacks.listed(runtime.store, status, limit, offset)


@router.post("/api/callbacks/{callback_id}/done", response_model=CallbackPublic, tags=["supervisor"])
def mark_called_back(
    callback_id: int, runtime: RuntimeDep, supervisor: SupervisorDep, body: CallbackDone | None = None
) -> CallbackPublic:
    """Mark a call-back made, with an optional `note` (≤ 500 characters). 404 unknown, 409 marked already."""
    return callbacks.mark_done(runtime.store, callback_id, body.note if body else None)


@router.post("/api/sessions/{session_id}/callbacks", response_model=CallbackRequested, tags=["caller"])
def request_callback(
    session_id: SessionId, body: CallbackRequest, runtime: RuntimeDep, token: SessionTokenDep
) -> CallbackRequested:
    """A waiting caller asks to be called back at `phone` about the question of `reference` (their
    `help_request_id`). 403 without the session's token, 404 for a reference not of this call, 409 once answered."""
    runtime.sessions.check(session_id, token)
    return callbacks.request(runtime.store, session_id, body.reference, body.phone, body.name)
