"""Abuse over real HTTP: made-up X-Forwarded-For, half-sent headers and bodies, deeply nested JSON, huge cursors.

Servers run with the uvicorn options `frontdesk serve` uses (`server_options`), or as `frontdesk serve` itself
where the command line is what is under test."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kb_service.api.app import create_app
from kb_service.api.middleware.body_limit import BODY_TIMEOUT_SECONDS
from kb_service.api.middleware.header_timeout import HEADER_TIMEOUT_SECONDS
from kb_service.api.routes.sessions import MAX_CURSOR
from kb_service.cli import server_options
from tests.support import AUTH, LiveServer, free_port, make_settings, wait_for
from tests.test_security import routes as all_routes  # every route, mounted console included

ROOT = Path(__file__).resolve().parent.parent


def served(embedder, data_dir, **overrides) -> LiveServer:
    """The app in a thread of this process, with the uvicorn options of `frontdesk serve`."""
    settings = make_settings(data_dir, KB_DEMO=False, **overrides)
    return LiveServer(create_app(settings, embedder), **server_options(settings))


def asks_from(web: httpx.Client, forwarded_for: list[str]) -> list[int]:
    return [
        web.post("/api/ask", json={"question": f"question {i}?"}, headers={"X-Forwarded-For": ip}).status_code
        for i, ip in enumerate(forwarded_for)
    ]


MADE_UP = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]


class Serve:
    """`frontdesk serve` in a subprocess, its output in a file."""

    def __init__(self, tmp_path: Path, **env: str):
        self.port = free_port()
        self.out = tmp_path / "serve.out"
        self.env = {**os.environ, "KB_DATA_DIR": str(tmp_path / "data"), "KB_DEMO": "false", **env}
        self.env.pop("KB_SUPERVISOR_TOKEN", None)
        self.cwd = tmp_path  # no .env of the checkout

    def __enter__(self) -> Serve:
        with self.out.open("w") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kb_service", "serve", "--port", str(self.port)],
                cwd=self.cwd,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._healthy, timeout=60, what="frontdesk serve to answer")
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)

    def _healthy(self) -> bool:
        assert self.process.poll() is None, self.out.read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False


def test_frontdesk_serve_believes_no_forwarded_for_by_default(tmp_path):
    with (
        Serve(tmp_path, KB_ASK_RATE_LIMIT_PER_MINUTE="3", KB_TRUSTED_PROXIES="") as serve,
        httpx.Client(base_url=f"http://127.0.0.1:{serve.port}", timeout=30) as web,
    ):
        # Four made-up client addresses from one loopback client: one bucket of three.
        assert asks_from(web, MADE_UP) == [200, 200, 200, 429]
    token = (tmp_path / "data" / "supervisor_token").read_text().strip()
    assert f"Supervisor token:   {token}  (generated now" in serve.out.read_text()


def test_frontdesk_serve_does_not_print_a_token_it_did_not_generate(tmp_path):
    token = "an-existing-token-of-32-characters"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "supervisor_token").write_text(token + "\n")
    with Serve(tmp_path) as serve:
        pass
    printed = serve.out.read_text()
    assert token not in printed and "supervisor_token (not shown)" in printed


def test_trusted_proxy_addresses_count_separately(embedder, data_dir):
    with (
        served(embedder, data_dir, KB_ASK_RATE_LIMIT_PER_MINUTE=3, KB_TRUSTED_PROXIES="127.0.0.1") as server,
        httpx.Client(base_url=server.url, timeout=30) as web,
    ):
        assert asks_from(web, MADE_UP) == [200] * 4
        assert asks_from(web, ["203.0.113.9"] * 4) == [200, 200, 200, 429]


def read_response(sock: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(4096)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head.lower())[1])
    while len(body) < length:
        body += sock.recv(4096)
    return head


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_slow_headers_and_stalled_bodies_are_cut_off(embedder, data_dir):
    with served(embedder, data_dir) as server:
        started = time.monotonic()
        half_headers = socket.create_connection(("127.0.0.1", server.port))
        half_headers.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        half_body = socket.create_connection(("127.0.0.1", server.port))
        half_body.sendall(
            b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"question'
        )
        # A kept-alive connection that answers one request, then trickles the next request's headers.
        second_request = socket.create_connection(("127.0.0.1", server.port))
        second_request.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(second_request).startswith(b"HTTP/1.1 200")
        second_request.sendall(b"GET /healthz HTTP/1.1\r\n")
        limit = max(HEADER_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS) + 3
        for sock in (half_headers, half_body, second_request):
            sock.settimeout(limit)
        try:
            assert read_until_closed(half_headers) == b""
            assert time.monotonic() - started >= HEADER_TIMEOUT_SECONDS - 0.5
            answer = read_until_closed(half_body)
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert b"stalled" in answer
            assert read_until_closed(second_request) == b""
            assert time.monotonic() - started < limit
        finally:
            for sock in (half_headers, half_body, second_request):
                sock.close()
        # The server is none the worse.
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


DEEP = {
    "array": b"[" * 1000 + b"]" * 1000,
    "object": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "in a field": b'{"question": ' + b"[" * 5000 + b"]" * 5000 + b', "answer": "x"}',
}


@pytest.mark.parametrize("shape", list(DEEP))
def test_deeply_nested_json_is_a_clear_4xx_on_every_json_route(embedder, data_dir, shape):
    app = create_app(make_settings(data_dir, KB_DEMO=False), embedder)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as web:
        session = web.post("/api/sessions").json()
        routes = sorted((path, method) for path, method in all_routes(app.routes) if method in ("POST", "PATCH", "PUT"))
        assert ("/api/ask", "POST") in routes and ("/api/knowledge", "POST") in routes
        assert ("/api/help-requests/{help_request_id}/resolve", "POST") in routes
        answers = {}
        for path, method in routes:
            url = re.sub(r"\{(\w+)\}", lambda m: session["session_id"] if m[1] == "session_id" else "1", path)
            response = web.request(
                method,
                url,
                content=DEEP[shape],
                headers={"Content-Type": "application/json", "X-Session-Token": session["session_token"]},
            )
            answers[(method, path)] = response.status_code
            assert response.status_code < 500, (method, path, response.text)
            assert "Traceback" not in response.text and "RecursionError" not in response.text
            if response.status_code == 400 and path.startswith("/api/"):  # (Gradio says it its own way)
                assert response.json()["detail"] == "the JSON body is nested too deeply"
        assert answers[("POST", "/api/ask")] in (400, 422)
        assert answers[("POST", "/api/knowledge")] in (400, 422)


def test_cursors_beyond_sqlite_are_422_from_header_and_query(serve):
    with httpx.Client(base_url=serve(KB_DEMO=False).url, timeout=30) as web:
        session = web.post("/api/sessions").json()
        url = f"/api/sessions/{session['session_id']}/events"
        mine = {"X-Session-Token": session["session_token"]}
        too_big = str(MAX_CURSOR + 1)
        for response in (
            web.get(url, params={"after": too_big}, headers=mine),
            web.get(url, headers={**mine, "Last-Event-ID": too_big}),
            web.get(url, headers={**mine, "Last-Event-ID": "not-a-number"}),
            web.get(url, params={"after": "-1"}, headers=mine),
        ):
            assert response.status_code == 422, response.text
            assert "Traceback" not in response.text
        assert "less than or equal to 9223372036854775807" in web.get(url, params={"after": too_big}).text
        # The largest cursor itself is fine: the stream opens (and has nothing after it).
        with web.stream("GET", url, params={"after": str(MAX_CURSOR)}, headers=mine) as stream:
            assert stream.status_code == 200
            assert next(stream.iter_lines()) == "retry: 1000"
