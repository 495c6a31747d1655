"""Mount the console at `/supervisor` on the service's own FastAPI app.

The console still goes through HTTP: it calls the API on the socket the browser's request arrived on
(the ASGI scope's `server` address, which the client cannot forge, unlike the Host header), with the
service's own supervisor token."""

from __future__ import annotations

import threading

import gradio as gr
from fastapi import FastAPI, Response

from kb_service.auth import token_matches
from kb_service.desk import supervisors
from supervisor_gradio.api import ApiClient
from supervisor_gradio.console import AUTH_MESSAGE, CSS, HEAD, JS, THEME, USER, build_console


def local_base_url(request: gr.Request) -> str:
    if request.request is None:  # Gradio passes the HTTP request to every event it runs for a browser
        raise RuntimeError("the console's events need the browser's request")
    host, port = request.request.scope["server"]
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"http://{host}:{port}"


def mount_console(app: FastAPI, path: str = "/supervisor") -> FastAPI:
    """Sign-in: user `supervisor` with the supervisor token (read from the running service), or a named supervisor
    with their own password (`frontdesk supervisors add NAME`)."""
    clients: dict[str, ApiClient] = {}
    lock = threading.Lock()

    def token() -> str:
        return app.state.runtime.token

    def client_for(request: gr.Request) -> ApiClient:
        base = local_base_url(request)
        with lock:
            client = clients.get(base)
            if client is None:
                client = clients[base] = ApiClient(base, token())
            return client

    def check(username: str, password: str) -> bool:
        if username == USER:
            return token_matches(token(), password)
        return supervisors.verify(app.state.runtime.store, username, password)

    def no_favicon() -> Response:
        """Gradio's sign-in page asks for /favicon.ico: an empty answer, not a 404 in the log on every load."""
        return Response(status_code=204)

    app.add_api_route("/favicon.ico", no_favicon, include_in_schema=False)
    blocks = build_console(client_for)
    return gr.mount_gradio_app(
        app,
        blocks,
        path=path,
        auth=check,
        footer_links=[],
        css=CSS,
        js=JS,
        auth_message=AUTH_MESSAGE,
        theme=THEME,
        head=HEAD,
    )
