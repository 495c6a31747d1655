"""Call-backs in headless Chromium against the real service: a waiting caller presses "Call me back instead" on the
call page, and the supervisor finds them on the console's Call-backs tab with the full phone number, calls, and
marks them called back with a note.

Set CONSOLE_SCREENSHOTS=docs/screenshots to refresh the committed screenshot of the tab."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from kb_service.desk.help_requests import CHECKING_MESSAGE
from tests.browser_support import open_console
from tests.support import AUTH, open_session

pytestmark = pytest.mark.slow

TINTING = "Do you do eyelash tinting?"
PHONE = "+1 (555) 010-2030"


@pytest.fixture
def new_page(browser):
    contexts = []

    def _new(**kwargs):
        contexts.append(browser.new_context(**kwargs))
        page = contexts[-1].new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    yield _new
    for context in contexts:
        context.close()


def callbacks(server, status: str = "open") -> list[dict]:
    response = httpx.get(f"{server.url}/api/callbacks", params={"status": status}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_waiting_caller_asks_for_a_call_back_and_the_supervisor_marks_it(server, new_page, tmp_path):
    call = new_page()
    call.goto(server.url + "/")
    expect(call.get_by_test_id("transcript")).to_contain_text("how can I help?")
    button = call.get_by_test_id("callback-button")
    expect(button).to_be_hidden()  # nothing to wait for yet
    call.get_by_test_id("caller-name").fill("Ana Lima")
    call.get_by_test_id("question-input").fill(TINTING)
    call.get_by_test_id("question-input").press("Enter")
    expect(call.locator("li.agent .text").last).to_have_text(CHECKING_MESSAGE)

    button.click()  # no phone yet: said next to the field, nothing sent
    expect(call.get_by_test_id("phone-error")).to_have_text("Enter your phone number so we can call you back.")
    assert callbacks(server) == []
    call.get_by_test_id("caller-phone").fill(PHONE)
    button.click()  # straight from the field, as a person does: leaving it must not move the button mid-click
    expect(call.get_by_test_id("callback-note")).to_have_text(
        f"Thanks. Someone will call you back at {PHONE} as soon as they can."
    )
    expect(button).to_be_hidden()
    expect(call.get_by_test_id("phone-error")).to_have_text("")
    [item] = callbacks(server)
    assert (item["name"], item["phone"], item["question"], item["reason"]) == ("Ana Lima", PHONE, TINTING, "asked")
    call.reload()  # a reload keeps what was asked: no second button
    expect(call.get_by_test_id("waiting-note")).to_contain_text("Waiting for the supervisor on 1 question")
    expect(button).to_be_hidden()

    console = new_page(viewport={"width": 1280, "height": 900})
    open_console(console, server.url)
    # Elsewhere the phone is masked to its last 4 digits.
    expect(console.locator("#pending-table")).to_contain_text("•••2030", timeout=15_000)
    expect(console.locator("#pending-table")).not_to_contain_text(PHONE)
    console.get_by_role("tab", name="Call-backs").click()
    table = console.locator("#callbacks-table")
    expect(console.locator("#callbacks-count")).to_have_text(
        "1 caller to call back, the longest waiting first.", timeout=15_000
    )
    expect(table).to_contain_text(PHONE)  # in full, for the signed-in supervisor
    expect(table).to_contain_text("Ana Lima")
    expect(table).to_contain_text(TINTING)
    expect(table).to_contain_text("asked to be called back")
    expect(table).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d [A-Z]{2,5}"))  # the time, with its zone
    table.get_by_test_id("cell-0-3").click()
    expect(console.locator("#callbacks-select input")).to_have_value(re.compile(rf"^#{item['id']} · Ana"))
    console.locator("#callbacks-note textarea").fill("Booked her for Friday 3 pm.")
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(folder / "console-callbacks.png"))

    console.locator("#callbacks-mark").click()
    expect(console.locator("#callbacks-result")).to_have_text(
        f"Call-back #{item['id']} marked called back.", timeout=15_000
    )
    expect(console.locator("#callbacks-count")).to_contain_text("Nobody to call back.")
    expect(console.locator("#callbacks-note textarea")).to_have_value("")
    [done] = callbacks(server, "done")
    assert (done["id"], done["note"]) == (item["id"], "Booked her for Friday 3 pm.") and done["called_back_at"]

    console.get_by_role("radio", name="Called back").click()
    expect(console.locator("#callbacks-count")).to_have_text("1 call-back made, the latest first.", timeout=15_000)
    expect(table).to_contain_text("Booked her for Friday 3 pm.")
    assert call.errors == [] and console.errors == []


def ask_for_call_back(server, name: str, question: str, phone: str) -> int:
    """A caller on the API: a session, a question the agent cannot answer, then "call me back instead"."""
    with httpx.Client(base_url=server.url) as caller:
        session_id, proof = open_session(caller)
        asked = caller.post("/api/ask", json={"question": question, "session_id": session_id}, headers=proof)
        assert asked.json()["outcome"] == "escalated", asked.text
        reference = asked.json()["reference"]
        body = {"reference": reference, "phone": phone, "name": name}
        response = caller.post(f"/api/sessions/{session_id}/callbacks", json=body, headers=proof)
        assert response.status_code == 200, response.text
        return reference


def test_the_call_backs_tab_shows_new_callers_by_itself_and_keeps_the_one_being_marked(server, new_page):
    console = new_page(viewport={"width": 1280, "height": 900})
    open_console(console, server.url)
    console.get_by_role("tab", name="Call-backs").click()
    count = console.locator("#callbacks-count")
    expect(count).to_contain_text("Nobody to call back.", timeout=15_000)

    first = ask_for_call_back(server, "Ana Lima", TINTING, PHONE)
    expect(count).to_have_text("1 caller to call back, the longest waiting first.", timeout=15_000)  # no click
    console.locator("#callbacks-table").get_by_test_id("cell-0-3").click()
    expect(console.locator("#callbacks-select input")).to_have_value(re.compile(rf"^#{first} · Ana"))
    console.locator("#callbacks-note textarea").fill("Left a voicemail.")

    ask_for_call_back(server, "Bo Chen", "Can I bring my dog?", "+1 555 010 9999")
    expect(count).to_have_text("2 callers to call back, the longest waiting first.", timeout=15_000)
    expect(console.locator("#callbacks-table")).to_contain_text("Bo Chen")
    expect(console.locator("#callbacks-select input")).to_have_value(re.compile(rf"^#{first} · Ana"))
    expect(console.locator("#callbacks-note textarea")).to_have_value("Left a voicemail.")
    console.locator("#callbacks-mark").click()
    expect(console.locator("#callbacks-result")).to_have_text(f"Call-back #{first} marked called back.")
    assert [c["name"] for c in callbacks(server)] == ["Bo Chen"]
    assert console.errors == []
