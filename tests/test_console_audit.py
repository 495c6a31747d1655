"""The console's Audit tab in headless Chromium against the real service: sampled auto-answers marked Right or
Wrong by clicking, the verdicts checked through the public API, and the precision shown in the header."""

from __future__ import annotations

import math

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support import AUTH

pytestmark = pytest.mark.slow

# Phrasings of the demo salon's entries: each is answered outright and, as its entry's first answer, audited.
HAIRCUT, WALK_INS, GIFT_CARDS = "How much is a haircut?", "Do you take walk-ins?", "Do you sell gift cards?"
MARKUP = "Do you take walk-ins <b>?"  # markup a caller typed: shown as text, never as a bold tag
EMPTY = "Nothing to review: the agent's recent answers have all been checked."


@pytest.fixture
def audit(console):
    """The console signed in, on the Audit tab."""
    console.get_by_role("tab", name="Audit").click()
    return console


def api(server, method: str, path: str, **kwargs) -> httpx.Response:
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def answered(server, question: str) -> dict:
    body = api(server, "POST", "/api/ask", json={"question": question})
    assert body["outcome"] == "answered", body
    return body


def shown_question(page: Page):
    return page.locator("#audit-question :is(input, textarea)")


def shown_answer(page: Page):
    return page.locator("#audit-answer :is(input, textarea)")


def test_right_and_wrong_clicks_land_as_verdicts_and_move_the_precision(audit, server):
    header = audit.locator("#console-header")
    expect(header).to_contain_text("Auto-answer precision: not measured yet · 0 to review")
    expect(audit.locator("#audit-count")).to_have_text(EMPTY)
    expect(audit.locator("#audit-right")).to_be_hidden()

    for question in (HAIRCUT, WALK_INS, GIFT_CARDS):
        answered(server, question)
    waiting = api(server, "GET", "/api/audits")
    assert [item["question"] for item in waiting["items"]] == [HAIRCUT, WALK_INS, GIFT_CARDS]
    first, second, third = waiting["items"]

    # The console's timer brings the oldest one in by itself.
    expect(shown_question(audit)).to_have_value(HAIRCUT, timeout=15_000)
    expect(shown_answer(audit)).to_have_value(first["answer"])
    expect(audit.locator("#audit-caption")).to_contain_text(f"Auto-answer #{first['id']}")
    expect(audit.locator("#audit-caption")).to_contain_text(f"entry #{first['knowledge_id']}")
    expect(audit.locator("#audit-count")).to_have_text("3 auto-answers to review, oldest first.")

    audit.locator("#audit-right").click()
    expect(audit.locator("#audit-result")).to_have_text(f"Auto-answer #{first['id']} marked right.", timeout=15_000)
    expect(shown_question(audit)).to_have_value(WALK_INS)
    expect(audit.locator("#audit-count")).to_have_text("2 auto-answers to review, oldest first.")

    audit.locator("#audit-wrong").click()
    expect(audit.locator("#audit-result")).to_contain_text(f"Auto-answer #{second['id']} marked wrong.", timeout=15_000)
    expect(shown_question(audit)).to_have_value(GIFT_CARDS)
    expect(shown_answer(audit)).to_have_value(third["answer"])
    expect(audit.locator("#audit-count")).to_have_text("1 auto-answer to review, oldest first.")

    left = api(server, "GET", "/api/audits")
    assert (left["total"], [item["id"] for item in left["items"]]) == (1, [third["id"]])
    quality = api(server, "GET", "/api/quality")
    assert (quality["labels"], quality["precision"], quality["audits_waiting"]) == (2, 0.5, 1)
    interval = f"{math.floor(quality['lower'] * 100)}–{math.ceil(quality['upper'] * 100)}%"
    assert interval == "9–91%"  # the Wilson interval of 1 right in 2
    expect(header).to_contain_text(f"Auto-answer precision 50% (95% CI {interval}, 2 checks) · 1 to review")

    audit.locator("#audit-right").click()
    expect(audit.locator("#audit-count")).to_have_text(EMPTY, timeout=15_000)
    expect(audit.locator("#audit-right")).to_be_hidden()
    expect(header).to_contain_text("Auto-answer precision 67% (95% CI")
    expect(header).to_contain_text("3 checks) · 0 to review")
    assert api(server, "GET", "/api/audits")["total"] == 0


def test_one_marked_elsewhere_is_said_and_the_next_one_follows(audit, server):
    answered(server, HAIRCUT)
    answered(server, WALK_INS)
    first, second = api(server, "GET", "/api/audits")["items"]
    expect(shown_question(audit)).to_have_value(HAIRCUT, timeout=15_000)

    api(server, "POST", f"/api/audits/{first['id']}", json={"correct": True})
    # The next refresh says so but leaves the answer being read where it is.
    expect(audit.locator("#audit-count")).to_contain_text(
        f"Auto-answer #{first['id']} was just marked by someone else", timeout=15_000
    )
    expect(shown_question(audit)).to_have_value(HAIRCUT)

    audit.locator("#audit-wrong").click()
    expect(audit.locator("#audit-result")).to_have_text(
        f"Auto-answer #{first['id']} had already been marked, so this click changed nothing.", timeout=15_000
    )
    expect(shown_question(audit)).to_have_value(WALK_INS)
    quality = api(server, "GET", "/api/quality")
    assert (quality["labels"], quality["precision"]) == (1, 1.0)  # the other supervisor's verdict stands
    assert [item["id"] for item in api(server, "GET", "/api/audits")["items"]] == [second["id"]]


def test_caller_text_is_shown_literally(audit, server, dialogs):
    answered(server, MARKUP)
    expect(shown_question(audit)).to_have_value(MARKUP, timeout=15_000)
    assert audit.locator("#audit-card b").count() == 0
    assert audit.locator("#console-header b").count() == 0
    assert dialogs == []


def test_the_buttons_fit_side_by_side_on_a_phone(audit, server):
    audit.set_viewport_size({"width": 390, "height": 844})
    answered(server, GIFT_CARDS)
    buttons = [audit.locator("#audit-right"), audit.locator("#audit-wrong")]
    expect(buttons[0]).to_be_visible(timeout=15_000)
    right, wrong = (button.bounding_box() for button in buttons)
    assert abs(right["y"] - wrong["y"]) < 1, (right, wrong)  # one row, not wrapped
    assert right["x"] + right["width"] <= wrong["x"]
    assert wrong["x"] + wrong["width"] <= 390
    for button in buttons:  # nothing clipped inside either button
        assert button.evaluate("b => b.scrollWidth <= b.clientWidth && b.scrollHeight <= b.clientHeight")
