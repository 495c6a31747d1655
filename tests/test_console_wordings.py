"""The console's Audit tab in headless Chromium against the real service: callers' confirmed wordings listed,
ticked and approved or dropped in bulk, each decision checked through the public API."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.support import AUTH, wait_for

pytestmark = pytest.mark.slow

# On the demo salon, each lands in a check band: parking, and the colouring price.
PARKING, COLOUR = "do you have parking", "how much does colouring cost"
MARKUP = "do you have parking <b>'--?"  # markup a caller typed: shown as text, never as a bold tag


@pytest.fixture
def wordings(console, server):
    """The console signed in on the Audit tab, once the service's start-up calibration set the check band."""
    wait_for(lambda: api(server, "GET", "/api/stats")["calibration"], timeout=60, what="a calibration at start")
    console.get_by_role("tab", name="Audit").click()
    return console


def api(server, method: str, path: str, **kwargs):
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH, timeout=30, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def confirmed(server, question: str) -> dict:
    """A call asks `question`, hears "Just to check — are you asking …?" and says yes."""
    with httpx.Client(base_url=server.url, timeout=30) as web:
        session = web.post("/api/sessions").json()
        headers = {"X-Session-Token": session["session_token"]}
        reply = web.post("/api/ask", json={"question": question, "session_id": session["session_id"]}, headers=headers)
        assert reply.json()["outcome"] == "confirm", reply.text
        yes = web.post(
            f"/api/confirmations/{reply.json()['confirmation_id']}", json={"confirmed": True}, headers=headers
        )
        assert yes.json()["outcome"] == "answered", yes.text
    return reply.json()


def test_wordings_are_approved_and_dropped_in_bulk(wordings, server):
    count = wordings.locator("#wordings-count")
    expect(count).to_have_text("No callers' wordings to approve.", timeout=15_000)
    parking = confirmed(server, PARKING)
    confirmed(server, COLOUR)

    # The console's timer brings them in by itself.
    expect(count).to_contain_text("2 callers' wordings to approve.", timeout=15_000)
    picks = wordings.locator("#wordings-picks")
    expect(picks).to_contain_text(f"“{PARKING}” → entry #{parking['knowledge_id']}")
    expect(picks).to_contain_text(f"“{COLOUR}”")

    picks.get_by_label(PARKING, exact=False).check()
    wordings.locator("#wordings-approve").click()
    expect(wordings.locator("#wordings-result")).to_have_text(
        "Approved 1 wording: each is a phrasing of its entry now, answered from the next call on.", timeout=15_000
    )
    expect(count).to_contain_text("1 caller's wording to approve.")
    entry = api(server, "GET", f"/api/knowledge/{parking['knowledge_id']}")
    assert PARKING in [p["question"] for p in entry["phrasings"]]
    asked = api(server, "POST", "/api/ask", json={"question": PARKING})
    assert asked["outcome"] == "answered"

    wordings.locator("#wordings-drop").click()  # nothing ticked: nothing happens
    expect(wordings.locator("#wordings-result")).to_have_text("Tick the wordings first.")
    picks.get_by_label(COLOUR, exact=False).check()
    wordings.locator("#wordings-drop").click()
    expect(wordings.locator("#wordings-result")).to_have_text(
        "Dropped 1 wording: never learned, and not proposed again.", timeout=15_000
    )
    expect(count).to_have_text("No callers' wordings to approve.")
    dropped = api(server, "GET", "/api/pending-phrasings", params={"status": "dropped"})["items"]
    assert [item["question"] for item in dropped] == [COLOUR]


def test_caller_text_is_shown_literally(wordings, server, dialogs):
    confirmed(server, MARKUP)
    expect(wordings.locator("#wordings-picks")).to_contain_text(MARKUP, timeout=15_000)
    assert wordings.locator("#wordings-picks b").count() == 0
    assert dialogs == []
