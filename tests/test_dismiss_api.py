"""`POST /api/help-requests/{id}/dismiss`: a request that is not a question leaves the queue as `dismissed`; nobody
is texted or followed up, nothing is learned, and it never times out into an apology. Also the call's earlier
questions (`transcript`) beside a request, and insights counting dismissals apart, on both backends."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from kb_service.storage.backends import open_store
from tests.support import BOTH_BACKENDS, make_settings, migrate_to, open_session, wait_for

pytestmark = BOTH_BACKENDS

REFUSED = (sqlite3.IntegrityError, psycopg.IntegrityError)  # a CHECK or foreign key said no
TEST_CALL = "testing, testing, is this line working?"
TINTING = "do you do eyelash tinting?"


def ask(client, question: str, session: tuple[str, dict] | None = None, **caller) -> dict:
    body: dict = {"question": question, "caller": caller}
    headers = {}
    if session:
        body["session_id"], headers = session[0], session[1]
    response = client.post("/api/ask", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def pending(client) -> list[dict]:
    return client.get("/api/help-requests", params={"status": "pending", "order": "oldest"}).json()["items"]


def request_for(client, question: str) -> dict:
    return next(item for item in pending(client) if item["question"] == question)


def session_events(client, session_id: str) -> list[dict]:
    store = client.app.state.runtime.store
    return store.query("SELECT event_type FROM session_events WHERE session_id = ?", (session_id,))


def test_dismiss_closes_a_pending_request_and_tells_nobody(client):
    session = open_session(client)
    assert ask(client, TEST_CALL, session, name="Ann", phone="+1 415 555 0177")["outcome"] == "escalated"
    test_call = request_for(client, TEST_CALL)
    entries = client.get("/api/knowledge").json()["total"]
    outbox_before = client.app.state.runtime.store.scalar("SELECT COUNT(*) FROM outbox")

    response = client.post(f"/api/help-requests/{test_call['id']}/dismiss")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "dismissed" and body["dismissed_by"] == "supervisor" and body["dismissed_at"]
    assert body["answer"] is None and body["resolved_at"] is None
    assert pending(client) == []
    assert client.get("/api/help-requests", params={"status": "dismissed"}).json()["total"] == 1

    # Nothing learned, no text, no live follow-up, no call-back.
    assert client.get("/api/knowledge").json()["total"] == entries
    assert client.app.state.runtime.store.scalar("SELECT COUNT(*) FROM outbox") == outbox_before
    assert session_events(client, session[0]) == []
    assert client.get("/api/callbacks", params={"status": "all"}).json()["items"] == []
    stats = client.get("/api/stats").json()["help_requests"]
    assert stats["dismissed"] == 1 and stats["pending"] == 0
    assert client.get("/api/dashboard").json()["dismissed_today"] == 1


def test_only_a_pending_request_can_be_dismissed(client):
    ask(client, TEST_CALL)
    ask(client, TINTING)
    test_call, tinting = request_for(client, TEST_CALL), request_for(client, TINTING)
    signed = client.post(f"/api/help-requests/{test_call['id']}/dismiss", json={"dismissed_by": "Maria"})
    assert signed.json()["dismissed_by"] == "Maria"
    again = client.post(f"/api/help-requests/{test_call['id']}/dismiss")
    assert again.status_code == 409 and "already dismissed" in again.json()["detail"]
    late = client.post(f"/api/help-requests/{test_call['id']}/resolve", json={"answer": "Hi!"})
    assert late.status_code == 409
    assert client.post(f"/api/help-requests/{tinting['id']}/resolve", json={"answer": "Yes, $15."}).status_code == 200
    assert client.post(f"/api/help-requests/{tinting['id']}/dismiss").status_code == 409
    assert client.get(f"/api/help-requests/{tinting['id']}").json()["status"] == "resolved"
    assert client.post("/api/help-requests/999999/dismiss").status_code == 404
    typo = client.post(f"/api/help-requests/{test_call['id']}/dismiss", json={"dismised_by": "x"})
    assert typo.status_code == 422


def test_dismiss_needs_the_supervisor(make_client):
    client = make_client()
    ask(client, TEST_CALL)
    test_call = request_for(client, TEST_CALL)
    anonymous = make_client(auth=False)
    assert anonymous.post(f"/api/help-requests/{test_call['id']}/dismiss").status_code == 401
    assert request_for(client, TEST_CALL)["status"] == "pending"


def test_a_dismissed_request_never_times_out_into_an_apology(make_client):
    client = make_client(KB_REQUEST_TIMEOUT_SECONDS=1.0)
    session = open_session(client)
    ask(client, TEST_CALL, session, phone="+1 415 555 0177")
    test_call = request_for(client, TEST_CALL)
    assert client.post(f"/api/help-requests/{test_call['id']}/dismiss").status_code == 200
    # A later request's time-out shows the sweeper has run past the dismissed one's deadline.
    ask(client, TINTING, session, phone="+1 415 555 0177")
    tinting = request_for(client, TINTING)
    wait_for(
        lambda: client.get(f"/api/help-requests/{tinting['id']}").json()["status"] == "unresolved",
        timeout=15,
        what="the sweeper",
    )
    assert client.get(f"/api/help-requests/{test_call['id']}").json()["status"] == "dismissed"
    assert [e["event_type"] for e in session_events(client, session[0])] == ["followup"]  # the tinting apology only
    callbacks = client.get("/api/callbacks").json()["items"]
    assert [c["help_request_id"] for c in callbacks] == [tinting["id"]]


def test_a_request_carries_the_calls_earlier_questions(client):
    session = open_session(client)
    opening = ask(client, "What time do you open?", session)
    assert opening["outcome"] == "answered"
    assert ask(client, TINTING, session)["outcome"] == "escalated"
    assert ask(client, "and can I bring my parrot?", session)["outcome"] == "escalated"
    parrot = request_for(client, "and can I bring my parrot?")

    turns = client.get(f"/api/help-requests/{parrot['id']}").json()["transcript"]
    assert [(t["question"], t["outcome"]) for t in turns] == [
        ("What time do you open?", "answered"),
        (TINTING, "escalated"),
    ]
    assert turns[0]["answer"] == opening["answer"] and turns[1]["answer"] is None
    assert parrot["transcript"] == turns  # the queue's list carries it too
    assert request_for(client, TINTING)["transcript"][0]["question"] == "What time do you open?"
    ask(client, "Is there parking for bikes?")  # no call session: nothing earlier to show
    assert request_for(client, "Is there parking for bikes?")["transcript"] == []


def test_insights_count_dismissals_apart(client):
    assert ask(client, "When are you open?")["outcome"] == "answered"
    ask(client, TEST_CALL)
    ask(client, TINTING)
    client.post(f"/api/help-requests/{request_for(client, TEST_CALL)['id']}/dismiss")
    body = client.get("/api/insights", params={"days": 1}).json()
    totals = body["totals"]
    assert (totals["questions"], totals["auto_answered"], totals["escalations"], totals["dismissed"]) == (2, 1, 1, 1)
    assert totals["auto_answer_rate"] == 0.5
    assert [group["question"] for group in body["top_escalated"]] == [TINTING]


def test_the_migration_keeps_requests_callers_and_ids(backend, data_dir, request):
    """Version 8 changes the status CHECK: SQLite rebuilds the table, PostgreSQL swaps the constraint."""
    url = request.getfixturevalue("postgres").fresh_database() if backend == "postgresql" else None
    store = open_store(make_settings(data_dir, **({"KB_DATABASE_URL": url} if url else {})), migrate=False)
    migrate_to(store, 7)
    with store.write() as tx:
        for n in (1, 2, 3):
            tx.execute(
                "INSERT INTO help_requests (question, embedding, status, created_at, deadline_at)"
                " VALUES (?, x'', 'pending', '2026-01-01', '2026-01-02')",
                (f"q{n}",),
            )
        tx.execute("DELETE FROM help_requests WHERE id = 3")  # the id sequence must not go back to 3
        tx.execute(
            "INSERT INTO help_request_callers (help_request_id, name, joined_at) VALUES (2, 'Ann', '2026-01-01')"
        )
        with pytest.raises(REFUSED):
            tx.execute("SAVEPOINT s")
            try:
                tx.execute("UPDATE help_requests SET status = 'dismissed' WHERE id = 1")
            finally:
                tx.execute("ROLLBACK TO SAVEPOINT s")
    assert store.migrate()[0] == 8
    with store.write() as tx:
        tx.execute("UPDATE help_requests SET status = 'dismissed' WHERE id = 1")
        new_id = tx.execute(
            "INSERT INTO help_requests (question, embedding, status, created_at, deadline_at)"
            " VALUES ('q4', x'', 'pending', '2026-01-01', '2026-01-02') RETURNING id"
        ).fetchone()[0]
        with pytest.raises(REFUSED):
            tx.execute("SAVEPOINT s")
            try:
                tx.execute("INSERT INTO help_request_callers (help_request_id, joined_at) VALUES (99, '2026-01-01')")
            finally:
                tx.execute("ROLLBACK TO SAVEPOINT s")
    assert new_id == 4
    rows = store.query("SELECT id, question, status FROM help_requests ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "q1", "dismissed"), (2, "q2", "pending"), (4, "q4", "pending")]
    callers = store.query("SELECT help_request_id, name FROM help_request_callers")
    assert [tuple(r) for r in callers] == [(2, "Ann")]
    store.close()
