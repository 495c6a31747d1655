"""Test helpers: deadline polling, a live uvicorn server, and a local webhook receiver (the outside world)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import uvicorn

from kb_service.config import Settings
from kb_service.storage.migrations import MIGRATIONS, statements_for
from kb_service.storage.store import Store

TOKEN = "test-supervisor-token-0123456789"
# 20 intents of CLINC150 and its out-of-scope queries, shipped with the tests (CC BY 3.0: see its README).
CLINC150 = Path(__file__).resolve().parent / "data" / "clinc150" / "subset.json"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# `pytestmark = BOTH_BACKENDS` runs a module's tests on SQLite and on PostgreSQL (conftest's `backend`).
BOTH_BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = {"KB_DATA_DIR": str(data_dir), "KB_SUPERVISOR_TOKEN": TOKEN, "KB_SWEEP_INTERVAL_SECONDS": 0.1}
    values.update({k: (str(v) if isinstance(v, Path) else v) for k, v in overrides.items()})
    return Settings(_env_file=None, **values)


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = ""):
    """Poll until `predicate()` is truthy and return its value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real app on a real port, in a thread of this process (so it can share the loaded model)."""

    def __init__(self, app, port: int | None = None, **options):
        """`port`: a given one, so a restarted service is where its clients reconnect. `options`: uvicorn's."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Open event streams (call pages, consoles) would hold a graceful shutdown forever: cut them after a second.
        options = {"timeout_graceful_shutdown": 1, **options}
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=60, what="uvicorn to start")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class Receiver:
    """A local HTTP endpoint standing in for a webhook consumer or SMS gateway. Records every POST.

    `script` is a list of status codes (or "drop" to close the connection) answered in turn; then 200.
    `delay`: seconds a slow consumer takes before it answers each request (recorded on arrival). `trickle`: it
    answers one byte every `trickle` seconds instead (a receiver that defeats per-read timeouts)."""

    def __init__(self, script: list | None = None, delay: float = 0.0, trickle: float = 0.0):
        self.requests: list[dict] = []
        self.script = list(script or [])
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    action = receiver.script.pop(0) if receiver.script else 200
                    if action != "drop":
                        receiver.requests.append(
                            {"headers": dict(self.headers), "body": body, "json": json.loads(body), "status": action}
                        )
                if action == "drop":
                    self.connection.close()
                    return
                time.sleep(delay)  # the consumer's own slowness, not a wait for an effect
                if trickle:
                    for byte in f"HTTP/1.1 {action} OK\r\nContent-Length: 0\r\n\r\n".encode():
                        try:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        except OSError:  # the sender gave up: as it should
                            return
                        time.sleep(trickle)
                    return
                self.send_response(action)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delivered(self, event_type: str | None = None) -> list[dict]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r["status"] == 200 and (event_type is None or r["json"]["type"] == event_type)
            ]


def open_session(client) -> tuple[str, dict[str, str]]:
    """A server-issued call session: its id, and the header that proves it is ours."""
    response = client.post("/api/sessions")
    assert response.status_code == 201, response.text
    body = response.json()
    return body["session_id"], {"X-Session-Token": body["session_token"]}


def verified_session(client, receiver: Receiver, phone: str) -> tuple[str, dict[str, str]]:
    """A call session whose caller proved `phone` with the code texted to `receiver` (the caller webhook)."""
    session_id, mine = open_session(client)
    sent = client.post(f"/api/sessions/{session_id}/phone", json={"phone": phone}, headers=mine)
    assert sent.status_code == 200, sent.text
    text = wait_for(
        lambda: [
            r["json"]["data"]["message"]
            for r in receiver.delivered("phone.verification")
            if r["json"]["data"]["session_id"] == session_id
        ],
        what="the code's text",
    )[-1]
    code = re.search(r"\b(\d{6})\b", text).group(1)
    verified = client.post(f"/api/sessions/{session_id}/phone/verify", json={"code": code}, headers=mine)
    assert verified.status_code == 200, verified.text
    return session_id, mine


def run_async(coroutine):
    """asyncio.run in a thread of its own: the session's Playwright browser keeps an event loop on this one."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def request_for(client, reference: int) -> int:
    """The supervisor's request id for a caller's `reference` (an ask's `reference` is the caller's own)."""
    items = client.get("/api/help-requests", params={"limit": 200}, headers=AUTH).json()["items"]
    return next(r["id"] for r in items if reference in [c["reference"] for c in r["callers"]])


def migrate_to(store: Store, last: int) -> None:
    """The schema as an older release left it: every migration up to `last`."""
    with store.write() as tx:
        tx.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version, steps in MIGRATIONS:
        if version <= last:
            with store.write() as tx:
                for statement in statements_for(store.dialect, steps):
                    tx.execute(store.ddl(statement))
                tx.execute("INSERT INTO schema_migrations VALUES (?, '2026-01-01')", (version,))
