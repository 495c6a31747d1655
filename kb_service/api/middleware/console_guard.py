"""401 on the console's Gradio API routes that Gradio leaves open."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from kb_service.api.middleware.responses import send_json
from kb_service.auth import token_matches


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
            await send_json(send, 401, "sign in to the supervisor console first", {"WWW-Authenticate": "Bearer"})
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
