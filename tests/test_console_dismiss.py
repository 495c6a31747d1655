"""Clearing the queue in headless Chromium against the real service: Dismiss (nobody texted, nothing learned),
several requests dismissed or answered at once, and the call's earlier questions beside each one."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser_support import choose_request, pending_table
from tests.support import AUTH, open_session

pytestmark = pytest.mark.slow

TEST_CALL = "testing, testing, is this line working?"
WRONG_NUMBER = "wrong number, sorry, I wanted the bakery"
TEST = "testing testing one two three"
SATURDAY = "what about on Saturday for a colour appointment?"
DOG = "Can I bring my dog to my appointment?"
PARROT = "Can I bring my parrot to my appointment?"


@pytest.fixture
def server(receiver, serve):  # the receiver first, so it outlives the server
    return serve(KB_CALLER_WEBHOOK_URL=receiver.url)


def api(server, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH, timeout=30, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def ask(server, question: str, session=None, **caller) -> dict:
    body: dict = {"question": question, "caller": caller}
    headers = {}
    if session:
        body["session_id"], headers = session[0], session[1]
    response = httpx.post(f"{server.url}/api/ask", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def request_id(server, question: str) -> int:
    items = api(server, "GET", "/api/help-requests", params={"status": "pending", "limit": 100})["items"]
    return next(item["id"] for item in items if item["question"] == question)


def status(server, help_request_id: int) -> str:
    return api(server, "GET", f"/api/help-requests/{help_request_id}")["status"]


def test_dismiss_clears_a_request_and_texts_nobody(console, server, receiver):
    with httpx.Client(base_url=server.url) as http:
        session = open_session(http)
    opening = ask(server, "What time do you open?", session)
    assert opening["outcome"] == "answered"
    reference = ask(server, SATURDAY, session, phone="+1 415 555 0177")["reference"]
    saturday = request_id(server, SATURDAY)
    ask(server, TEST_CALL, phone="+1 415 555 0100")
    test_call = request_id(server, TEST_CALL)

    row = pending_table(console).get_by_role("row").filter(has_text=SATURDAY)
    expect(row).to_contain_text("“What time do you open?” → answered", timeout=15_000)

    choose_request(console, saturday)
    expect(console.locator("#answer-transcript textarea")).to_have_value(
        re.compile(r"^“What time do you open\?” → answered “" + re.escape(opening["answer"][:30]))
    )
    expect(console.locator("#answer-reference")).to_contain_text(f"Request #{saturday}")
    expect(console.locator("#answer-reference")).to_contain_text(f"given reference {reference}")

    choose_request(console, test_call)
    expect(console.locator("#answer-transcript")).to_be_hidden()  # no call session: nothing earlier
    console.locator("#answer-dismiss").click()
    expect(console.locator("#answer-result")).to_contain_text(
        f"Request #{test_call} dismissed: nobody was texted and nothing was learned.", timeout=15_000
    )
    expect(pending_table(console)).not_to_contain_text(TEST_CALL, timeout=15_000)
    expect(console.locator("#answer-send")).to_be_hidden()
    expect(console.locator("#console-header")).to_contain_text("1 dismissed today")
    assert status(server, test_call) == "dismissed"
    assert api(server, "GET", "/api/callbacks", params={"status": "all"})["items"] == []
    assert receiver.delivered() == []  # no text to the caller
    assert status(server, saturday) == "pending"


def test_several_requests_are_dismissed_or_answered_together(console, server, receiver):
    for question in (TEST_CALL, WRONG_NUMBER, TEST, DOG, PARROT):
        ask(server, question, phone="+1 415 555 0101")
    ids = {question: request_id(server, question) for question in (TEST_CALL, WRONG_NUMBER, TEST, DOG, PARROT)}
    entries = api(server, "GET", "/api/knowledge")["total"]
    expect(pending_table(console)).to_contain_text(PARROT, timeout=15_000)

    console.locator("#bulk-panel").get_by_text("Select several").click()
    picks = console.locator("#bulk-picks")
    for question in (TEST_CALL, WRONG_NUMBER, TEST):
        picks.get_by_label(f"#{ids[question]} · {question}").check()
    console.locator("#bulk-dismiss").click()
    expect(console.locator("#bulk-result")).to_contain_text(
        "Dismissed 3 requests: nobody was texted and nothing was learned.", timeout=20_000
    )
    expect(pending_table(console)).not_to_contain_text(WRONG_NUMBER, timeout=15_000)
    expect(picks.get_by_role("checkbox")).to_have_count(2)
    assert {status(server, ids[q]) for q in (TEST_CALL, WRONG_NUMBER, TEST)} == {"dismissed"}

    for question in (DOG, PARROT):
        picks.get_by_label(f"#{ids[question]} · {question}").check()
    console.locator("#bulk-answer textarea").fill("Sorry, no pets, apart from guide dogs.")
    console.locator("#bulk-send").click()
    expect(console.locator("#bulk-result")).to_contain_text(
        "Answered 2 requests (2 callers followed up).", timeout=20_000
    )
    expect(console.get_by_text("No callers are waiting")).to_be_visible(timeout=15_000)
    answered = [api(server, "GET", f"/api/help-requests/{ids[q]}") for q in (DOG, PARROT)]
    assert {a["answer"] for a in answered} == {"Sorry, no pets, apart from guide dogs."}
    # Learned once: one new entry, both questions its phrasings.
    assert answered[0]["knowledge_id"] == answered[1]["knowledge_id"] is not None
    assert api(server, "GET", "/api/knowledge")["total"] == entries + 1
    entry = api(server, "GET", f"/api/knowledge/{answered[0]['knowledge_id']}")
    assert sorted(p["question"] for p in entry["phrasings"]) == sorted([DOG, PARROT])
    assert receiver.delivered("help_request.resolved") == []  # their numbers were never proved: no texts
    totals = api(server, "GET", "/api/insights", params={"days": 1})["totals"]
    assert (totals["dismissed"], totals["escalations"]) == (3, 2)

    console.get_by_role("tab", name="Insights").click()
    expect(console.locator("#insights-totals")).to_contain_text("3 dismissed as not a question", timeout=15_000)
