"""POST /api/ask: a caller's question, answered from the knowledge base or escalated to the supervisor.

Two doors lead to the same `answer()`. The FastAPI route is the documented one (OpenAPI, validation errors).
`AskFastPath`, a pure ASGI middleware, takes the common case, a well-formed JSON ask, straight to the ask
pipeline without FastAPI's per-request machinery (routing, dependency resolution, response handling): that
machinery cost about 0.4 ms of a 7 ms ask (docs/performance.md). Whatever the fast path is not sure of, it
passes on to the route untouched, so errors read the same whichever door a request came through."""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb_service import metrics
from kb_service.deps import RuntimeDep
from kb_service.errors import DomainError
from kb_service.idempotency import MAX_KEY_CHARS, IdempotencyKey, IdempotencyKeyHeader
from kb_service.runtime import Runtime
from models import AskRequest, AskResponse

PATH = "/api/ask"

router = APIRouter(tags=["caller"])


async def answer(runtime: Runtime, body: AskRequest, key: IdempotencyKey | None) -> AskResponse:
    # Awaited, not run here: the model, the search and the commit run on the pipeline's threads.
    return await runtime.asks.ask(body, key)


def after_reply(runtime: Runtime, counters: metrics.Metrics, response: AskResponse, started: float) -> None:
    """Once the caller has the reply: count the ask (its latency includes sending the reply), and wake the
    outbox for the supervisor's notification of a new escalation (woken earlier, its thread would compete with
    sending the reply). Both run before the server reads another request on this event loop."""
    counters.ask_done(response.outcome.value, time.perf_counter() - started)
    if response.help_request_id is not None:
        runtime.outbox_worker.wake()


@router.post(PATH, response_model=AskResponse)
async def ask(body: AskRequest, runtime: RuntimeDep, request: Request,
              idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Answer from the knowledge base when confident; otherwise escalate to the supervisor.

    A retry with the same `Idempotency-Key` and body replays the first response (409 with another body)."""
    started = time.perf_counter()
    response = await answer(runtime, body, IdempotencyKey.of("ask", idempotency_key, body))
    # Already an AskResponse: sent as it is rather than validated a second time against response_model.
    return Response(response.model_dump_json(), media_type="application/json",
                    background=BackgroundTask(_after_reply, runtime, metrics.of(request), response, started))


async def _after_reply(*args) -> None:  # async: no threadpool hop
    after_reply(*args)


class AskFastPath:
    """Serves a well-formed `POST /api/ask` itself; hands anything else to the app (see the module docstring)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.served = 0  # asks it answered itself (for the tests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        received: list[Message] = []
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        parsed = _well_formed(scope, received)
        if parsed is None:
            async def replay() -> Message:
                return received.pop(0) if received else await receive()

            await self.app(scope, replay, send)
            return
        app = scope["app"]
        self.served += 1
        try:
            response = await answer(app.state.runtime, *parsed)
        except DomainError as exc:  # what the app's DomainError handler would send
            await JSONResponse({"detail": exc.message}, status_code=exc.status_code)(scope, receive, send)
            return
        # The same bytes and headers as the route's Response, sent straight to the server.
        payload = response.model_dump_json().encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(payload)).encode()),
                                (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})
        after_reply(app.state.runtime, app.state.metrics, response, started)


def _well_formed(scope: Scope, received: list[Message]) -> tuple[AskRequest, IdempotencyKey | None] | None:
    """The ask and its idempotency key, when the route would accept them as they are; otherwise None."""
    if received[-1]["type"] != "http.request":  # the client went away; let the app see that
        return None
    content_types, keys = [], []
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_types.append(value)
        elif name == b"idempotency-key":
            keys.append(value.decode("latin-1"))
    if len(content_types) != 1 or content_types[0].split(b";")[0].strip().lower() != b"application/json":
        return None  # FastAPI reads JSON only with a JSON content type (and "+json" ones, left to it here)
    if len(keys) > 1 or (keys and not 1 <= len(keys[0]) <= MAX_KEY_CHARS):
        return None
    try:
        body = AskRequest.model_validate(json.loads(b"".join(m.get("body", b"") for m in received)))
    except (ValueError, ValidationError):  # not JSON, or not a valid ask: the route says why
        return None
    return body, IdempotencyKey.of("ask", keys[0] if keys else None, body)
