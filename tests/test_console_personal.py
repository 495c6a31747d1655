"""The console's ticks for a personal answer (issue 26, item 3), in headless Chromium against the real service: a
request with more than one waiting caller lists the others by reference, name and masked phone, and those ticked
get the answer too (`include_references`); a request with one caller shows no ticks."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser_support import choose_request, pending_table
from tests.support import AUTH, open_session
from tests.test_personal_answers import PERSONAL, escalate, followup

pytestmark = pytest.mark.slow


def test_ticked_callers_get_a_personal_answer_and_the_others_do_not(console, server):
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        jane, jim, sam = open_session(http), open_session(http), open_session(http)
        first = escalate(http, jane, "Jane")
        ticked = escalate(http, jim, "Jim")  # nearly Jane's question: both join her request
        unticked = escalate(http, sam, "Sam")
        [request] = http.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        lone = http.post("/api/ask", json={"question": "Can I bring my parrot?"}).json()
        assert lone["outcome"] == "escalated"
        items = http.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        lone_id = next(item["id"] for item in items if item["id"] != request["id"])

    expect(pending_table(console)).to_contain_text("parrot", timeout=15_000)
    choose_request(console, lone_id)
    expect(console.locator("#answer-text textarea")).to_be_visible()
    expect(console.locator("#answer-include")).to_be_hidden()  # one caller: nobody else to tick

    choose_request(console, request["id"])
    ticks = console.locator("#answer-include")
    expect(ticks).to_be_visible(timeout=10_000)
    expect(ticks).to_contain_text(f"caller who asked first (reference {first})")
    labels = ticks.locator("label")
    expect(labels).to_have_text([f"Reference {ticked} · Jim", f"Reference {unticked} · Sam"])
    labels.filter(has_text="Jim").click()
    console.locator("#answer-text textarea").fill(PERSONAL)
    console.locator("#answer-send").click()
    result = console.locator("#answer-result")
    expect(result).to_contain_text("Follow-up sent to 2 waiting callers.", timeout=15_000)
    expect(result).to_contain_text("Not learned and sent only to the caller who asked and the 1 caller you ticked")

    assert followup(server, jane)["answer"] == PERSONAL
    assert followup(server, jim)["answer"] == PERSONAL
    assert followup(server, sam)["answer"] is None
