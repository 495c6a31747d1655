"""`POST /api/confirmations/{confirmation_id}`: the caller's yes or no to "Just to check — are you asking …?"."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool

from kb_service.api.deps import RuntimeDep, SessionTokenDep
from models import AskResponse, ConfirmationAnswer

router = APIRouter(tags=["caller"])

ConfirmationId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.post(
    "/api/confirmations/{confirmation_id}",
    response_model=AskResponse,
    responses={404: {"description": "No such confirmation"}, 409: {"description": "Answered already, or expired"}},
)
async def answer_confirmation(
    confirmation_id: ConfirmationId,
    body: ConfirmationAnswer,
    runtime: RuntimeDep,
    request: Request,
    token: SessionTokenDep,
) -> AskResponse:
    """Yes gives the entry's answer (`answered`) and, in a call session, keeps the caller's words as a pending
    phrasing of the entry; no asks the supervisor (`escalated`). A confirmation asked in a call session needs that
    session's token (403 otherwise)."""
    if (session_id := runtime.confirmations.session_of(confirmation_id)) is not None:
        runtime.sessions.check(session_id, token)
    client_ip = request.client.host if request.client else None  # the proxy's client, behind KB_TRUSTED_PROXIES
    response = await run_in_threadpool(runtime.confirmations.settle, confirmation_id, body.confirmed, client_ip)
    request.app.state.metrics.ask_done(response.outcome.value, 0.0)
    return response
