"""`GET /api/insights`: day-by-day counts in the service's time zone, escalated questions grouped by meaning, entries
not used in 30 days, and `days` checked."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from tests.test_secrets_and_data import move_back

TINTING = "do you do eyelash tinting?"
WAXED = "Do you tint eyelashes?"  # another wording: a request of its own, the same meaning
DOG = "Can I bring my dog to my appointment?"


def ask(client, question: str) -> dict:
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def insights(client, days: int = 7) -> dict:
    response = client.get("/api/insights", params={"days": days})
    assert response.status_code == 200, response.text
    return response.json()


def test_days_questions_rates_escalations_and_time_to_answer(client):
    runtime = client.app.state.runtime
    assert ask(client, "When are you open?")["outcome"] == "answered"
    assert ask(client, "Where are you located?")["outcome"] == "answered"
    first = ask(client, TINTING)
    assert first["outcome"] == "escalated"
    assert ask(client, DOG)["outcome"] == "escalated"
    tinting = client.get("/api/help-requests", params={"status": "pending", "order": "oldest"}).json()["items"][0]
    assert client.post(f"/api/help-requests/{tinting['id']}/resolve", json={"answer": "Yes, $15."}).status_code == 200
    # Two of the asks happened two days ago.
    old_asks = {row[0] for row in runtime.store.query("SELECT rowid FROM ask_log ORDER BY id LIMIT 2")}
    move_back(runtime.store, {"ask_log": old_asks}, 2)

    body = insights(client, 7)
    assert body["days"] == 7 and len(body["daily"]) == 7
    today = datetime.now().astimezone().date().isoformat()
    assert body["daily"][-1]["date"] == today and body["time_zone"]
    by_day = {day["date"]: day for day in body["daily"]}
    two_days_ago = body["daily"][-3]
    assert (two_days_ago["questions"], two_days_ago["auto_answered"], two_days_ago["auto_answer_rate"]) == (2, 2, 1.0)
    now = by_day[today]
    assert (now["questions"], now["auto_answered"], now["escalations"], now["resolved"]) == (2, 0, 2, 1)
    assert now["auto_answer_rate"] == 0.0 and now["median_answer_seconds"] >= 0
    assert sum(day["questions"] for day in body["daily"]) == body["totals"]["questions"] == 4
    assert body["totals"]["auto_answer_rate"] == 0.5 and body["totals"]["escalations"] == 2
    assert [day["questions"] for day in body["daily"][:4]] == [0, 0, 0, 0]
    assert body["daily"][0]["median_answer_seconds"] is None and body["daily"][0]["auto_answer_rate"] is None
    assert insights(client, 1)["totals"]["questions"] == 2  # today only


def test_escalated_questions_are_grouped_by_meaning_and_unused_entries_listed(client):
    for question in (TINTING, TINTING.capitalize(), DOG, WAXED):
        assert ask(client, question)["outcome"] == "escalated", question
    requests = client.get("/api/help-requests", params={"order": "oldest"}).json()["items"]
    assert [len(r["callers"]) for r in requests] == [2, 1, 1]  # the second tinting caller joined the first request
    tinting, dog, waxed = (r["id"] for r in requests)
    client.post(f"/api/help-requests/{dog}/resolve", json={"answer": "Only guide dogs, sorry.", "learn": False})

    top = insights(client)["top_escalated"]
    assert [(g["question"], g["asks"], g["requests"], g["unanswered"], g["help_request_ids"]) for g in top] == [
        (WAXED, 3, 2, 2, [waxed, tinting]),
        (DOG, 1, 1, 0, [dog]),  # answered, but not learned: it would escalate again
    ]
    learned = client.post(f"/api/help-requests/{waxed}/resolve", json={"answer": "Yes, $15."})
    assert learned.status_code == 200 and learned.json()["knowledge_id"] is not None
    assert [g["question"] for g in insights(client)["top_escalated"]] == [DOG]  # tinting is answered by itself now

    entries = client.get("/api/knowledge", params={"limit": 200}).json()["items"]
    assert ask(client, "When are you open?")["outcome"] == "answered"
    used = client.get("/api/knowledge", params={"q": "When are you open?", "limit": 1}).json()["items"][0]["id"]
    body = insights(client)
    assert body["unused_days"] == 30 and body["unused_total"] == len(entries) - 1
    assert used not in [entry["id"] for entry in body["unused_entries"]]
    # Used 40 days ago: not used in 30 days, so listed again, first (the longest unused).
    runtime = client.app.state.runtime
    move_back(runtime.store, {"knowledge_entries": {used}}, 40)
    body = insights(client)
    assert body["unused_total"] == len(entries) and body["unused_entries"][0]["id"] == used
    assert body["unused_entries"][0]["hit_count"] == 1


@pytest.mark.parametrize("days", ["0", "366", "-1", "abc", "1.5", "99999999999999999999"])
def test_days_outside_1_to_365_get_422(client, days):
    response = client.get("/api/insights", params={"days": days})
    assert response.status_code == 422 and "days" in response.json()["message"], response.text


def test_insights_need_the_supervisor(client):
    assert TestClient(client.app).get("/api/insights").status_code == 401
    assert insights(client, 365)["days"] == 365 and insights(client, 1)["days"] == 1
