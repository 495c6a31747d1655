"""Call-backs over HTTP: who is listed (per caller, with a phone, timed out or asked), marking one done, a waiting
caller's "call me back instead", bad input, and retention forgetting them on time."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from kb_service.desk import retention
from kb_service.storage.backends import open_store
from tests.support import BOTH_BACKENDS, make_settings, open_session, wait_for
from tests.test_secrets_and_data import move_back

TINTING = "do you do eyelash tinting?"
PARROT = "can my parrot sit with me during the haircut?"


def ask(client, question: str, caller: dict | None = None, session: tuple[str, dict] | None = None) -> int:
    body = {"question": question, "caller": caller or {}}
    headers = {}
    if session:
        body["session_id"], headers = session[0], session[1]
    response = client.post("/api/ask", json=body, headers=headers)
    assert response.json()["outcome"] == "escalated", response.text
    return response.json()["reference"]


def callbacks(client, status: str = "open") -> list[dict]:
    response = client.get("/api/callbacks", params={"status": status})
    assert response.status_code == 200, response.text
    return response.json()["items"]


@BOTH_BACKENDS
def test_a_caller_who_asks_is_listed_with_the_full_phone_and_marked_done_once(client):
    session = open_session(client)
    reference = ask(client, TINTING, {"name": "Ana"}, session)
    assert callbacks(client) == []  # waiting, not asking: nothing to call yet

    sid, mine = session
    asked = client.post(f"/api/sessions/{sid}/callbacks", json={"reference": reference, "phone": "+1 (555) 010-2030"})
    assert asked.status_code == 200, asked.text
    assert asked.json()["message"] == "Thanks. Someone will call you back at +1 (555) 010-2030 as soon as they can."
    again = client.post(f"/api/sessions/{sid}/callbacks", json={"reference": reference, "phone": "+1 555 010 9999"})
    assert again.json()["callback_requested_at"] == asked.json()["callback_requested_at"]

    [item] = callbacks(client)
    assert item["id"] == reference and item["reason"] == "asked" and item["status"] == "pending"
    assert (item["name"], item["phone"], item["question"]) == ("Ana", "+1 555 010 9999", TINTING)
    assert datetime.fromisoformat(item["asked_at"]).tzinfo is not None and item["called_back_at"] is None

    done = client.post(f"/api/callbacks/{reference}/done", json={"note": "  Booked her for Friday.  "})
    assert done.status_code == 200, done.text
    assert done.json()["note"] == "Booked her for Friday." and done.json()["called_back_at"]
    assert callbacks(client) == [] and [i["id"] for i in callbacks(client, "done")] == [reference]
    assert [i["id"] for i in callbacks(client, "all")] == [reference]
    twice = client.post(f"/api/callbacks/{reference}/done", json={})
    assert twice.status_code == 409 and "already" in twice.json()["detail"]
    assert callbacks(client, "done")[0]["note"] == "Booked her for Friday."  # the second click changed nothing


@BOTH_BACKENDS
def test_every_caller_of_a_timed_out_request_with_a_phone_needs_a_call_of_their_own(make_client):
    client = make_client(KB_REQUEST_TIMEOUT_SECONDS=0.5)
    first = ask(client, PARROT, {"name": "Pia", "phone": "555 0101"})
    second = ask(client, PARROT, {"name": "Paul", "phone": "555 0202"})
    ask(client, PARROT, {"name": "No Phone"})
    requests = client.get("/api/help-requests").json()["items"]
    assert len(requests) == 1 and len(requests[0]["callers"]) == 3  # one request for the supervisor
    items = wait_for(lambda: callbacks(client), what="the request to time out")
    assert [(i["id"], i["name"], i["phone"], i["reason"]) for i in items] == [
        (first, "Pia", "555 0101", "timed_out"),
        (second, "Paul", "555 0202", "timed_out"),
    ]
    assert {i["help_request_id"] for i in items} == {requests[0]["id"]} and items[0]["status"] == "unresolved"
    assert client.post(f"/api/callbacks/{first}/done").status_code == 200  # no body: no note
    assert [i["id"] for i in callbacks(client)] == [second]


@BOTH_BACKENDS
def test_bad_input_gets_a_clear_4xx(client):
    anonymous = TestClient(client.app)  # the same running service, without the supervisor token or a cookie
    reference = ask(client, TINTING, {"phone": "555 0101"})
    assert anonymous.get("/api/callbacks").status_code == 401
    assert anonymous.post(f"/api/callbacks/{reference}/done").status_code == 401
    assert client.get("/api/callbacks", params={"status": "later"}).status_code == 422
    assert client.get("/api/callbacks", params={"limit": 0}).status_code == 422
    assert client.post("/api/callbacks/999999/done").status_code == 404
    # Pending and not asked: not a call-back (yet).
    assert client.post(f"/api/callbacks/{reference}/done").status_code == 404
    assert client.post("/api/callbacks/abc/done").status_code == 422

    session = open_session(client)
    sid, mine = session
    own = ask(client, PARROT, {}, session)
    url = f"/api/sessions/{sid}/callbacks"
    for bad in ({"reference": own, "phone": "call me later"}, {"reference": own}, {"reference": own, "phone": ""}):
        response = client.post(url, json=bad, headers=mine)
        assert response.status_code == 422 and "phone" in response.json()["message"], response.text
    assert client.post(url, json={"reference": own, "phone": "555 0101", "x": 1}, headers=mine).status_code == 422
    # Someone else's question, or none: 404. Another call's token: 403.
    assert client.post(url, json={"reference": reference, "phone": "555 0101"}, headers=mine).status_code == 404
    other_sid, other = open_session(anonymous)
    stranger = anonymous.post(url, json={"reference": own, "phone": "555 0101"}, headers=other)
    assert stranger.status_code == 403
    assert (
        anonymous.post(
            f"/api/sessions/{other_sid}/callbacks", json={"reference": own, "phone": "555 0101"}, headers=other
        ).status_code
        == 404
    )

    assert client.post(url, json={"reference": own, "phone": "555 0303"}, headers=mine).status_code == 200
    too_long = client.post(f"/api/callbacks/{own}/done", json={"note": "x" * 501})
    assert too_long.status_code == 422 and "note" in too_long.json()["message"]
    assert client.post(f"/api/callbacks/{own}/done", json={"note": 5}).status_code == 422
    assert client.post(f"/api/callbacks/{own}/done", json={"note": "ok", "extra": 1}).status_code == 422
    assert callbacks(client)[0]["called_back_at"] is None  # nothing bad was stored

    answered = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]
    for item in answered:
        client.post(f"/api/help-requests/{item['id']}/resolve", json={"answer": "Yes."})
    late = client.post(url, json={"reference": own, "phone": "555 0303"}, headers=mine)
    assert late.status_code == 409 and "answered" in late.json()["detail"]


@BOTH_BACKENDS
def test_retention_forgets_a_call_back_with_the_callers_details(make_client, data_dir, database_url):
    client = make_client(KB_RETENTION_DAYS=0, KB_REQUEST_TIMEOUT_SECONDS=0.3)
    old = ask(client, PARROT, {"name": "Olga Old", "phone": "555 0101"})
    wait_for(lambda: callbacks(client), what="the request to time out")
    assert client.post(f"/api/callbacks/{old}/done", json={"note": "Olga prefers mornings"}).status_code == 200
    new = ask(client, TINTING, {"name": "Nina New", "phone": "555 0202"})
    wait_for(lambda: len(callbacks(client, "all")) == 2, what="the second request to time out")
    client.__exit__(None, None, None)
    store = open_store(make_settings(data_dir, **({"KB_DATABASE_URL": database_url} if database_url else {})))
    try:
        old_request = store.scalar("SELECT help_request_id FROM help_request_callers WHERE id = ?", (old,))
        move_back(store, {"help_requests": {old_request}, "help_request_callers": {old}}, 100, key="id")
        assert retention.forget_old(store, 90)["help_request_callers"] == 1
        row = store.query_one(
            "SELECT name, phone, question, callback_note FROM help_request_callers WHERE id = ?", (old,)
        )
        assert tuple(row) == (None, None, None, None)
        assert retention.forget_old(store, 90)["help_request_callers"] == 0  # nothing more to do
    finally:
        store.close()
    assert [i["id"] for i in callbacks(make_client(KB_RETENTION_DAYS=0), "all")] == [new]
