"""The smaller things a newcomer hit, in headless Chromium against the real service: Audit's Wrong opens the entry,
no stale "Added entry #N" after deleting it, the similar-questions offer survives leaving the tab, and a title and
status lines that need no emoji font."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser_support import choose_request, pending_table
from tests.support import AUTH

pytestmark = pytest.mark.slow

# Pictographs that need an emoji font (a plain font shows them as empty boxes).
EMOJI = re.compile("[\u2600-\u27bf\U0001f300-\U0001faff]")


def api(server, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH, timeout=30, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def escalate(server, question: str) -> int:
    asked = httpx.post(f"{server.url}/api/ask", json={"question": question}, timeout=30).json()
    assert asked["outcome"] == "escalated", asked
    items = api(server, "GET", "/api/help-requests", params={"status": "pending"})["items"]
    return next(item["id"] for item in items if item["question"] == question)


def test_wrong_in_the_audit_opens_the_entry_to_fix(console, server):
    asked = httpx.post(f"{server.url}/api/ask", json={"question": "What time do you open?"}, timeout=30).json()
    assert asked["outcome"] == "answered"
    console.get_by_role("tab", name="Audit").click()
    expect(console.locator("#audit-question :is(input, textarea)")).to_have_value("What time do you open?")
    console.locator("#audit-wrong").click()
    button = console.locator("#audit-open-entry")
    expect(button).to_have_text(f"Open entry #{asked['knowledge_id']} to fix it", timeout=15_000)
    button.click()
    expect(console.locator("#kb-entry-title")).to_contain_text(f"Entry #{asked['knowledge_id']}", timeout=15_000)
    expect(console.locator("#kb-edit-answer textarea")).to_have_value(asked["answer"])
    expect(console.get_by_role("tab", name="Knowledge base")).to_have_attribute("aria-selected", "true")


def test_deleting_an_entry_clears_the_line_that_announced_it(console, server):
    console.get_by_role("tab", name="Knowledge base").click()
    console.get_by_text("Add an entry by hand").click()
    console.locator("#kb-create-answer textarea").fill("We sell gift wrap for $2.")
    console.locator("#kb-create-questions textarea").fill("Do you sell gift wrap?")
    console.locator("#kb-create").click()
    created = console.locator("#kb-create-result")
    expect(created).to_contain_text("Added entry #", timeout=15_000)
    number = re.search(r"#(\d+)", created.inner_text()).group(1)
    console.locator("#kb-delete").click()
    console.locator("#kb-delete-yes").click()
    expect(console.locator("#kb-result")).to_have_text(f"Deleted entry #{number}.", timeout=15_000)
    expect(created).not_to_contain_text(f"#{number}")


def test_the_similar_offer_survives_leaving_the_tab(console, server):
    first = escalate(server, "do you do eyelash tinting?")
    escalate(server, "Do you offer eyelash tinting?")
    expect(pending_table(console)).to_contain_text("Do you offer eyelash tinting?", timeout=15_000)
    choose_request(console, first)
    console.locator("#answer-text textarea").fill("Yes, eyelash tinting is $15.")
    console.locator("#answer-send").click()
    expect(console.locator("#similar-send")).to_be_visible(timeout=20_000)
    console.get_by_role("tab", name="History").click()
    expect(console.locator("#history-table")).to_contain_text("eyelash", timeout=15_000)
    console.get_by_role("tab", name="Pending").click()
    expect(console.locator("#similar-send")).to_be_visible()
    expect(console.locator("#similar-picks")).to_contain_text("Do you offer eyelash tinting?")


def test_the_title_and_status_lines_need_no_emoji_font(console, server):
    help_request_id = escalate(server, "Can I bring my parrot?")
    choose_request(console, help_request_id)
    console.locator("#answer-text textarea").fill("Sadly not.")
    console.locator("#answer-send").click()
    expect(console.locator("#answer-result")).to_contain_text("resolved", timeout=20_000)
    text = console.locator(".gradio-container").inner_text()
    assert EMOJI.findall(text) == []
    # The title in the system's own font, so "KB" is drawn in one face, not "Kʙ".
    title_font = console.evaluate("() => getComputedStyle(document.querySelector('.gradio-container h2')).fontFamily")
    assert "Source Sans" not in title_font and "system-ui" in title_font
