"""The console at phone width (390 px) in headless Chromium: Call-backs and Knowledge base as stacked cards, numbers
as tap-to-call links that never wrap mid-number, names whole, and a tap on an entry's card opens it."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser_support import open_console
from tests.support import AUTH, open_session

pytestmark = pytest.mark.slow

PHONE = "415-555-0177"
NAME = "Bartholomew Featherstonehaugh"
XSS = "<img src=x onerror=alert(1)>"

# Elements that stick out of the screen, and text broken inside a word or a number.
LAYOUT = """(selector) => {
  const problems = [], width = window.innerWidth;
  if (document.documentElement.scrollWidth > width) problems.push(`page ${document.documentElement.scrollWidth}px`);
  for (const el of document.querySelectorAll(`${selector} *`)) {
    const r = el.getBoundingClientRect();
    if (r.width > 1 && r.right > width + 1) problems.push(`${el.tagName} ends at ${Math.round(r.right)}px`);
  }
  return problems;
}"""


def lines_of(page: Page, selector: str) -> int:
    """How many lines the element's text takes (one line: a whole number or name)."""
    return page.evaluate(
        """(selector) => { const el = document.querySelector(selector); const range = document.createRange();
        range.selectNodeContents(el); const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        return tops.size; }""",
        selector,
    )


def phone_console(browser, server) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = open_console(context.new_page(), server.url)
    return page


def ask_for_call_back(server, question: str, name: str, phone: str) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        session_id, headers = open_session(http)
        asked = http.post("/api/ask", json={"question": question, "session_id": session_id}, headers=headers)
        reference = asked.json()["reference"]
        body = {"reference": reference, "phone": phone, "name": name}
        requested = http.post(f"/api/sessions/{session_id}/callbacks", json=body, headers=headers)
        assert requested.status_code == 200, requested.text


def test_call_backs_are_cards_with_tap_to_call_numbers(browser, server, dialogs):
    ask_for_call_back(server, "do you do eyelash tinting?", NAME, PHONE)
    ask_for_call_back(server, f"{XSS} can I park?", XSS, "+1 (415) 555-0100")
    page = phone_console(browser, server)
    try:
        page.get_by_role("tab", name="Call-backs").click()
        expect(page.locator("#callbacks-table")).to_contain_text(NAME, timeout=15_000)
        expect(page.locator("#callbacks-cards")).to_be_hidden()  # a desktop keeps the table
        page.set_viewport_size({"width": 390, "height": 844})
        cards = page.locator("#callbacks-cards .card")
        expect(cards).to_have_count(2)
        expect(page.locator("#callbacks-table")).to_be_hidden()
        first = cards.nth(0)
        expect(first).to_contain_text(NAME)
        expect(first).to_contain_text("do you do eyelash tinting?")
        link = first.get_by_role("link", name=PHONE)
        expect(link).to_have_attribute("href", "tel:4155550177")
        assert lines_of(page, "#callbacks-cards .card:nth-child(1) a.phone") == 1
        expect(cards.nth(1).get_by_role("link")).to_have_attribute("href", "tel:+14155550100")
        expect(cards.nth(1)).to_contain_text(XSS)  # shown as text, never run
        assert page.evaluate(LAYOUT, "#callbacks-cards") == []
        assert page.locator("img[src='x']").count() == 0 and dialogs == []
    finally:
        page.context.close()


def test_knowledge_entries_are_cards_and_a_tap_opens_one(browser, server):
    page = phone_console(browser, server)
    try:
        page.get_by_role("tab", name="Knowledge base").click()
        expect(page.locator("#kb-note")).to_contain_text("entries", timeout=15_000)
        page.set_viewport_size({"width": 390, "height": 844})
        cards = page.locator("#kb-cards .card")
        total = httpx.get(f"{server.url}/api/knowledge", headers=AUTH).json()["total"]
        expect(cards).to_have_count(total)
        expect(page.locator("#kb-table")).to_be_hidden()
        assert page.evaluate(LAYOUT, "#kb-cards") == []
        second = httpx.get(f"{server.url}/api/knowledge", headers=AUTH).json()["items"][1]
        cards.nth(1).click()
        expect(page.locator("#kb-entry-title")).to_contain_text(f"Entry #{second['id']}", timeout=10_000)
        expect(page.locator("#kb-edit-answer textarea")).to_have_value(second["answer"])
    finally:
        page.context.close()
