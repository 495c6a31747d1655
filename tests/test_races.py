"""Races: many resolves of one request, and resolve against the timeout sweeper. Exactly one winner, always."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from kb_service.api.app import create_app
from tests.postgres_support import connect_db
from tests.support import AUTH, BOTH_BACKENDS, LiveServer, make_settings, open_session, request_for, wait_for

pytestmark = BOTH_BACKENDS

TRIALS = 100


def test_fifty_concurrent_resolves_one_winner(embedder, data_dir, database_url):
    app = create_app(make_settings(data_dir, KB_DEMO=False, KB_DATABASE_URL=database_url), embedder)
    callers = [("Ana", "+1 555 010 0001"), ("Bo", "+1 555 010 0002"), ("Cy", None)]
    with LiveServer(app) as server, httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as http:
        reference_of = {}  # session id -> that caller's own reference
        for name, phone in callers:
            session_id, mine = open_session(http)
            asked = http.post(
                "/api/ask",
                json={
                    "question": "Do you do bridal makeup trials?",
                    "session_id": session_id,
                    "caller": {"name": name, "phone": phone},
                },
                headers=mine,
            ).json()
            assert asked["outcome"] == "escalated", asked
            reference_of[session_id] = asked["reference"]
        assert len(set(reference_of.values())) == 3  # a reference per caller…
        [request] = http.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        assert [c["name"] for c in request["callers"]] == ["Ana", "Bo", "Cy"]  # …all waiting on one request
        request_id = request["id"]
        barrier = threading.Barrier(50)

        def resolve(n: int) -> httpx.Response:
            barrier.wait(timeout=30)
            return http.post(
                f"/api/help-requests/{request_id}/resolve", json={"answer": f"Yes, trials are $60 (answer {n})."}
            )

        with ThreadPoolExecutor(50) as pool:
            responses = list(pool.map(resolve, range(50)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [409] * 49
        winner = next(r.json() for r in responses if r.status_code == 200)
        assert all("already resolved" in r.json()["detail"] for r in responses if r.status_code == 409)
        assert winner["followups_queued"] == 3
        stats = http.get("/api/stats").json()
    assert stats["knowledge_entries"] == 1 and stats["phrasings_in_index"] == stats["phrasings_in_db"] == 1
    with connect_db(data_dir, database_url) as db:
        assert db.execute("SELECT answer FROM knowledge_entries").fetchall() == [(winner["help_request"]["answer"],)]
        events = db.execute("SELECT session_id, payload FROM session_events").fetchall()
        assert sorted(session for session, _ in events) == sorted(reference_of)  # one follow-up per caller
        assert {session: json.loads(payload)["reference"] for session, payload in events} == reference_of
        texts = [
            r[0]
            for r in db.execute(
                "SELECT payload FROM outbox WHERE event_type = 'help_request.resolved' AND channel = 'console'"
            )
        ]
        assert texts == []  # none of them proved their number with a code: nobody is texted


def test_resolve_against_the_sweeper_leaves_exactly_one_terminal_state(make_client):
    # The sweeper thread is parked (long interval) so the test runs the sweep itself, racing the HTTP resolve.
    client = make_client(
        KB_DEMO=False, KB_REQUEST_TIMEOUT_SECONDS=0.01, KB_SWEEP_INTERVAL_SECONDS=3600, KB_ASK_RATE_LIMIT_PER_MINUTE=0
    )
    desk = client.app.state.runtime.desk
    rng = random.Random(3)
    outcomes = {"resolved": 0, "unresolved": 0}
    session_id, token = open_session(client)  # each request's follow-up arrives on the call's event stream
    for trial in range(TRIALS):
        asked = client.post(
            "/api/ask",
            json={
                "question": f"Trial {trial}: can I book the {rng.random():.6f} slot?",
                "caller": {"phone": f"555-010-{trial:04d}"},
                "session_id": session_id,
            },
            headers=token,
        )
        assert asked.status_code == 200, asked.text
        request_id = request_for(client, asked.json()["reference"])
        deadline = datetime.fromisoformat(client.get(f"/api/help-requests/{request_id}").json()["deadline_at"])
        wait_for(lambda: datetime.now(UTC) > deadline, timeout=5, interval=0.005, what="the deadline to pass")
        barrier = threading.Barrier(2)
        result: dict = {}

        def resolve() -> None:
            barrier.wait(timeout=10)
            result["resolve"] = client.post(
                f"/api/help-requests/{request_id}/resolve", json={"answer": "Yes.", "learn": False}
            )

        def sweep() -> None:
            barrier.wait(timeout=10)
            result["expired"] = desk.expire_overdue()

        threads = [threading.Thread(target=resolve), threading.Thread(target=sweep)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        final = client.get(f"/api/help-requests/{request_id}").json()
        if result["resolve"].status_code == 200:
            assert request_id not in result["expired"]
            assert final["status"] == "resolved" and final["expired_at"] is None and final["resolved_at"]
        else:
            assert result["resolve"].status_code == 409
            assert request_id in result["expired"]
            assert final["status"] == "unresolved" and final["resolved_at"] is None and final["expired_at"]
        outcomes[final["status"]] += 1
        # Afterwards nothing moves it: neither another sweep nor another resolve.
        assert request_id not in desk.expire_overdue()
        assert client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": "No."}).status_code == 409
        assert client.get(f"/api/help-requests/{request_id}").json() == final
    assert sum(outcomes.values()) == TRIALS
    print(f"resolve vs sweeper over {TRIALS} trials: {outcomes}")
    settings = client.app.state.runtime.settings
    with connect_db(settings.data_dir, settings.database_url) as db:
        payloads = [row[0] for row in db.execute("SELECT payload FROM session_events WHERE event_type = 'followup'")]
    followups = Counter(json.loads(payload)["status"] for payload in payloads)
    assert followups == {status: n for status, n in outcomes.items() if n}  # exactly one follow-up per request


@pytest.mark.parametrize("learn", [True, False])
def test_resolving_after_timeout_is_refused_with_a_message(make_client, learn):
    client = make_client(KB_DEMO=False, KB_REQUEST_TIMEOUT_SECONDS=0.05)
    request_id = client.post("/api/ask", json={"question": "Are you open on bank holidays?"}).json()["reference"]
    request_id = request_for(client, request_id)
    wait_for(lambda: client.get(f"/api/help-requests/{request_id}").json()["status"] == "unresolved", timeout=10)
    response = client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": "Yes.", "learn": learn})
    assert response.status_code == 409
    assert response.json()["detail"] == f"help request {request_id} is already unresolved"
    assert client.get("/api/stats").json()["knowledge_entries"] == 0
