"""Crash durability: the real service as its own process, `kill -9` at a random moment under load, restart.

Every write the service acknowledged (2xx) must be in the database after the restart, the index must equal
the database, and SQLite's integrity check must pass. On PostgreSQL the killed process is a `frontdesk serve` on
the test cluster's database. FRONTDESK_STRESS=1 runs more operations per round."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from kb_service.embedding import DIMENSION
from kb_service.knowledge.index import VectorIndex
from tests.postgres_support import connect_db
from tests.support import AUTH, BOTH_BACKENDS, TOKEN, free_port, request_for, wait_for

ROUNDS = 10
OPERATIONS = 400 if os.environ.get("FRONTDESK_STRESS") else 200
THREADS = 16
ROOT = Path(__file__).resolve().parent.parent


class ServiceProcess:
    """`python -m kb_service serve` on a free port with its own data dir; killed or stopped by the test."""

    def __init__(self, data_dir: Path, *serve_args: str, **env: str):
        self.data_dir = data_dir
        self.serve_args = list(serve_args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KB_DATA_DIR": str(data_dir),
            "KB_SUPERVISOR_TOKEN": TOKEN,
            "KB_SWEEP_INTERVAL_SECONDS": "0.05",
            "KB_ASK_RATE_LIMIT_PER_MINUTE": "0",
            **env,
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> ServiceProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = open(self.data_dir / f"serve-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kb_service", "serve", "--port", str(self.port), *self.serve_args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def healthy() -> bool:
            assert self.proc.poll() is None, f"service exited: {self.log_text()[-2000:]}"
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=180, interval=0.2, what="the service to start")
        return self

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.data_dir.glob("serve-*.log")))

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Load:
    """16 threads asking and resolving; every 2xx is written down before the next request."""

    def __init__(self, url: str, round_no: int, limit: int):
        self.url = url
        self.round_no = round_no
        self.limit = limit
        self.lock = threading.Lock()
        self.sent = 0
        self.asks: list[dict] = []  # acknowledged asks: question + response
        self.resolves: list[dict] = []  # acknowledged resolves: id, answer, response
        self.errors: list[str] = []

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._worker, args=(n,), daemon=True) for n in range(THREADS)]
        for t in threads:
            t.start()
        return threads

    def acknowledged(self) -> int:
        with self.lock:
            return len(self.asks) + len(self.resolves)

    def _next(self) -> bool:
        with self.lock:
            self.sent += 1
            return self.sent <= self.limit

    def _worker(self, n: int) -> None:
        rng = random.Random(f"{self.round_no}-{n}")
        with httpx.Client(base_url=self.url, headers=AUTH, timeout=30) as http:
            while self._next():
                try:
                    target = None
                    if rng.random() < 0.4:  # the supervisor answers one of the oldest waiting requests
                        oldest = http.get("/api/help-requests?status=pending&order=oldest&limit=5").json()["items"]
                        target = rng.choice(oldest)["id"] if oldest else None
                    if target is None:
                        self._ask(http, rng, n)
                    else:
                        self._resolve(http, target, n)
                except httpx.TransportError:
                    return  # the service was killed
                except Exception as exc:  # reported by the test
                    self.errors.append(repr(exc))
                    return

    def _ask(self, http: httpx.Client, rng: random.Random, n: int) -> None:
        word = "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(4))
        phone = f"+1 555 01{rng.randrange(10):d} {rng.randrange(10000):04d}"
        question = f"Round {self.round_no}: do you offer the {word} treatment? Thread {n}, call {phone}"
        response = http.post("/api/ask", json={"question": question, "caller": {"phone": phone}})
        if response.status_code // 100 == 2:
            body = response.json()
            with self.lock:
                self.asks.append({"question": question, "response": body})
        elif response.status_code >= 500:
            self.errors.append(f"ask {response.status_code}: {response.text[:200]}")

    def _resolve(self, http: httpx.Client, request_id: int, n: int) -> None:
        answer = f"Answer for request {request_id} from round {self.round_no}, thread {n}."
        response = http.post(f"/api/help-requests/{request_id}/resolve", json={"answer": answer})
        if response.status_code // 100 == 2:
            with self.lock:
                self.resolves.append({"id": request_id, "answer": answer, "response": response.json()})
        elif response.status_code >= 500:
            self.errors.append(f"resolve {response.status_code}: {response.text[:200]}")


def check_acknowledged_writes(data_dir: Path, database_url: str | None, load: Load) -> None:
    if database_url is None:
        with sqlite3.connect(data_dir / "frontdesk.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with connect_db(data_dir, database_url) as db:
        for ask in load.asks:
            logged = db.execute("SELECT outcome FROM ask_log WHERE question = ?", (ask["question"],)).fetchall()
            assert logged == [(ask["response"]["outcome"],)], ask
            if ask["response"]["reference"] is not None:  # the caller's reference: their row on a request
                assert db.execute(
                    "SELECT 1 FROM help_request_callers WHERE id = ? AND question = ?",
                    (ask["response"]["reference"], ask["question"]),
                ).fetchone(), ask
        for resolve in load.resolves:
            row = db.execute(
                "SELECT status, answer, knowledge_id FROM help_requests WHERE id = ?", (resolve["id"],)
            ).fetchone()
            assert row[:2] == ("resolved", resolve["answer"]), resolve
            knowledge_id = resolve["response"]["knowledge_id"]
            assert row[2] == knowledge_id
            entry = db.execute("SELECT answer FROM knowledge_entries WHERE id = ?", (knowledge_id,)).fetchone()
            assert entry == (resolve["answer"],)
            assert db.execute("SELECT COUNT(*) FROM phrasings WHERE knowledge_id = ?", (knowledge_id,)).fetchone()[0]


def db_phrasing_ids(data_dir: Path, database_url: str | None = None) -> set[int]:
    with connect_db(data_dir, database_url) as db:
        return {r[0] for r in db.execute("SELECT id FROM phrasings")}


@pytest.mark.slow
@BOTH_BACKENDS
def test_kill_9_under_load_loses_no_acknowledged_write(data_dir, database_url):
    rng = random.Random(7)
    service = ServiceProcess(data_dir, **({"KB_DATABASE_URL": database_url} if database_url else {}))
    acknowledged = 0
    try:
        service.start()
        for round_no in range(1, ROUNDS + 1):
            load = Load(service.url, round_no, OPERATIONS)
            threads = load.run()
            kill_after = rng.randrange(5, OPERATIONS // 2)
            wait_for(
                lambda: load.acknowledged() >= kill_after or not any(t.is_alive() for t in threads),
                timeout=120,
                what="acknowledged writes before the kill",
            )
            service.kill9()
            for t in threads:
                t.join(timeout=60)
            assert not load.errors, load.errors[:5]
            acknowledged += load.acknowledged()
            service.start()  # the restart is also the next round's service
            check_acknowledged_writes(data_dir, database_url, load)
            stats = httpx.get(f"{service.url}/api/stats", headers=AUTH, timeout=30).json()
            assert stats["phrasings_in_index"] == stats["phrasings_in_db"] > 0
        service.stop()
        # After a clean stop the snapshot on disk holds exactly the database's phrasing ids.
        saved = VectorIndex.load(data_dir / "index.faiss", DIMENSION)
        assert saved.ids() == db_phrasing_ids(data_dir, database_url)
        meta = json.loads((data_dir / "index.json").read_text())
        assert meta["size"] == len(saved)
        # Structured logs: one JSON object per line, and no caller phone number in clear text.
        entries = json_lines(service.log_text())
        help_lines = [e for e in entries if e["message"].startswith("Hey, I need help answering")]
        assert len(help_lines) > 10 and all(e["logger"] == "frontdesk.console" for e in help_lines)
        assert any("•••" in e["message"] for e in help_lines)  # the questions carry the caller's number, masked
        assert "555 01" not in service.log_text()
    finally:
        service.stop()
    assert acknowledged > ROUNDS * 5
    print(f"{acknowledged} acknowledged writes survived {ROUNDS} kill -9s")


def test_truncated_index_file_is_rebuilt_not_served_empty(make_client, data_dir):
    client = make_client()  # the demo knowledge base
    before = client.get("/api/stats").json()
    assert before["phrasings_in_db"] > 0
    client.__exit__(None, None, None)  # clean stop writes the snapshot
    index_file = data_dir / "index.faiss"
    raw = index_file.read_bytes()
    index_file.write_bytes(raw[: len(raw) // 2])  # a torn write
    restarted = make_client()
    after = restarted.get("/api/stats").json()
    assert after["phrasings_in_index"] == after["phrasings_in_db"] == before["phrasings_in_db"]
    assert restarted.post("/api/ask", json={"question": "when are you open?"}).json()["outcome"] == "answered"


@pytest.mark.parametrize("damage", ["empty", "garbage", "stale", "leftover temp"])
def test_damaged_or_stale_snapshot_recovers_to_the_database(make_client, data_dir, damage):
    make_client().__exit__(None, None, None)
    index_file = data_dir / "index.faiss"
    older = index_file.read_bytes()  # a snapshot from before the next change
    client = make_client()
    client.post(
        "/api/knowledge",
        json={"answer": "We validate parking for two hours.", "questions": ["do you validate parking?"]},
    )
    client.__exit__(None, None, None)
    if damage == "empty":
        index_file.write_bytes(b"")
    elif damage == "garbage":
        index_file.write_bytes(np.random.default_rng(1).bytes(4096))
    elif damage == "stale":  # the process died after a DB commit but before the next snapshot
        index_file.write_bytes(older)
    else:  # killed during a snapshot write: a half-written temp file next to the real one
        index_file.with_suffix(".tmp").write_bytes(b"half a snapshot")
    restarted = make_client()
    runtime = restarted.app.state.runtime
    assert runtime.kb.index.ids() == db_phrasing_ids(data_dir)
    answer = restarted.post("/api/ask", json={"question": "do you validate parking?"}).json()
    assert answer["outcome"] == "answered" and "parking" in answer["answer"]


def json_lines(log_text: str) -> list[dict]:
    """Every line `frontdesk serve` logged; each must be one JSON object (the banner lines aside)."""
    lines = [line for line in log_text.splitlines() if line.startswith("{")]
    assert lines, log_text[-2000:]
    return [json.loads(line) for line in lines]


def serve_and_ask(data_dir: Path, *serve_args: str) -> list[dict]:
    """Four requests, each tagged with its own query string (the routes ignore it), then the log lines."""
    service = ServiceProcess(data_dir, *serve_args)
    try:
        service.start()
        with httpx.Client(base_url=service.url, timeout=60) as client:
            unknown = client.post("/api/ask?n=1", json={"question": "do you do eyebrow threading?"})
            assert unknown.status_code == 200 and unknown.json()["outcome"] == "escalated"
            assert client.post("/api/ask?n=2", json={"question": ""}).status_code == 422
            assert client.get("/no-such-thing?n=3").status_code == 404
            assert client.get("/healthz?n=4").status_code == 200
            request_id = request_for(client, unknown.json()["reference"])
            wait_for(
                lambda: f"(request {request_id})" in service.log_text(), what="the console line for the supervisor"
            )
    finally:
        service.stop()
    return json_lines(service.log_text())


def test_access_log_flag_logs_one_json_line_per_request(tmp_path):
    entries = serve_and_ask(tmp_path / "data", "--access-log")
    access = [e["message"] for e in entries if e["logger"] == "uvicorn.access"]
    for request, status in (
        ("POST /api/ask?n=1", 200),
        ("POST /api/ask?n=2", 422),
        ("GET /no-such-thing?n=3", 404),
        ("GET /healthz?n=4", 200),
    ):
        tagged = [m for m in access if f"?n={request[-1]} " in m]
        assert len(tagged) == 1, (request, access)
        assert f'"{request} HTTP/1.1" {status}' in tagged[0]
        assert tagged[0].startswith("127.0.0.1:")
    assert any(e["message"].startswith('Hey, I need help answering: "do you do eyebrow threading?"') for e in entries)


def test_without_the_flag_no_access_lines_but_the_console_line_still_appears(tmp_path):
    entries = serve_and_ask(tmp_path / "data")
    help_lines = [e for e in entries if e["message"].startswith("Hey, I need help answering")]
    assert [(e["logger"], e["message"]) for e in help_lines] == [
        ("frontdesk.console", 'Hey, I need help answering: "do you do eyebrow threading?" (request 1)')
    ]
    assert [e["message"] for e in entries if e["logger"] == "uvicorn.access"] == []
