"""413 for a body over its cap, 408 for one that stalls."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb_service.api.middleware.responses import send_json

BODY_TIMEOUT_SECONDS = 10.0  # without a byte of body arriving


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
                    await send_json(send, 400, "Content-Length is not a number")
                    return
                if capped and announced > max_bytes:
                    await send_json(send, 413, too_large)
                    return
        buffered: list[Message] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                stalled = f"the request body stalled for {self.read_timeout:g} s"
                await send_json(send, 408, stalled, {"Connection": "close"})
                return
            buffered.append(message)
            if message["type"] != "http.request":
                break  # the client went away; let the app see that
            size += len(message.get("body", b""))
            if capped and size > max_bytes:
                await send_json(send, 413, too_large)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)
