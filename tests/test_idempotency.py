"""`Idempotency-Key` on ask and resolve: a retry replays the first response and creates nothing new."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kb_service.api.app import create_app
from tests.postgres_support import connect_db
from tests.support import AUTH, BOTH_BACKENDS, LiveServer, make_settings, open_session

pytestmark = BOTH_BACKENDS

UNKNOWN = "Do you sell gift cards for the spa?"


def counts(data_dir, database_url=None) -> dict[str, int]:
    with connect_db(data_dir, database_url) as db:
        return {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in (
                "help_requests",
                "help_request_callers",
                "ask_log",
                "outbox",
                "knowledge_entries",
                "session_events",
            )
        }


def test_ask_retry_with_same_key_replays_and_creates_nothing(make_client, data_dir, database_url):
    client = make_client(KB_DEMO=False)
    session_id, mine = open_session(client)
    body = {"question": UNKNOWN, "caller": {"name": "Ana", "phone": "+1 555 010 4567"}, "session_id": session_id}
    first = client.post("/api/ask", json=body, headers={**mine, "Idempotency-Key": "ask-1"})
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "escalated"
    before = counts(data_dir, database_url)
    again = client.post("/api/ask", json=body, headers={**mine, "Idempotency-Key": "ask-1"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert counts(data_dir, database_url) == before
    # The key replays only for the session's holder: without its token the retry is refused, not replayed.
    client.cookies.clear()
    stranger = client.post("/api/ask", json=body, headers={"Idempotency-Key": "ask-1"})
    assert stranger.status_code == 403 and UNKNOWN not in stranger.text
    assert counts(data_dir, database_url) == before
    # Without a key (or with a new one) the same question is a new ask: the caller joins the request, with a
    # reference of their own.
    other = client.post("/api/ask", json=body, headers={**mine, "Idempotency-Key": "ask-2"})
    assert other.json()["outcome"] == "escalated"
    assert other.json()["reference"] != first.json()["reference"]
    after = counts(data_dir, database_url)
    assert after["ask_log"] == before["ask_log"] + 1
    assert after["help_requests"] == before["help_requests"]
    assert after["help_request_callers"] == before["help_request_callers"] + 1


def test_same_key_with_another_body_is_a_conflict(make_client, data_dir, database_url):
    client = make_client(KB_DEMO=False)
    client.post("/api/ask", json={"question": UNKNOWN}, headers={"Idempotency-Key": "k"})
    before = counts(data_dir, database_url)
    response = client.post("/api/ask", json={"question": "Is there parking nearby?"}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]
    assert counts(data_dir, database_url) == before
    # The failed ask's savepoint was rolled back and its batch committed: the next ask works as usual.
    assert client.post("/api/ask", json={"question": "Is there parking nearby?"}).status_code == 200
    assert counts(data_dir, database_url)["ask_log"] == before["ask_log"] + 1


def test_resolve_retry_replays_instead_of_409(make_client, data_dir, database_url):
    client = make_client(KB_DEMO=False)
    session_id, mine = open_session(client)
    asked = client.post("/api/ask", json={"question": UNKNOWN, "session_id": session_id}, headers=mine)
    assert asked.json()["outcome"] == "escalated", asked.text
    [request] = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]
    request_id = request["id"]
    body = {"answer": "Yes, gift cards are $25 and up."}
    first = client.post(f"/api/help-requests/{request_id}/resolve", json=body, headers={"Idempotency-Key": "r1"})
    assert first.status_code == 200, first.text
    before = counts(data_dir, database_url)
    again = client.post(f"/api/help-requests/{request_id}/resolve", json=body, headers={"Idempotency-Key": "r1"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert counts(data_dir, database_url) == before
    assert counts(data_dir, database_url)["knowledge_entries"] == 1
    # A resolve without the key is a second resolve: still refused.
    assert client.post(f"/api/help-requests/{request_id}/resolve", json=body).status_code == 409
    changed = client.post(
        f"/api/help-requests/{request_id}/resolve", json={"answer": "No."}, headers={"Idempotency-Key": "r1"}
    )
    assert changed.status_code == 409
    assert "different request" in changed.json()["detail"]


def test_keys_survive_a_restart(make_client, data_dir, database_url):
    client = make_client(KB_DEMO=False)
    body = {"question": UNKNOWN}
    first = client.post("/api/ask", json=body, headers={"Idempotency-Key": "durable"}).json()
    client.__exit__(None, None, None)
    restarted = make_client(KB_DEMO=False)
    assert restarted.post("/api/ask", json=body, headers={"Idempotency-Key": "durable"}).json() == first
    assert counts(data_dir, database_url)["ask_log"] == 1


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_bad_keys_get_422(make_client, key):
    client = make_client(KB_DEMO=False)
    response = client.post("/api/ask", json={"question": UNKNOWN}, headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert "message" in response.json()


def test_concurrent_retries_with_one_key_create_one_ask(embedder, data_dir, database_url):
    """Twenty copies of one request racing: one effect, twenty identical responses."""
    app = create_app(make_settings(data_dir, KB_DEMO=False, KB_DATABASE_URL=database_url), embedder)
    body = {"question": UNKNOWN, "caller": {"phone": "555-010-9999"}}
    with LiveServer(app) as server, httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        with ThreadPoolExecutor(20) as pool:
            responses = list(
                pool.map(lambda _: http.post("/api/ask", json=body, headers={"Idempotency-Key": "race"}), range(20))
            )
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    assert counts(data_dir, database_url)["ask_log"] == 1
    assert counts(data_dir, database_url)["help_request_callers"] == 1
