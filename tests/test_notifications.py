"""Notifications leave through the outbox: console lines, webhooks to a local receiver, and the SSE stream."""

from __future__ import annotations

import json
import logging

import httpx

from tests.support import AUTH, Receiver, open_session, request_for, verified_session, wait_for

QUESTION = "Do you do eyebrow threading?"


def pending_request(client) -> dict:
    """The one pending request, as the supervisor sees it (a caller's reference is not its id)."""
    [request] = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]
    return request


def test_webhooks_carry_the_supervisor_notification_and_the_caller_followup(make_client):
    with Receiver() as supervisor, Receiver() as caller:
        client = make_client(KB_SUPERVISOR_WEBHOOK_URL=supervisor.url, KB_CALLER_WEBHOOK_URL=caller.url)
        session_id, mine = verified_session(client, caller, "555-123-4567")
        asked = client.post(
            "/api/ask",
            json={"question": QUESTION, "caller": {"name": "Ann", "phone": "555-123-4567"}, "session_id": session_id},
            headers=mine,
        ).json()
        assert asked["outcome"] == "escalated", asked
        request = pending_request(client)
        note = wait_for(lambda: supervisor.delivered("help_request.created"), what="supervisor webhook")[0]
        assert note["json"]["data"]["question"] == QUESTION
        assert note["json"]["data"]["help_request_id"] == request["id"]
        assert note["headers"]["webhook-id"] == note["json"]["id"]

        client.post(
            f"/api/help-requests/{request['id']}/resolve", json={"answer": "Yes, threading is $12."}
        ).raise_for_status()
        followup = wait_for(lambda: caller.delivered("help_request.resolved"), what="caller webhook")[0]["json"]
        assert followup["data"]["reference"] == asked["reference"]  # the reference Ann was given
        assert followup["data"]["caller_phone"] == "555-123-4567"
        assert followup["data"]["answer"] == "Yes, threading is $12."
        text = followup["data"]["message"]
        assert "Yes, threading is $12." in text and "your question from" in text
        assert "Ann" not in text and "threading?" not in text  # a text never carries the caller's own words


def test_a_duplicate_caller_gets_the_followup_too(make_client):
    with Receiver() as caller:
        client = make_client(KB_CALLER_WEBHOOK_URL=caller.url)
        worded = {"555-000-1111": QUESTION, "555-000-2222": "do you guys do eyebrow threading"}
        asked = {}
        for phone, question in worded.items():
            session_id, mine = verified_session(client, caller, phone)
            body = {"question": question, "caller": {"phone": phone}, "session_id": session_id}
            asked[phone] = client.post("/api/ask", json=body, headers=mine).json()
        assert [a["outcome"] for a in asked.values()] == ["escalated", "escalated"]
        references = {phone: a["reference"] for phone, a in asked.items()}
        assert len(set(references.values())) == 2  # each caller's own reference…
        request = pending_request(client)  # …to the one request the supervisor sees
        assert sorted(c["phone"] for c in request["callers"]) == sorted(worded)
        client.post(f"/api/help-requests/{request['id']}/resolve", json={"answer": "Yes."}).raise_for_status()
        resolved = "help_request.resolved"
        delivered = wait_for(lambda: len(caller.delivered(resolved)) >= 2 and caller.delivered(resolved), what="two")
        followups = {r["json"]["data"]["caller_phone"]: r["json"]["data"] for r in delivered}
        assert sorted(followups) == sorted(worded)
        for phone, data in followups.items():
            assert data["reference"] == references[phone]
            assert "question" not in data and "eyebrow" not in data["message"]  # nobody's words in a text


def test_timeout_apology_reaches_the_caller_webhook(make_client):
    with Receiver() as caller:
        client = make_client(KB_CALLER_WEBHOOK_URL=caller.url, KB_REQUEST_TIMEOUT_SECONDS=0.3)
        session_id, mine = verified_session(client, caller, "555-000-1111")
        client.post("/api/ask", json={"question": QUESTION, "session_id": session_id}, headers=mine)
        apology = wait_for(lambda: caller.delivered("help_request.unresolved"), timeout=15, what="apology")[0]
        assert apology["json"]["data"]["status"] == "unresolved"
        assert "Sorry" in apology["json"]["data"]["message"]


def test_a_failing_webhook_is_retried_until_it_is_delivered(make_client):
    with Receiver(script=[500, 503]) as supervisor:
        client = make_client(KB_SUPERVISOR_WEBHOOK_URL=supervisor.url, KB_OUTBOX_RETRY_BASE_SECONDS=0.05)
        client.post("/api/ask", json={"question": QUESTION})
        wait_for(lambda: supervisor.delivered(), what="third attempt")
        assert [r["status"] for r in supervisor.requests] == [500, 503, 200]
        assert len({r["headers"]["webhook-id"] for r in supervisor.requests}) == 1


def test_console_lines_name_the_question_and_mask_the_phone(make_client, caplog):
    caplog.set_level(logging.INFO, logger="frontdesk.console")
    with Receiver() as caller:
        client = make_client(KB_CALLER_WEBHOOK_URL=caller.url)
        session_id, mine = verified_session(client, caller, "555-123-4567")
    body = {"question": QUESTION, "caller": {"phone": "555-123-4567"}, "session_id": session_id}
    asked = client.post("/api/ask", json=body, headers=mine).json()
    request_id = request_for(client, asked["reference"])
    wait_for(
        lambda: f'Hey, I need help answering: "{QUESTION}" (request {request_id})' in caplog.text,
        what="supervisor console line",
    )
    client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": "Yes."})
    wait_for(lambda: "your question from" in caplog.text, what="SMS console line")
    sms = next(line for line in caplog.text.splitlines() if "your question from" in line)
    assert "SMS to •••4567: " in sms and "555-123" not in sms and "Yes." in sms


def read_events(url: str, headers: dict | None = None, want: int = 1, timeout: float = 15) -> list[dict]:
    """Read `want` SSE events (id, event, data) from the stream, then hang up."""
    events, current = [], {}
    with httpx.stream("GET", url, headers=headers or {}, timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line == "":
                if "data" in current:
                    events.append(current)
                    if len(events) >= want:
                        return events
                current = {}
            elif not line.startswith(":") and ":" in line:
                key, _, value = line.partition(":")
                current[key] = value.strip()
    return events


def test_sse_stream_delivers_the_followup_and_resumes_without_repeats(server):
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        session_id, mine = open_session(http)
        someone_else, theirs = open_session(http)
        asks = [
            (QUESTION, session_id, mine, "Yes, $12."),
            ("Can I bring my own shampoo?", session_id, mine, "No."),
            ("Is there a student discount?", someone_else, theirs, "Ten percent."),
        ]
        references = []
        for question, session, token, _ in asks:
            asked = http.post("/api/ask", json={"question": question, "session_id": session}, headers=token).json()
            assert asked["outcome"] == "escalated", asked
            references.append(asked["reference"])
        pending = http.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        request_of = {r["question"]: r["id"] for r in pending}
        for question, _, _, answer in asks:
            http.post(f"/api/help-requests/{request_of[question]}/resolve", json={"answer": answer}).raise_for_status()

        url = f"{server.url}/api/sessions/{session_id}/events"
        assert httpx.get(url, headers=theirs).status_code == 403  # another caller's token does not open it
        events = read_events(url, headers=mine, want=2)
        assert [e["event"] for e in events] == ["followup", "followup"]
        data = [json.loads(e["data"]) for e in events]
        assert [d["answer"] for d in data] == ["Yes, $12.", "No."]
        assert [d["reference"] for d in data] == references[:2]
        assert data[0]["status"] == "resolved" and "Yes, $12." in data[0]["message"]

        # Reconnecting with Last-Event-ID gets only what came after it.
        resumed = read_events(url, headers={**mine, "Last-Event-ID": events[0]["id"]}, want=1)
        assert json.loads(resumed[0]["data"])["answer"] == "No."
