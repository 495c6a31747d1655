"""Console sign-in throttling, as pure ASGI middleware around Gradio's login route (`POST /supervisor/login`).

Gradio checks the password but never slows a guesser down. Here every sign-in attempt from a client IP counts
as a failure until it succeeds; after `free_failures` of them each further attempt must wait 1, 2, 4, … s,
and `lockout_after` of them lock that IP out for `lockout_seconds`. A waiting or locked-out client gets 429 with
Retry-After and its password is never checked. Counting at the start of an attempt, not at its answer, means
parallel guesses are throttled like sequential ones. A success forgets the client's failures."""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb_service.desk.sessions import client_address

log = logging.getLogger("frontdesk.security")

FREE_FAILURES = 3
LOCKOUT_AFTER = 10
LOCKOUT_SECONDS = 15 * 60.0


def socket_address(scope: Scope) -> str:
    return (scope.get("client") or ("unknown", 0))[0]


async def _too_many(send: Send, retry_after: int) -> None:
    body = json.dumps({"detail": f"too many failed sign-ins from this address; retry in {retry_after} s"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0  # no attempt before this (monotonic seconds)


class LoginThrottle:
    MAX_CLIENTS = 10_000  # beyond this, the quiet clients are forgotten so memory stays bounded

    def __init__(
        self,
        app: ASGIApp,
        path: str = "/supervisor",
        free_failures: int = FREE_FAILURES,
        lockout_after: int = LOCKOUT_AFTER,
        lockout_seconds: float = LOCKOUT_SECONDS,
        client_ip: Callable[[Scope], str] = socket_address,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.app = app
        self.login_path = f"{path.rstrip('/')}/login"
        self.free_failures = free_failures
        self.lockout_after = lockout_after
        self.lockout_seconds = lockout_seconds
        self.client_ip = client_ip
        self.clock = clock
        self._clients: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def _is_login(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope.get("method") != "POST":
            return False
        return re.sub("/+", "/", scope.get("path", "")).rstrip("/") == self.login_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._is_login(scope):
            await self.app(scope, receive, send)
            return
        client = client_address(self.client_ip(scope)) or "unknown"  # an IPv6 client as its /64
        wait, attempt = self._attempt(client)
        if wait > 0:
            await _too_many(send, max(1, math.ceil(wait)))
            return
        status = 500  # the app failing before it answered is a failed attempt too

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if status == 200:
                self._succeeded(client)
            else:
                self._failed(client, status, attempt)

    def _attempt(self, client: str) -> tuple[float, int]:
        """(0, its number) for an attempt, counted as a failure until it succeeds; or (seconds to wait, 0)."""
        now = self.clock()
        with self._lock:
            failures = self._clients.get(client)
            if failures is not None and now >= failures.blocked_until + self.lockout_seconds:
                failures = None  # quiet for a whole lockout period: a fresh start
            if failures is None:
                if len(self._clients) >= self.MAX_CLIENTS:
                    self._forget_quiet(now)
                failures = self._clients[client] = _Failures()
            if now < failures.blocked_until:
                return failures.blocked_until - now, 0
            failures.count += 1
            if failures.count >= self.lockout_after:
                failures.blocked_until = now + self.lockout_seconds
            elif failures.count >= self.free_failures:
                failures.blocked_until = now + 2.0 ** (failures.count - self.free_failures)
            else:
                failures.blocked_until = now
            return 0.0, failures.count

    def _succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def _failed(self, client: str, status: int, count: int) -> None:
        # Never the password, nor the user name (people type their password into it).
        log.warning(
            "console sign-in failed from %s (status %d, %d in a row)",
            client,
            status,
            count,
            extra={"client_ip": client, "failures": count},
        )
        if count == self.lockout_after:
            log.warning(
                "console sign-in locked for %s for %d s after %d failures",
                client,
                self.lockout_seconds,
                count,
                extra={"client_ip": client, "failures": count},
            )

    def _forget_quiet(self, now: float) -> None:
        for client, failures in list(self._clients.items()):
            if now >= failures.blocked_until + self.lockout_seconds:
                del self._clients[client]
        while len(self._clients) >= self.MAX_CLIENTS:  # a flood of fresh addresses: the oldest go first
            del self._clients[next(iter(self._clients))]
