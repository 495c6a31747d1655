"""No page of this service may be framed by another site (clickjacking the console's "Send answer"), and the
console's sign-in cookie is never sent on another site's requests.

Every response gets `Content-Security-Policy: frame-ancestors 'none'` and `X-Frame-Options: DENY`. Gradio sets
its sign-in cookie `SameSite=None` (for Hugging Face Spaces, which embed apps in frames); here it becomes
`SameSite=Lax`: sent when the supervisor follows a link to the console (from Slack, say), never on a request
another site makes."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FRAMING = [(b"content-security-policy", b"frame-ancestors 'none'"), (b"x-frame-options", b"DENY")]
_SAME_SITE_NONE = re.compile(rb"samesite=none", re.IGNORECASE)


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, _SAME_SITE_NONE.sub(b"SameSite=Lax", value) if name.lower() == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                ]
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in FRAMING if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
