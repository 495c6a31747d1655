"""`create_app(settings)`: the FastAPI service. Nothing is built at import time."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb_service.api.login_throttle import LoginThrottle
from kb_service.api.middleware.body_limit import BodyLimit
from kb_service.api.middleware.console_guard import ConsoleApiGuard
from kb_service.api.middleware.rate_limit import RateLimit, Rule
from kb_service.api.middleware.security_headers import SecurityHeaders
from kb_service.api.middleware.supervisor_gate import SupervisorGate
from kb_service.api.routes import (
    ask,
    audits,
    call_config,
    callbacks,
    confirmations,
    health,
    help_requests,
    insights,
    knowledge,
    knowledge_import,
    livekit,
    metrics,
    pending_phrasings,
    phones,
    sessions,
    stats,
    supervisors,
    transcribe,
)
from kb_service.api.streams import StreamHub
from kb_service.config import Settings
from kb_service.embedding import Embedder
from kb_service.errors import DomainError
from kb_service.ops.metrics import Metrics
from kb_service.runtime import Runtime
from kb_service.speech.audio import MAX_BYTES as MAX_AUDIO_BYTES
from supervisor_gradio.mount import mount_console

log = logging.getLogger("frontdesk")

AGENT_WEB = Path(__file__).resolve().parents[2] / "agent_web"


SESSIONS_PER_MINUTE = 20  # new call sessions a minute per client IP
LIVEKIT_TOKENS_PER_MINUTE = 10
STREAM_OPENS_PER_MINUTE = 60  # an EventSource reconnects about once a second while the network is down


def rate_rules(settings: Settings) -> list[Rule]:
    return [
        Rule("POST", "/api/ask", settings.ask_rate_limit_per_minute, "asks"),
        Rule("POST", "/api/confirmations/{id}", settings.ask_rate_limit_per_minute, "answers"),
        Rule("POST", "/api/transcribe", settings.ask_rate_limit_per_minute, "recordings"),
        Rule("POST", "/api/sessions", SESSIONS_PER_MINUTE, "new sessions"),
        Rule("POST", "/api/livekit/token", LIVEKIT_TOKENS_PER_MINUTE, "LiveKit tokens"),
        Rule("GET", "/api/sessions/{session_id}/events", STREAM_OPENS_PER_MINUTE, "event stream opens"),
    ]


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime = Runtime(settings, embedder)
        runtime.start()
        app.state.runtime = runtime
        app.state.streams = StreamHub(runtime.store, settings.max_streams_per_ip, settings.max_streams)
        runtime.on_change("events", app.state.streams.nudge)
        log.info("index %s; %d entries, %d phrasings", runtime.index_status, runtime.kb.count(), len(runtime.kb.index))
        try:
            await app.state.streams.start()
            yield
        finally:
            await app.state.streams.stop()
            runtime.stop()

    app = FastAPI(
        title="FrontDesk KB",
        version=version("frontdesk-kb"),  # the installed package's, from pyproject.toml
        lifespan=lifespan,
        description="An AI receptionist that answers from a learned knowledge base and asks a "
        "supervisor when it is not sure.",
    )

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's "error parsing the body", said plainly
            message = "the JSON body is nested too deeply"
            return JSONResponse({"detail": message, "message": message}, status_code=400)
        return await http_exception_handler(request, exc)

    @app.exception_handler(OverflowError)
    async def number_too_large(request: Request, exc: OverflowError) -> JSONResponse:
        # An id, offset or other integer beyond SQLite's 64-bit range: bad input, not a server fault.
        message = "a number in the request is too large (the largest allowed is 9223372036854775807)"
        detail = [{"loc": ["request"], "msg": message, "type": "too_large"}]
        return JSONResponse({"detail": detail, "message": message}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}" for e in errors
        )
        detail = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
        return JSONResponse({"detail": detail, "message": message}, status_code=422)

    # Starlette runs the last one added outermost: the rate limits, the supervisor gate and the console guard come
    # before the body cap, so a flooding client or a stranger on a supervisor route is turned away before its body
    # is even read.
    app.state.metrics = Metrics(app)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        paths={"/api/transcribe": MAX_AUDIO_BYTES},
        deadline=settings.body_deadline_seconds,
    )
    app.add_middleware(ConsoleApiGuard, path="/supervisor")
    app.add_middleware(SupervisorGate)
    app.add_middleware(RateLimit, rules=rate_rules(settings), on_limited=app.state.metrics.rate_limited)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(LoginThrottle, path="/supervisor")  # outermost: a guesser is turned away first
    routes = (
        ask,
        transcribe,
        confirmations,
        help_requests,
        knowledge,
        knowledge_import,
        audits,
        callbacks,
        supervisors,
        insights,
        sessions,
        phones,
        call_config,
        livekit,
        pending_phrasings,
        stats,
        metrics,
        health,
    )
    for module in routes:
        app.include_router(module.router)

    @app.get("/supervisor", include_in_schema=False)
    def console_without_slash() -> RedirectResponse:  # the URL people type and `frontdesk serve` prints
        return RedirectResponse("/supervisor/", status_code=307)

    mount_console(app)  # at /supervisor/; must stay above the catch-all "/" mount
    if (AGENT_WEB / "index.html").exists():
        app.mount("/", StaticFiles(directory=AGENT_WEB, html=True), name="agent_web")
    return app
