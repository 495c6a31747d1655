"""Supervisor routes refused before their body is read, and bearer-token guessing throttled per client IP.

Every `/api/...` route that is not a caller's, and `/metrics`, needs `Authorization: Bearer <token>`. Checked here,
outside the body cap, a request without the token gets 401 at once: a stranger cannot make the service read (or
wait for) a body it would refuse anyway. A client IP that sends WRONG_TOKENS_PER_MINUTE wrong tokens within a
minute gets 429 with Retry-After until the oldest of them is a minute old, whatever token it sends meanwhile
(the token is not even checked).
The routes' own dependency still checks the token (deps.require_supervisor)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from kb_service.api.middleware.responses import send_json
from kb_service.auth import token_matches

WRONG_TOKENS_PER_MINUTE = 10
WINDOW_SECONDS = 60.0
MAX_CLIENTS = 10_000
# The caller's own routes (a call session's token or none), everything else under /api/ is the supervisor's.
CALLER_PREFIXES = ("/api/sessions", "/api/confirmations/", "/api/livekit/")
CALLER_PATHS = {"/api/ask", "/api/transcribe", "/api/call-config"}
UNAUTHORIZED = "missing or wrong supervisor token: send 'Authorization: Bearer <KB_SUPERVISOR_TOKEN>'"


def is_supervisor_route(path: str) -> bool:
    if path == "/metrics":
        return True
    return path.startswith("/api/") and path not in CALLER_PATHS and not path.startswith(CALLER_PREFIXES)


class SupervisorGate:
    def __init__(self, app: ASGIApp, per_minute: int = WRONG_TOKENS_PER_MINUTE):
        self.app = app
        self.per_minute = per_minute
        self._wrong: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_supervisor_route(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        offered = any(k == b"authorization" for k, _ in scope.get("headers", ()))
        if offered and (wait := self._locked_for(client)) > 0:  # no token at all is simply 401
            retry = str(max(1, math.ceil(wait)))
            await send_json(send, 429, f"too many wrong supervisor tokens; retry in {retry} s", {"Retry-After": retry})
            return
        if not self._has_token(scope):
            await send_json(send, 401, UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)

    def _has_token(self, scope: Scope) -> bool:
        runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
        header = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), b"")
        scheme, _, given = header.decode("latin-1").partition(" ")
        if runtime is not None and scheme.lower() == "bearer" and token_matches(runtime.token, given.strip()):
            return True
        if scheme:  # a token was offered and it was wrong: a guess
            self._count(scope)
        return False

    def _count(self, scope: Scope) -> None:
        client = (scope.get("client") or ("unknown", 0))[0]
        with self._lock:
            if len(self._wrong) >= MAX_CLIENTS and client not in self._wrong:
                self._wrong.clear()  # bounded memory; a flood of addresses resets the counts
            self._wrong.setdefault(client, deque()).append(time.monotonic())

    def _locked_for(self, client: str) -> float:
        """Seconds until this client may try a token again (0: now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._wrong.get(client)
            if not failures:
                return 0.0
            while failures and failures[0] <= now - WINDOW_SECONDS:
                failures.popleft()
            if not failures:
                del self._wrong[client]
                return 0.0
            return failures[0] + WINDOW_SECONDS - now if len(failures) >= self.per_minute else 0.0
