"""Caller event streams over real HTTP: capped per client and in all, woken by one database poller, resumed
exactly from their cursor, ended at shutdown and on hang-up."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from contextlib import ExitStack

import httpx
import pytest

from kb_service.api.app import create_app
from kb_service.api.routes import sessions as sessions_route
from kb_service.cli import server_options
from tests.support import AUTH, LiveServer, make_settings, request_for, run_async, wait_for
from tests.test_abuse_limits import Serve


def new_session(web: httpx.Client) -> tuple[str, dict[str, str]]:
    body = web.post("/api/sessions").json()
    return body["session_id"], {"X-Session-Token": body["session_token"]}


def events_of(lines, want: int) -> list[dict]:
    """The next `want` SSE events (id, event, data) from an iterator of lines."""
    events, current = [], {}
    for line in lines:
        if line == "" and "data" in current:
            events.append(current)
            if len(events) == want:
                return events
            current = {}
        elif line and not line.startswith(":") and ":" in line:
            key, _, value = line.partition(":")
            current[key] = value.strip()
    return events


def test_streams_are_capped_per_client_and_in_all_and_a_hang_up_frees_the_slot(embedder, data_dir):
    settings = make_settings(
        data_dir, KB_DEMO=False, KB_TRUSTED_PROXIES="127.0.0.1", KB_MAX_STREAMS_PER_IP=2, KB_MAX_STREAMS=3
    )
    app = create_app(settings, embedder)
    with (
        LiveServer(app, **server_options(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as web,
        ExitStack() as held,
    ):
        session_id, mine = new_session(web)
        url = f"/api/sessions/{session_id}/events"

        def open_from(ip: str):
            return held.enter_context(web.stream("GET", url, headers={**mine, "X-Forwarded-For": ip}))

        first, second = open_from("198.51.100.1"), open_from("198.51.100.1")
        assert first.status_code == second.status_code == 200
        third = open_from("198.51.100.1")
        assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
        assert "KB_MAX_STREAMS_PER_IP" in json.loads(third.read())["detail"]
        assert open_from("198.51.100.2").status_code == 200  # another client: the third of three in all
        full = open_from("198.51.100.3")
        assert full.status_code == 503 and int(full.headers["Retry-After"]) >= 1
        assert app.state.streams.open_count == 3

        first.close()  # a hang-up gives the slot back
        wait_for(lambda: app.state.streams.open_count == 2, timeout=5, what="the slot to be released")
        assert open_from("198.51.100.3").status_code == 200
        # Refused requests never held a slot; one without the session's token is 403 whatever the count.
        assert httpx.get(server.url + url, headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 403
        assert app.state.streams.open_count == 3


def test_one_poller_wakes_only_the_streams_with_news_and_nothing_is_lost_or_repeated(embedder, data_dir):
    app = create_app(make_settings(data_dir, KB_DEMO=False, KB_MAX_STREAMS_PER_IP=50), embedder)
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, timeout=30) as web,
        httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as supervisor,
        ExitStack() as held,
    ):
        store = app.state.runtime.store
        reads: list[str] = []  # a spy on the real store: which SQL reads the event tables, and how often
        real_query = store.query

        def counting_query(sql, params=()):
            if "session_events" in sql:
                reads.append("poll" if "GROUP BY" in sql else "stream")
            return real_query(sql, params)

        store.query = counting_query
        session_id, mine = new_session(web)
        asked = [
            web.post("/api/ask", json={"question": q, "session_id": session_id}, headers=mine).json()
            for q in ("Do you sell gift cards?", "Can I bring my dog?", "Is there parking nearby?")
        ]
        others = [new_session(web) for _ in range(15)]  # (20 new sessions a minute per client)
        for other_id, theirs in others:
            stream = held.enter_context(web.stream("GET", f"/api/sessions/{other_id}/events", headers=theirs))
            assert stream.status_code == 200
        mine_stream = held.enter_context(web.stream("GET", f"/api/sessions/{session_id}/events", headers=mine))
        lines = mine_stream.iter_lines()
        assert next(lines) == "retry: 1000"
        wait_for(lambda: reads.count("stream") == 16, timeout=5, what="each stream's first read")

        # Idle: only the one poller reads, however many streams are open.
        reads.clear()
        wait_for(lambda: reads.count("poll") >= 4, timeout=5, what="four polls")
        assert reads.count("stream") == 0

        # News for one session wakes that session's stream only, and it reads its rows once.
        reads.clear()
        first = asked[0]["reference"]
        supervisor.post(f"/api/help-requests/{first}/resolve", json={"answer": "Yes, $25."}).raise_for_status()
        (event,) = events_of(lines, 1)
        assert json.loads(event["data"])["answer"] == "Yes, $25."
        assert reads.count("stream") == 1

        # Two more while nobody listens; reconnecting with Last-Event-ID gets exactly those, in order.
        mine_stream.close()
        for request, answer in zip(asked[1:], ("Dogs are welcome.", "Yes, behind the shop.")):
            supervisor.post(
                f"/api/help-requests/{request_for(supervisor, request['reference'])}/resolve", json={"answer": answer}
            )
        with web.stream(
            "GET", f"/api/sessions/{session_id}/events", headers={**mine, "Last-Event-ID": event["id"]}
        ) as s:
            resumed = events_of(s.iter_lines(), 2)
        assert [json.loads(e["data"])["answer"] for e in resumed] == ["Dogs are welcome.", "Yes, behind the shop."]
        assert int(resumed[0]["id"]) > int(event["id"])
        with web.stream(
            "GET", f"/api/sessions/{session_id}/events", params={"after": resumed[0]["id"]}, headers=mine
        ) as s:
            (last,) = events_of(s.iter_lines(), 1)
        assert last["id"] == resumed[1]["id"]


def test_idle_streams_get_keepalives(serve, monkeypatch):
    monkeypatch.setattr(sessions_route, "KEEPALIVE_SECONDS", 0.3)
    with httpx.Client(base_url=serve(KB_DEMO=False).url, timeout=10) as web:
        session_id, mine = new_session(web)
        with web.stream("GET", f"/api/sessions/{session_id}/events", headers=mine) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 1000"
            assert [next(lines) for _ in range(4)] == ["", ": keepalive", "", ": keepalive"]


def test_open_streams_end_promptly_at_shutdown(embedder, data_dir):
    app = create_app(make_settings(data_dir, KB_DEMO=False), embedder)
    server = LiveServer(app).__enter__()
    with httpx.Client(base_url=server.url, timeout=30) as web:
        session_id, mine = new_session(web)
        with web.stream("GET", f"/api/sessions/{session_id}/events", headers=mine) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 1000"
            started = time.monotonic()
            stopping = threading.Thread(target=server.__exit__, args=(None, None, None))
            stopping.start()
            with pytest.raises(httpx.HTTPError):
                list(lines)  # until the server cuts the stream
            stopping.join(timeout=15)
    assert time.monotonic() - started < 5 and not stopping.is_alive()
    assert app.state.streams.open_count == 0 and app.state.streams.stopping


async def open_streams(port: int, path: str, token: str, attempts: int) -> tuple[list[int], list]:
    """`attempts` stream opens at once over raw sockets; returns their statuses and the accepted connections."""
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Session-Token: {token}\r\n\r\n".encode()

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        if status != 200:
            writer.close()
            return status, None
        return status, writer

    results = await asyncio.gather(*(one() for _ in range(attempts)))
    return [status for status, _ in results], [writer for _, writer in results if writer is not None]


@pytest.mark.slow
def test_a_thousand_stream_opens_from_one_client_are_capped_and_health_stays_fast(tmp_path):
    per_ip = 8
    with (
        # The per-address connection cap (tests/test_perimeter_abuse.py) is lifted: this measures the stream cap.
        Serve(tmp_path, KB_MAX_STREAMS_PER_IP=str(per_ip), KB_MAX_CONNECTIONS_PER_IP="5000") as serve,
        httpx.Client(base_url=f"http://127.0.0.1:{serve.port}", timeout=10) as web,
    ):
        session_id, mine = new_session(web)
        health: list[float] = []
        flooding = threading.Event()

        def probe():
            with httpx.Client(base_url=f"http://127.0.0.1:{serve.port}", timeout=10) as prober:
                while flooding.is_set() or len(health) < 60:
                    started = time.perf_counter()
                    assert prober.get("/healthz").status_code == 200
                    health.append(time.perf_counter() - started)

        async def flood():
            flooding.set()
            prober = threading.Thread(target=probe)
            prober.start()
            try:
                statuses, held = await open_streams(
                    serve.port, f"/api/sessions/{session_id}/events", mine["X-Session-Token"], 1000
                )
                held_health = len(health)
                await asyncio.to_thread(wait_for, lambda: len(health) >= held_health + 50, 30, 0.01, "50 probes")
            finally:
                flooding.clear()
                await asyncio.to_thread(prober.join, 30)
            for writer in held:
                writer.close()
            return statuses

        statuses = run_async(flood())
        assert statuses.count(200) == per_ip
        assert statuses.count(429) == 1000 - per_ip
        assert len(health) >= 50
        p95 = statistics.quantiles(health, n=20)[-1]
        print(f"healthz p95 {p95 * 1000:.1f} ms over {len(health)} probes")
        assert p95 < 0.5, f"healthz p95 {p95 * 1000:.1f} ms"  # the bound the abuse issue sets for a flood
