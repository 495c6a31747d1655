"""The caller's live channel: follow-ups for one call, as Server-Sent Events.

Each event carries its database id as the SSE `id`, so a reconnecting EventSource sends `Last-Event-ID`
and gets exactly what it missed: nothing lost, nothing repeated."""

import asyncio
import json
import time
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from kb_service.api.deps import RuntimeDep

router = APIRouter(tags=["caller"])

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0

SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get(
    "/api/sessions/{session_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def session_events(
    request: Request,
    session_id: SessionId,
    runtime: RuntimeDep,
    last_event_id: Annotated[int | None, Header(ge=0)] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Follow-ups for this call: `event: followup`, data = {help_request_id, status, question, answer, message}."""
    cursor = last_event_id if last_event_id is not None else (after or 0)

    def fetch(since: int) -> list:
        return runtime.store.query(
            "SELECT id, event_type, payload FROM session_events WHERE session_id = ? AND id > ? ORDER BY id",
            (session_id, since),
        )

    async def stream():
        nonlocal cursor
        yield "retry: 1000\n\n"
        quiet_since = time.monotonic()
        while not runtime.stopping and not await request.is_disconnected():
            for row in await run_in_threadpool(fetch, cursor):
                cursor = row["id"]
                data = json.dumps(json.loads(row["payload"]))
                yield f"id: {row['id']}\nevent: {row['event_type']}\ndata: {data}\n\n"
                quiet_since = time.monotonic()
            if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
