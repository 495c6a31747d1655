"""The perimeter, as pure ASGI middleware: a cap on request bodies (413) and on how long they may stall (408),
a per-client rate on asks (429), and a sign-in check on the console's Gradio API routes that Gradio itself
leaves open. Below ASGI, `HeaderTimeoutProtocol` closes connections whose headers never finish.

Each answers before the app sees the request, so a flood of big or frequent asks costs almost nothing and
the supervisor's routes stay responsive."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kb_service.api.auth import token_matches

# Generous for a phone on a bad network sending a few hundred bytes, short enough that a client trickling bytes
# holds a connection for seconds rather than minutes.
HEADER_TIMEOUT_SECONDS = 10.0  # from connection, or from the end of the previous response, to the end of headers
BODY_TIMEOUT_SECONDS = 10.0  # without a byte of body arriving


async def _send_json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers take over `header_timeout` s."""

    # uvicorn 0.54 has no header timeout: a client sending half a request line holds the connection for ever.
    header_timeout = HEADER_TIMEOUT_SECONDS
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline and not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


class BodyLimit:
    """413 for a body over `max_bytes` (0: no cap), whether announced by Content-Length or streamed in chunks;
    408 and a closed connection when the body stalls for `read_timeout` seconds.

    The body is read (up to the cap) before the app runs, so the app never starts on a request it
    would have to abandon halfway."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        read_timeout: float = BODY_TIMEOUT_SECONDS,
        paths: dict[str, int] | None = None,
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.paths = paths or {}  # a cap of their own for these paths (such as recorded audio), whatever max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.paths.get(scope.get("path", ""), self.max_bytes)
        capped = max_bytes > 0
        too_large = f"request body is larger than {max_bytes} bytes"
        if max_bytes == self.max_bytes:
            too_large += " (KB_MAX_BODY_BYTES)"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    await _send_json(send, 400, "Content-Length is not a number")
                    return
                if capped and announced > max_bytes:
                    await _send_json(send, 413, too_large)
                    return
        buffered: list[Message] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                stalled = f"the request body stalled for {self.read_timeout:g} s"
                await _send_json(send, 408, stalled, {"Connection": "close"})
                return
            buffered.append(message)
            if message["type"] != "http.request":
                break  # the client went away; let the app see that
            size += len(message.get("body", b""))
            if capped and size > max_bytes:
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
