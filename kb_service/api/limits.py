"""The perimeter, as pure ASGI middleware: a cap on request bodies (413), a per-client rate on asks (429),
and a sign-in check on the console's Gradio API routes that Gradio itself leaves open.

Each answers before the app sees the request, so a flood of big or frequent asks costs almost nothing and
the supervisor's routes stay responsive."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb_service.api.auth import token_matches


async def _send_json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over `max_bytes`, whether announced by Content-Length or streamed in chunks.

    The body is read (up to the cap) before the app runs, so the app never starts on a request it
    would have to abandon halfway."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        too_large = f"request body is larger than {self.max_bytes} bytes (KB_MAX_BODY_BYTES)"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    await _send_json(send, 400, "Content-Length is not a number")
                    return
                if announced > self.max_bytes:
                    await _send_json(send, 413, too_large)
                    return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break  # the client went away; let the app see that
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await _send_json(send, 413, too_large)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


class TokenBuckets:
    """Per-client token buckets: `per_minute` requests a minute on average, bursts up to `per_minute`."""

    MAX_CLIENTS = 10_000  # beyond this, full buckets are forgotten so memory stays bounded

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Spend one token; returns 0 if allowed, otherwise the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.refill_per_second)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                if len(self._buckets) > self.MAX_CLIENTS:
                    self._forget_full(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.refill_per_second

    def _forget_full(self, now: float) -> None:
        for client, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.refill_per_second >= self.capacity:
                del self._buckets[client]


@dataclass(frozen=True)
class Rule:
    """At most `per_minute` requests a minute from one client IP (bursts up to as many) to `method path`; a
    `{...}` segment of the path matches any one segment. 0 turns the rule off."""

    method: str
    path: str
    per_minute: int
    what: str  # for the 429 message: "asks", "new sessions", …

    def matches(self, method: str, path: str) -> bool:
        if method != self.method:
            return False
        want, got = self.path.split("/"), path.split("/")
        return len(want) == len(got) and all(w == g or w.startswith("{") for w, g in zip(want, got))


class RateLimit:
    """429 with Retry-After once a client IP exceeds a rule's rate; each rule keeps its own buckets."""

    def __init__(self, app: ASGIApp, rules: list[Rule], on_limited: Callable[[Rule], None] | None = None):
        self.app = app
        self.rules = [(rule, TokenBuckets(rule.per_minute)) for rule in rules if rule.per_minute > 0]
        self.on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for rule, buckets in self.rules:
                if not rule.matches(scope.get("method", ""), scope.get("path", "")):
                    continue
                wait = buckets.take((scope.get("client") or ("unknown", 0))[0])
                if wait > 0:
                    if self.on_limited:
                        self.on_limited(rule)
                    retry_after = max(1, math.ceil(wait))
                    message = f"too many {rule.what} from this client; retry in {retry_after} s"
                    await _send_json(send, 429, message, {"Retry-After": str(retry_after)})
                    return
        await self.app(scope, receive, send)


class ConsoleApiGuard:
    """401 on the console's Gradio API routes without a console sign-in or the supervisor token.

    Gradio checks sign-in on most of its API routes but not all (`cancel`, `reset`, `heartbeat`, `stream`,
    `startup-events`, ...). Only what the sign-in page itself needs stays open."""

    OPEN = {"user", "user/", "token", "token/", "app_id", "app_id/", "theme.css", "login_check", "login_check/"}

    def __init__(self, app: ASGIApp, path: str = "/supervisor"):
        self.app = app
        self.prefix = f"{path}/gradio_api/"
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] in ("http", "websocket")
            and path.startswith(self.prefix)
            and path[len(self.prefix) :] not in self.OPEN
            and not self._signed_in(scope)
        ):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _send_json(send, 401, "sign in to the supervisor console first", {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)

    def _signed_in(self, scope: Scope) -> bool:
        outer = scope.get("app")
        connection = HTTPConnection(scope)
        runtime = getattr(getattr(outer, "state", None), "runtime", None)
        scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
        if runtime is not None and scheme.lower() == "bearer" and token_matches(runtime.token, credentials):
            return True
        console = next(
            (r.app for r in getattr(outer, "routes", ()) if isinstance(r, Mount) and r.path == self.path), None
        )
        tokens, cookie_id = getattr(console, "tokens", None), getattr(console, "cookie_id", None)
        if tokens is None or cookie_id is None:
            return False
        for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
            value = connection.cookies.get(name)
            if value and value in tokens:
                return True
        return False
