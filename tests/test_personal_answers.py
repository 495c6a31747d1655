"""Personal answers (a name, card or phone digits, an appointment) are not learned by default and go only to the
caller who asked, unless the supervisor ticks others (issue 26, item 3)."""

from __future__ import annotations

import json

import httpx

from tests.support import AUTH, Receiver, open_session, verified_session, wait_for
from tests.test_notifications import read_events

QUESTION = "Is my appointment with Maria still on for tomorrow?"
PERSONAL = "Yes Jane, 3pm tomorrow with Maria is confirmed; we have your card ending 4242 on file."


def escalate(http, session, name: str) -> int:
    session_id, mine = session
    body = {"question": QUESTION, "session_id": session_id, "caller": {"name": name}}
    asked = http.post("/api/ask", json=body, headers=mine).json()
    assert asked["outcome"] == "escalated", asked
    return asked["reference"]


def followup(server, session) -> dict:
    session_id, mine = session
    [event] = read_events(f"{server.url}/api/sessions/{session_id}/events", headers=mine, want=1)
    return json.loads(event["data"])


def test_a_personal_answer_reaches_only_the_caller_who_asked_and_is_not_learned(serve):
    with Receiver() as gateway:
        server = serve(KB_CALLER_WEBHOOK_URL=gateway.url)
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
            jane = verified_session(http, gateway, "555-0101")
            stranger = verified_session(http, gateway, "555-0202")
            escalate(http, jane, "Jane")
            escalate(http, stranger, "Sam")  # nearly Jane's question: joins her request
            [request] = http.get("/api/help-requests", params={"status": "pending"}).json()["items"]
            assert len(request["callers"]) == 2
            resolved = http.post(f"/api/help-requests/{request['id']}/resolve", json={"answer": PERSONAL}).json()
            assert resolved["learned"] is False and resolved["knowledge_id"] is None
            assert resolved["followups_queued"] == 1
            reasons = " ".join(resolved["personal_reasons"])
            assert "Jane" in reasons and "4242" in reasons and "tomorrow" in reasons

            assert followup(server, jane)["answer"] == PERSONAL
            withheld = followup(server, stranger)
            assert withheld["answer"] is None and "4242" not in withheld["message"]
            texted = wait_for(lambda: gateway.delivered("help_request.resolved"), what="Jane's text")
            assert [t["json"]["data"]["caller_phone"] for t in texted] == ["555-0101"]
            # Nothing learned: the same question later goes to the supervisor again.
            again = http.post("/api/ask", json={"question": QUESTION}).json()
            assert again["outcome"] == "escalated" and PERSONAL not in json.dumps(again)
            # Nor is it offered to similar waiting questions.
            similar = http.post(f"/api/help-requests/{request['id']}/similar/resolve", json={"help_request_ids": [1]})
            assert similar.status_code == 409 and "one caller" in similar.json()["detail"]


def test_the_supervisor_can_tick_another_caller_and_choose_to_learn(serve):
    server = serve()
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        first = open_session(http)
        second = open_session(http)
        escalate(http, first, "Jane")
        reference = escalate(http, second, "Jim")
        [request] = http.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        body = {"answer": PERSONAL, "include_references": [reference], "learn": True}
        resolved = http.post(f"/api/help-requests/{request['id']}/resolve", json=body).json()
        assert resolved["followups_queued"] == 2 and resolved["learned"] is True
        assert resolved["knowledge_id"] is not None and resolved["personal_reasons"]
        assert followup(server, second)["answer"] == PERSONAL


def test_an_ordinary_answer_is_learned_and_sent_to_everyone_joined(serve):
    server = serve()
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        first, second = open_session(http), open_session(http)
        escalate(http, first, "Jane")
        escalate(http, second, "Sam")
        [request] = http.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        answer = "Appointments stay booked unless we call you to move them."
        resolved = http.post(f"/api/help-requests/{request['id']}/resolve", json={"answer": answer}).json()
        assert (resolved["learned"], resolved["personal_reasons"], resolved["followups_queued"]) == (True, [], 2)
        assert followup(server, second)["answer"] == answer
