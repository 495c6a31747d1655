"""Call sessions: `POST /api/sessions` issues one; `GET /api/sessions/current` gives a new tab the one its browser
holds, to resume; its live channel streams the call's follow-ups as Server-Sent Events, to the holder of the
session's token only.

Each event carries its database id as the SSE `id`, so a reconnecting EventSource sends `Last-Event-ID`
and gets exactly what it missed: nothing lost, nothing repeated."""

import asyncio
import json
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from kb_service.api.deps import SESSION_COOKIE, RuntimeDep, SessionId, SessionTokenDep
from kb_service.api.streams import StreamHub
from kb_service.desk.session_history import current_session
from models import CurrentSession, SessionPublic

router = APIRouter(tags=["caller"])

MAX_CURSOR = 2**63 - 1  # SQLite's largest id
KEEPALIVE_SECONDS = 15.0


@router.post("/api/sessions", response_model=SessionPublic, status_code=201)
async def create_session(request: Request, response: Response, runtime: RuntimeDep) -> SessionPublic:
    """A new call session. Its token comes back in the body and as the HttpOnly cookie `fd_session`; send it
    (cookie or `X-Session-Token`) with every request that names the session."""
    # The address as uvicorn gives it: a proxy's X-Forwarded-For only from KB_TRUSTED_PROXIES.
    issued = await run_in_threadpool(runtime.sessions.issue, request.client.host if request.client else None)
    response.set_cookie(
        SESSION_COOKIE,
        issued.session_token,
        max_age=int(runtime.settings.session_ttl_seconds),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/api",
    )
    return SessionPublic(session_id=issued.session_id, session_token=issued.session_token, expires_at=issued.expires_at)


@router.get(
    "/api/sessions/current",
    response_model=CurrentSession,
    responses={204: {"description": "This browser holds no live call session"}},
)
async def current(runtime: RuntimeDep, token: SessionTokenDep) -> CurrentSession | Response:
    """The call session whose token comes with the request (the `fd_session` cookie), with its latest turns and
    what it waits for, so a new tab can resume the call. 204 when there is none, or it expired."""
    held = await run_in_threadpool(runtime.sessions.held, token)
    if held is None:
        return Response(status_code=204)
    return await run_in_threadpool(current_session, runtime.store, *held)


@router.get(
    "/api/sessions/{session_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        429: {"description": "KB_MAX_STREAMS_PER_IP streams already open from this client (Retry-After)"},
        503: {"description": "KB_MAX_STREAMS streams already open in all (Retry-After)"},
    },
)
async def session_events(
    request: Request,
    session_id: SessionId,
    runtime: RuntimeDep,
    token: SessionTokenDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_CURSOR)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None,
) -> StreamingResponse:
    """Follow-ups for this call: `event: followup`, data = {reference, status, question, answer, message}.
    403 without the session's token; 429 / 503 with Retry-After when too many streams are open."""
    await run_in_threadpool(runtime.sessions.check, session_id, token)
    hub: StreamHub = request.app.state.streams
    subscription = hub.subscribe(session_id, request.client.host if request.client else "unknown")
    cursor = last_event_id if last_event_id is not None else (after or 0)

    def fetch(since: int) -> list:
        return runtime.store.query(
            "SELECT id, event_type, payload FROM session_events WHERE session_id = ? AND id > ? ORDER BY id",
            (session_id, since),
        )

    async def stream():
        nonlocal cursor
        yield "retry: 1000\n\n"
        while not (runtime.stopping or hub.stopping or subscription.closed):
            subscription.wake.clear()  # before reading: a row committed after the read wakes us again
            for row in await run_in_threadpool(fetch, cursor):
                cursor = row["id"]
                data = json.dumps(json.loads(row["payload"]))
                yield f"id: {row['id']}\nevent: {row['event_type']}\ndata: {data}\n\n"
            try:
                await asyncio.wait_for(subscription.wake.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keepalive\n\n"

    return EventStream(stream(), release=lambda: hub.unsubscribe(subscription))


class EventStream(StreamingResponse):
    """Releases its stream slot however the response ends: done, client gone, or cancelled at shutdown."""

    def __init__(self, content, release: Callable[[], None]):
        super().__init__(
            content, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()
