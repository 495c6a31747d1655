"""413 for a body over its cap, 408 for one that stalls."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb_service.api.middleware.responses import send_json

BODY_TIMEOUT_SECONDS = 10.0  # without a byte of body arriving
# In all, however steadily it trickles: 1 MB (the largest body, a recording) takes seconds even on a poor phone
# network, while a client sending a byte every few seconds would otherwise hold its connection for hours.
BODY_DEADLINE_SECONDS = 30.0


class BodyLimit:
    """413 for a body over `max_bytes` (0: no cap), whether announced by Content-Length or streamed in chunks;
    408 and a closed connection when the body stalls for `read_timeout` seconds, or is not all there within
    `deadline` seconds.

    The body is read (up to the cap) before the app runs, so the app never starts on a request it
    would have to abandon halfway."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        read_timeout: float = BODY_TIMEOUT_SECONDS,
        paths: dict[str, int] | None = None,
        deadline: float = BODY_DEADLINE_SECONDS,
    ):
        self.app = app
        self.deadline = deadline
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
        loop = asyncio.get_running_loop()
        ends = loop.time() + self.deadline
        while True:
            left = ends - loop.time()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, min(self.read_timeout, left)))
            except TimeoutError:
                slow = f"the request body stalled for {self.read_timeout:g} s"
                if left <= self.read_timeout:
                    slow = f"the request body took over {self.deadline:g} s"
                await send_json(send, 408, slow, {"Connection": "close"})
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
