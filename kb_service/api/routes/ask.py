"""POST /api/ask: a caller's question, answered from the knowledge base or escalated to the supervisor."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from starlette.background import BackgroundTask

from kb_service.api.deps import IdempotencyKeyHeader, RuntimeDep, SessionTokenDep
from kb_service.ops.metrics import Metrics
from kb_service.storage.idempotency import IdempotencyKey, client_scope
from models import AskRequest, AskResponse

router = APIRouter(tags=["caller"])


@router.post("/api/ask", response_model=AskResponse)
async def ask(
    body: AskRequest,
    runtime: RuntimeDep,
    request: Request,
    token: SessionTokenDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Answer from the knowledge base when confident, ask the caller to confirm when nearly so, otherwise
    escalate to the supervisor. With a `session_id`, the session's token is needed (403 otherwise) and
    follow-ups also arrive on its event stream.

    A retry with the same `Idempotency-Key` and body replays the first response (409 with another body)."""
    started = time.perf_counter()
    if body.session_id is not None:
        runtime.sessions.check(body.session_id, token)  # one primary-key read: no threadpool hop
    # Awaited, not run here: the model, the search and the commit run on the pipeline's threads.
    scope = client_scope("ask", token, request.client.host if request.client else None)
    response = await runtime.asks.submit(body, IdempotencyKey.of(scope, idempotency_key, body))
    return Response(
        response.model_dump_json(),
        media_type="application/json",
        background=BackgroundTask(_after_reply, request.app.state.metrics, response, started),
    )


async def _after_reply(metrics: Metrics, response: AskResponse, started: float) -> None:
    """Once the caller has the reply: count the ask (on the event loop: a plain function would cost each ask a
    hop to the thread pool, 8% of asks per second under load)."""
    metrics.ask_done(response.outcome.value, time.perf_counter() - started)
