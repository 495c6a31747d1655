"""429 with Retry-After once a client IP asks too often."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from kb_service.api.middleware.responses import send_json
from kb_service.desk.sessions import client_address
from kb_service.token_buckets import TokenBuckets


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
                # One client is one address, an IPv6 one its /64: rotating the low bits buys no more requests.
                wait = buckets.take(client_address((scope.get("client") or ("unknown", 0))[0]) or "unknown")
                if wait > 0:
                    if self.on_limited:
                        self.on_limited(rule)
                    retry_after = max(1, math.ceil(wait))
                    message = f"too many {rule.what} from this client; retry in {retry_after} s"
                    await send_json(send, 429, message, {"Retry-After": str(retry_after)})
                    return
        await self.app(scope, receive, send)
