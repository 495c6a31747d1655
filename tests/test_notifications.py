"""Notifications leave through the outbox: console lines, webhooks to a local receiver, and the SSE stream."""

from __future__ import annotations

import json
import logging

import httpx

from kb_service.api.app import create_app
from tests.support import AUTH, LiveServer, Receiver, make_settings, wait_for

QUESTION = "Do you do eyebrow threading?"


def test_webhooks_carry_the_supervisor_notification_and_the_caller_followup(make_client):
    with Receiver() as supervisor, Receiver() as caller:
        client = make_client(KB_SUPERVISOR_WEBHOOK_URL=supervisor.url, KB_CALLER_WEBHOOK_URL=caller.url)
        asked = client.post(
            "/api/ask",
            json={"question": QUESTION, "caller": {"name": "Ann", "phone": "555-123-4567"}, "session_id": "s1"},
        ).json()
        note = wait_for(lambda: supervisor.delivered("help_request.created"), what="supervisor webhook")[0]
        assert note["json"]["data"]["question"] == QUESTION
        assert note["json"]["data"]["help_request_id"] == asked["help_request_id"]
        assert note["headers"]["webhook-id"] == note["json"]["id"]

        client.post(
            f"/api/help-requests/{asked['help_request_id']}/resolve", json={"answer": "Yes, threading is $12."}
        ).raise_for_status()
        followup = wait_for(lambda: caller.delivered("help_request.resolved"), what="caller webhook")[0]["json"]
        assert followup["data"]["caller_phone"] == "555-123-4567"
        assert followup["data"]["answer"] == "Yes, threading is $12."
        assert "Ann" in followup["data"]["message"] and "Yes, threading is $12." in followup["data"]["message"]


def test_a_duplicate_caller_gets_the_followup_too(make_client):
    with Receiver() as caller:
        client = make_client(KB_CALLER_WEBHOOK_URL=caller.url)
        first = client.post("/api/ask", json={"question": QUESTION, "caller": {"phone": "555-000-1111"}}).json()
        second = client.post(
            "/api/ask", json={"question": "do you do eyebrow threading", "caller": {"phone": "555-000-2222"}}
        ).json()
        assert first["help_request_id"] == second["help_request_id"]
        client.post(f"/api/help-requests/{first['help_request_id']}/resolve", json={"answer": "Yes."})
        delivered = wait_for(lambda: len(caller.delivered()) >= 2 and caller.delivered(), what="two follow-ups")
        assert sorted(r["json"]["data"]["caller_phone"] for r in delivered) == ["555-000-1111", "555-000-2222"]


def test_timeout_apology_reaches_the_caller_webhook(make_client):
    with Receiver() as caller:
        client = make_client(KB_CALLER_WEBHOOK_URL=caller.url, KB_REQUEST_TIMEOUT_SECONDS=0.3)
        client.post("/api/ask", json={"question": QUESTION, "caller": {"phone": "555-000-1111"}})
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
    client = make_client()
    request_id = client.post("/api/ask", json={"question": QUESTION, "caller": {"phone": "555-123-4567"}}).json()[
        "help_request_id"
    ]
    wait_for(
        lambda: f'Hey, I need help answering: "{QUESTION}" (request {request_id})' in caplog.text,
        what="supervisor console line",
    )
    client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": "Yes."})
    wait_for(lambda: "SMS to" in caplog.text, what="SMS console line")
    sms = next(line for line in caplog.text.splitlines() if "SMS to" in line)
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


def test_sse_stream_delivers_the_followup_and_resumes_without_repeats(embedder, data_dir):
    with (
        LiveServer(create_app(make_settings(data_dir), embedder)) as server,
        httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http,
    ):
        first = http.post("/api/ask", json={"question": QUESTION, "session_id": "call-1"}).json()
        second = http.post("/api/ask", json={"question": "Can I bring my own shampoo?", "session_id": "call-1"}).json()
        http.post("/api/ask", json={"question": "Is there a student discount?", "session_id": "someone-else"})
        for request_id, answer in ((first["help_request_id"], "Yes, $12."), (second["help_request_id"], "No.")):
            http.post(f"/api/help-requests/{request_id}/resolve", json={"answer": answer}).raise_for_status()

        url = f"{server.url}/api/sessions/call-1/events"
        events = read_events(url, want=2)
        assert [e["event"] for e in events] == ["followup", "followup"]
        data = [json.loads(e["data"]) for e in events]
        assert [d["answer"] for d in data] == ["Yes, $12.", "No."]
        assert data[0]["status"] == "resolved" and "Yes, $12." in data[0]["message"]

        # Reconnecting with Last-Event-ID gets only what came after it.
        resumed = read_events(url, headers={"Last-Event-ID": events[0]["id"]}, want=1)
        assert json.loads(resumed[0]["data"])["answer"] == "No."
