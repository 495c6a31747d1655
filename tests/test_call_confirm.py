"""Confirmation with the caller, end to end: the call page in real Chromium asks "Just to check — are you
asking …?", and the caller's Yes, No, or spoken yes settles it through POST /api/confirmations/{id}."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from kb_service.desk.confirmations import MISUNDERSTOOD_MESSAGE
from tests.support import AUTH

# On the demo salon, each lands between the confirmation and the answering threshold.
PARKING = "do you have parking"
PARKING_ANSWER = "free parking behind the building"
COLOUR_PRICE = "how much does colouring cost"

pytestmark = pytest.mark.slow

# The browser's speech engines are the outside world: the test decides what the microphone hears.
FAKE_SPEECH = """
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
Object.defineProperty(window, "speechSynthesis", {configurable: true, value: {speak() {}, cancel() {}}});
window.SpeechRecognition = class {
  constructor() { window.__recognition = this; }
  start() { setTimeout(() => this.onstart && this.onstart({}), 0); }
  stop() { setTimeout(() => this.onend && this.onend({}), 0); }
  abort() { this.stop(); }
};
window.__hear = (text) => {
  const result = [{transcript: text}]; result.isFinal = true;
  window.__recognition.onresult({resultIndex: 0, results: [result]});
};
"""


@pytest.fixture
def server(serve):
    # The browser's Web Speech API (faked below) hears the caller here; tests/test_voice_call.py hears real audio.
    return serve(KB_SPEECH="browser")


@pytest.fixture
def page(browser, server) -> Page:
    context = browser.new_context()
    context.add_init_script(FAKE_SPEECH)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    expect(page.get_by_test_id("transcript")).to_contain_text("how can I help?")
    yield page
    context.close()
    assert errors == []


def ask(page: Page, text: str) -> None:
    page.get_by_test_id("question-input").fill(text)
    page.get_by_test_id("question-input").press("Enter")


def agent_lines(page: Page):
    return page.get_by_test_id("transcript").locator("li.agent .text")


def verdicts(server) -> list[dict]:
    quality = httpx.get(f"{server.url}/api/quality", headers=AUTH).json()
    return quality["bands"]


def test_yes_gives_the_answer_and_counts_as_a_right_match(page, server):
    ask(page, PARKING)
    expect(agent_lines(page).last).to_contain_text('Just to check — are you asking: "Is there parking nearby?"')
    expect(page.get_by_test_id("confirm")).to_be_visible()

    page.get_by_test_id("confirm-yes").click()

    expect(agent_lines(page).last).to_contain_text(PARKING_ANSWER)
    expect(page.get_by_test_id("confirm")).to_be_hidden()
    bands = verdicts(server)
    assert sum(b["labels"] for b in bands) == 1 and sum(b["right"] for b in bands) == 1
    assert httpx.get(f"{server.url}/api/help-requests", headers=AUTH).json()["total"] == 0


def test_no_escalates_the_question_to_the_supervisor(page, server):
    ask(page, COLOUR_PRICE)
    expect(page.get_by_test_id("confirm")).to_be_visible()

    page.get_by_test_id("confirm-no").click()

    expect(agent_lines(page).last).to_have_text(MISUNDERSTOOD_MESSAGE)  # not "Good question": the agent misheard
    expect(page.get_by_test_id("waiting-note")).to_contain_text("Waiting for the supervisor on 1 question")
    requests = httpx.get(f"{server.url}/api/help-requests", headers=AUTH).json()["items"]
    assert [r["question"] for r in requests] == [COLOUR_PRICE]
    bands = verdicts(server)
    assert sum(b["labels"] for b in bands) == 1 and sum(b["right"] for b in bands) == 0


def test_a_spoken_yes_answers_the_confirmation(page, server):
    page.get_by_test_id("talk-button").click()
    page.evaluate("text => window.__hear(text)", PARKING)
    expect(page.get_by_test_id("confirm")).to_be_visible()

    page.evaluate("window.__hear('yes')")

    expect(agent_lines(page).last).to_contain_text(PARKING_ANSWER)
    expect(page.get_by_test_id("confirm")).to_be_hidden()


def test_a_question_beginning_with_sure_is_asked_not_taken_for_a_yes(page, server):
    ask(page, PARKING)
    expect(page.get_by_test_id("confirm")).to_be_visible()
    ask(page, "sure, what time?")
    expect(agent_lines(page)).to_have_count(3)  # the greeting, the check, and the reply to this question
    expect(page.get_by_test_id("transcript")).not_to_contain_text(PARKING_ANSWER)  # the check was not answered yes


def test_a_typed_no_escalates_and_a_second_answer_is_refused(page, server):
    ask(page, PARKING)
    expect(page.get_by_test_id("confirm")).to_be_visible()
    ask(page, "no")
    expect(agent_lines(page).last).to_have_text(MISUNDERSTOOD_MESSAGE)  # not "Good question": the agent misheard

    # The same confirmation answered again, as a replayed request would: 409, nothing changes.
    log = httpx.get(f"{server.url}/api/help-requests", headers=AUTH).json()
    assert log["total"] == 1
    confirmation = httpx.post(f"{server.url}/api/ask", json={"question": PARKING}).json()
    assert confirmation["outcome"] == "confirm"
    first = httpx.post(f"{server.url}/api/confirmations/{confirmation['confirmation_id']}", json={"confirmed": True})
    again = httpx.post(f"{server.url}/api/confirmations/{confirmation['confirmation_id']}", json={"confirmed": False})
    assert (first.status_code, first.json()["outcome"]) == (200, "answered")
    assert again.status_code == 409
