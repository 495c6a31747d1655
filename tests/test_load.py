"""Load: 50 concurrent clients mixing ask, resolve and list over real HTTP for 60 s (FRONTDESK_LOAD_SECONDS to
change it). No 5xx, no "database is locked" anywhere, and the index still equals the database afterwards."""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import statistics
import threading
import time
from collections import Counter

import httpx
import pytest

from kb_service.api.app import create_app
from tests.support import AUTH, LiveServer, make_settings

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("FRONTDESK_LOAD_SECONDS", "60"))
CLIENTS = 50
KNOWN = ["when are you open?", "how much is a haircut?", "where are you located?"]


class Recorder(logging.Handler):
    """Every log line the service writes during the run, to look for lock errors and tracebacks."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()} {record.exc_text or ''}")


def test_fifty_clients_for_a_minute(embedder, data_dir):
    app = create_app(make_settings(data_dir, KB_ASK_RATE_LIMIT_PER_MINUTE=0), embedder)
    recorder = Recorder()
    logging.getLogger().addHandler(recorder)
    statuses: Counter = Counter()
    latencies: dict[str, list[float]] = {"ask": [], "resolve": [], "list": []}
    problems: list[str] = []
    lock = threading.Lock()
    try:
        with LiveServer(app) as server:
            stop_at = time.monotonic() + SECONDS

            def client(n: int) -> None:
                rng = random.Random(n)
                with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as http:
                    while time.monotonic() < stop_at:
                        roll = rng.random()
                        target = None
                        if roll < 0.25:  # the supervisor answers one of the oldest waiting requests
                            oldest = http.get("/api/help-requests?status=pending&order=oldest&limit=5").json()
                            target = rng.choice(oldest["items"])["id"] if oldest["items"] else None
                        started = time.perf_counter()
                        if target is not None:
                            kind = "resolve"
                            body = {"answer": f"Answer from client {n}.", "learn": rng.random() < 0.5}
                            response = http.post(f"/api/help-requests/{target}/resolve", json=body)
                        elif roll < 0.5:
                            kind = "list"
                            path = rng.choice(
                                [
                                    "/api/help-requests?status=pending&order=oldest",
                                    "/api/knowledge",
                                    "/api/stats",
                                    "/api/help-requests",
                                ]
                            )
                            response = http.get(path)
                        else:
                            kind = "ask"
                            question = (
                                rng.choice(KNOWN)
                                if rng.random() < 0.3
                                else f"Client {n} asks: can I book service {rng.randrange(10**6)} on a weekday?"
                            )
                            response = http.post(
                                "/api/ask", json={"question": question, "caller": {"phone": "555-010-7777"}}
                            )
                        latencies[kind].append(time.perf_counter() - started)
                        with lock:
                            statuses[(kind, response.status_code)] += 1
                        if response.status_code >= 500 or "database is locked" in response.text:
                            problems.append(f"{kind} {response.status_code}: {response.text[:200]}")

            threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=SECONDS + 120)
            assert not any(t.is_alive() for t in threads)
            with httpx.Client(base_url=server.url, headers=AUTH) as http:
                stats = http.get("/api/stats").json()
    finally:
        logging.getLogger().removeHandler(recorder)
    assert not problems, problems[:5]
    assert not [line for line in recorder.lines if "locked" in line or "Traceback" in line], recorder.lines[:5]
    for kind in ("ask", "resolve", "list"):
        assert statuses[(kind, 200)] > 0, statuses
    assert set(code for _, code in statuses) <= {200, 409}, statuses  # 409: the request was already resolved
    assert stats["phrasings_in_index"] == stats["phrasings_in_db"]
    with sqlite3.connect(data_dir / "frontdesk.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    total = sum(statuses.values())
    summary = {
        kind: f"{len(v)} requests, median {statistics.median(v) * 1000:.0f} ms, "
        f"p95 {statistics.quantiles(v, n=20)[-1] * 1000:.0f} ms"
        for kind, v in latencies.items()
    }
    print(f"{total} requests in {SECONDS:.0f} s ({total / SECONDS:.0f}/s): {summary}")
