"""The pending queue as a supervisor lives with it, in headless Chromium against the real service: similar
waiting questions answered together, alerts for new questions, and the queue at phone width."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser_support import open_console
from tests.support import AUTH, Receiver, verified_session, wait_for

pytestmark = pytest.mark.slow

TINTING = "do you do eyelash tinting?"
LIKE_IT = ["Do you offer eyelash tinting?", "Do you tint eyelashes?"]
UNLIKE = "how much is leg tinting?"
BROWS = "Yes, eyelash tinting is $15."


@pytest.fixture
def server(receiver, serve):  # the receiver first, so it outlives the server
    return serve(KB_CALLER_WEBHOOK_URL=receiver.url)


@pytest.fixture
def contexts(browser, server):
    """Depends on `server`, so the pages close before the server stops (no call page stream left open)."""
    opened = []

    def _new(**options):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 1000}, **options})
        opened.append(context)
        return context

    yield _new
    for context in opened:
        context.close()


def api(server, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def escalate(server, question: str, phone: str | None = None, receiver: Receiver | None = None) -> int:
    """With `receiver` (the SMS gateway), the caller first proves `phone`, so the answer is texted to it."""
    body: dict = {"question": question, "caller": {"phone": phone}}
    headers: dict = {}
    if receiver is not None:
        with httpx.Client(base_url=server.url) as http:
            body["session_id"], headers = verified_session(http, receiver, phone)
    asked = httpx.post(f"{server.url}/api/ask", json=body, headers=headers)
    assert asked.json()["outcome"] == "escalated", asked.text
    return request_id(server, question)


def request_id(server, question: str) -> int:
    pending = api(server, "GET", "/api/help-requests", params={"status": "pending", "limit": 100})["items"]
    return next(r["id"] for r in pending if r["question"] == question)


def choose(page: Page, help_request_id: int, question: str) -> None:
    page.locator("#pending-select input").click()
    page.get_by_role("option", name=f"#{help_request_id} · {question}").click()
    expect(page.locator("#answer-caller-question :is(input, textarea)")).to_have_value(question, timeout=10_000)


def call_page_asking(contexts, server, question: str) -> Page:
    """A caller on the call page who asks what the agent cannot answer, and waits."""
    page = contexts().new_page()
    page.goto(f"{server.url}/")
    page.get_by_test_id("question-input").fill(question)
    page.get_by_test_id("question-input").press("Enter")
    expect(page.get_by_test_id("waiting-note")).to_contain_text("Waiting for the supervisor", timeout=15_000)
    return page


# ---- similar waiting questions


def test_similar_waiting_questions_are_offered_the_answer_and_each_caller_is_followed_up(
    console, server, receiver, contexts
):
    first = escalate(server, TINTING, "555-000-0001", receiver)
    caller = call_page_asking(contexts, server, LIKE_IT[0])
    like_ids = [request_id(server, LIKE_IT[0]), escalate(server, LIKE_IT[1], "555-000-0003")]
    unlike = escalate(server, UNLIKE, "555-000-0004")

    expect(console.locator("#pending-table")).to_contain_text(UNLIKE, timeout=15_000)
    panel = console.locator("#similar-send")  # the panel shows with its button
    expect(panel).to_be_hidden()
    choose(console, first, TINTING)
    console.locator("#answer-text textarea").fill(BROWS)
    console.locator("#answer-send").click()
    expect(console.locator("#answer-result")).to_contain_text(f"Request #{first} resolved", timeout=20_000)

    expect(panel).to_be_visible(timeout=10_000)
    expect(console.locator("#similar-title")).to_contain_text(
        f"2 similar waiting questions: send them the answer to #{first} too?"
    )
    picks = console.locator("#similar-picks")
    expect(picks.get_by_role("checkbox")).to_have_count(2)
    expect(picks).to_contain_text(LIKE_IT[0])
    expect(picks).not_to_contain_text(UNLIKE)
    picks.get_by_label(f"#{like_ids[1]} · {LIKE_IT[1]}").uncheck()  # the supervisor keeps this one back
    console.locator("#similar-send").click()

    expect(console.locator("#answer-result")).to_contain_text(
        "Sent the answer to 1 more request (1 caller followed up).", timeout=20_000
    )
    expect(panel).to_be_hidden()
    queue = console.locator("#pending-table")
    expect(queue).not_to_contain_text(LIKE_IT[0], timeout=15_000)
    expect(queue).to_contain_text(LIKE_IT[1])
    expect(queue).to_contain_text(UNLIKE)

    # The caller on the call page hears the answer live; the webhook carries it too.
    expect(caller.get_by_test_id("transcript").locator("li.followup .text")).to_contain_text(BROWS, timeout=10_000)
    assert api(server, "GET", f"/api/help-requests/{like_ids[0]}")["answer"] == BROWS
    assert api(server, "GET", f"/api/help-requests/{unlike}")["status"] == "pending"
    # Only the caller who proved a number is texted; the call page caller left none.
    followups = wait_for(lambda: receiver.delivered("help_request.resolved"), what="the text")
    assert [f["json"]["data"]["caller_phone"] for f in followups] == ["555-000-0001"]


# ---- alerts

# Stand-ins for the speaker and the desktop's notifications (the outside world): each records what it was asked.
FAKE_ALERTS = """
window.__beeps = 0; window.__notes = [];
window.AudioContext = class {
  constructor() { this.state = "running"; this.currentTime = 0; this.destination = {}; }
  resume() {}
  createGain() { return {gain: {value: 0}, connect: (next) => next}; }
  createOscillator() {
    return {frequency: {value: 0}, connect: (next) => next, start: () => { window.__beeps += 1; }, stop() {}};
  }
};
window.Notification = class {
  constructor(title, options) { window.__notes.push(title + ": " + options.body); }
  close() {}
};
window.Notification.permission = "granted";
window.Notification.requestPermission = async () => "granted";
"""


def beeps(page: Page) -> int:
    return page.evaluate("window.__beeps")


def notes(page: Page) -> list[str]:
    return page.evaluate("window.__notes")


def test_new_questions_show_in_the_title_beep_and_notify_and_each_alert_can_be_switched_off(contexts, server):
    context = contexts()
    context.add_init_script(FAKE_ALERTS)
    page = open_console(context.new_page(), server.url)
    expect(page).to_have_title("FrontDesk KB · Supervisor", timeout=10_000)
    escalate(server, TINTING)
    expect(page).to_have_title("(1) FrontDesk KB · Supervisor", timeout=15_000)
    wait_for(lambda: beeps(page) == 1, what="a beep")
    assert notes(page) == ["New question for the supervisor: 1 question is waiting."]

    page.locator("#alert-sound input").uncheck()  # the supervisor switches the sound off
    escalate(server, "Do you have a vending machine?")
    expect(page).to_have_title("(2) FrontDesk KB · Supervisor", timeout=15_000)
    wait_for(lambda: len(notes(page)) == 2, what="the second notification")
    assert notes(page)[1] == "New question for the supervisor: 2 questions are waiting."
    assert beeps(page) == 1

    # Remembered: a reopened console keeps the sound off; notifications switched off there are off in the browser.
    again = context.new_page()
    again.goto(f"{server.url}/supervisor/")  # signed in already: the cookie is the browser's
    expect(again.locator("#console-header")).to_contain_text("pending", timeout=20_000)
    expect(again.locator("#alert-sound input")).not_to_be_checked(timeout=10_000)
    expect(again.locator("#alert-notify input")).to_be_checked()
    expect(again).to_have_title("(2) FrontDesk KB · Supervisor", timeout=15_000)
    again.locator("#alert-notify input").uncheck()
    assert again.evaluate("localStorage.getItem('frontdesk.alerts.notify')") == "off"
    escalate(server, "Can I bring my dog to my appointment?")
    for console in (page, again):  # the title and the alerts are set in one step: a new title means it has run
        expect(console).to_have_title("(3) FrontDesk KB · Supervisor", timeout=15_000)
    assert (beeps(page), len(notes(page)), beeps(again), notes(again)) == (1, 2, 0, [])


# ---- at phone width

# What a phone user would find broken: anything past the right edge (the page scrolls sideways), a button whose
# label is cut off, a button too small to tap, or a queue whose headers break into pieces.
LAYOUT_PROBLEMS = """() => {
  const width = window.innerWidth, problems = [];
  if (document.documentElement.scrollWidth > width) problems.push(`page is ${document.documentElement.scrollWidth}px wide`);
  const shown = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility === "visible" && s.display !== "none"; };
  for (const el of document.querySelectorAll(".gradio-container *")) {
    if (!shown(el) || el.closest("[role=tablist]")) continue;
    const r = el.getBoundingClientRect(), name = (el.id || el.tagName) + " " + (el.textContent || "").trim().slice(0, 30);
    if (r.right > width + 1) problems.push(`${name} ends at ${Math.round(r.right)}px`);
    if (el.tagName === "BUTTON" && el.textContent.trim()) {
      if (el.scrollWidth > el.clientWidth + 1) problems.push(`${name}: label cut off`);
      if (r.height < 32) problems.push(`${name}: ${Math.round(r.height)}px high`);
    }
  }
  for (const label of document.querySelectorAll("#pending-table th span")) {  // "Ca/ll/er/s" is no header
    const size = parseFloat(getComputedStyle(label).fontSize);
    if (shown(label) && label.getBoundingClientRect().height > 1.6 * size) problems.push(`${label.textContent} wraps`);
  }
  return problems;
}"""


def test_the_queue_and_the_answer_form_work_at_phone_width(contexts, server, tmp_path):
    dog = "Can I bring my dog to my appointment?"
    for question, caller in [(TINTING, "+1 555 123 4567"), (LIKE_IT[0], "+1 555 987 6543"), (dog, None)]:
        escalate(server, question, caller)
    page = open_console(
        contexts(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page(), server.url
    )
    queue = page.locator("#pending-table")
    expect(queue).to_contain_text(dog, timeout=15_000)
    expect(queue.get_by_role("row").filter(has_text=TINTING)).to_contain_text("•••4567")
    assert "; ".join(page.evaluate(LAYOUT_PROBLEMS)) == ""

    queue.get_by_role("gridcell", name=dog).tap()  # a tap on the row opens the request
    expect(page.locator("#answer-caller-question :is(input, textarea)")).to_have_value(dog, timeout=10_000)
    page.locator("#suggestions-more").tap()
    expect(page.locator("#use-suggestion-0")).to_be_visible()
    assert "; ".join(page.evaluate(LAYOUT_PROBLEMS)) == ""

    queue.get_by_role("gridcell", name=TINTING).tap()
    expect(page.locator("#answer-caller-question :is(input, textarea)")).to_have_value(TINTING, timeout=10_000)
    page.locator("#answer-text textarea").fill(BROWS)
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)  # docs/screenshots refreshes them
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "console-pending-phone.png"), full_page=True)
    page.locator("#answer-send").tap()
    expect(page.locator("#similar-send")).to_be_visible(timeout=20_000)
    expect(page.locator("#similar-send")).to_be_in_viewport()
    assert "; ".join(page.evaluate(LAYOUT_PROBLEMS)) == ""
    page.locator("#similar-send").tap()
    expect(page.locator("#answer-result")).to_contain_text("Sent the answer to 1 more request", timeout=20_000)
    expect(queue).not_to_contain_text(LIKE_IT[0], timeout=15_000)


# ---- the smaller things


def test_forms_wait_for_something_to_act_on_and_tables_open_rows_without_looking_editable(console, server):
    expect(console.locator("#answer-send")).to_be_hidden()  # no request picked: nothing to send
    first = escalate(server, TINTING)
    cell = console.locator("#pending-table").get_by_role("gridcell", name=TINTING)
    cell.click()
    expect(console.locator("#answer-send")).to_be_visible(timeout=10_000)
    outlined = "cell => [cell, ...cell.querySelectorAll('*')].filter(el => getComputedStyle(el).boxShadow !== 'none')"
    assert cell.evaluate(f"{outlined}.length") == 0  # no edit outline, on the cell or its text
    for button in cell.locator("button").all():
        expect(button).to_be_hidden()
    choose(console, first, TINTING)
    console.locator("#suggestions-more").click()
    expect(console.locator("#use-suggestion-0")).to_be_visible()
    one_line = "b => b.scrollWidth <= b.clientWidth && b.getBoundingClientRect().height < 60"
    assert console.locator("#use-suggestion-0").evaluate(one_line)  # "Use this answer", whole, on one line

    console.get_by_role("tab", name="Knowledge base").click()
    expect(console.locator("#kb-note")).to_contain_text("10 entries", timeout=15_000)
    for action in ("#kb-save", "#kb-delete", "#kb-add-phrasing"):
        expect(console.locator(action)).to_be_hidden()
    console.locator("#kb-table").get_by_role("gridcell", name="42 Maple Street", exact=False).first.click()
    expect(console.locator("#kb-entry-title")).to_contain_text("Entry #", timeout=10_000)
    expect(console.locator("#kb-save")).to_be_visible()
    console.locator("#kb-save").click()
    expect(console.locator("#kb-result")).to_contain_text("Saved entry", timeout=15_000)
    expect(console.locator("#kb-result")).to_be_in_viewport()  # the message is where the button was pressed
    console.locator("#kb-delete").click()
    for name in ("Add phrasing", "Yes, delete it", "Save changes"):  # one line each, label whole
        button = console.get_by_role("button", name=name)
        assert button.evaluate(one_line), name
    # Gradio's live region says an untranslated "common.complete" after each event: it is out of the
    # accessibility tree, so no screen reader reads it.
    announcers = console.locator("div.sr-only[role=status]")
    expect(announcers.first).to_be_attached()
    hidden = "els => els.every(el => getComputedStyle(el).display === 'none' || el.closest('[aria-hidden=true]'))"
    assert announcers.evaluate_all(hidden)
    expect(console.get_by_role("status").filter(has_text="common.")).to_have_count(0)


def test_knowledge_search_shows_what_matches_and_the_rest_on_request(console, server):
    console.get_by_role("tab", name="Knowledge base").click()
    note, table = console.locator("#kb-note"), console.locator("#kb-table")
    expect(note).to_contain_text("10 entries", timeout=15_000)
    headers = table.locator("th").evaluate_all("cells => cells.map(cell => cell.title)")
    assert headers == ["#", "Answer", "Phrasings", "Hits", "Last used"]  # no column left blank

    console.locator("#kb-query :is(input, textarea)").fill("tinting")
    console.locator("#kb-search").click()
    expect(note).to_contain_text("No entry comes close to that.", timeout=15_000)
    expect(table.get_by_role("gridcell")).to_have_count(0)
    console.locator("#kb-show-all").click()
    expect(note).to_contain_text("All 10 entries, nearest in meaning first.", timeout=15_000)
    expect(table.locator("th").last).to_have_attribute("title", "Match")
    expect(table.get_by_role("row")).to_have_count(11)

    console.locator("#kb-query :is(input, textarea)").fill("gift")  # one word: found by its text
    console.locator("#kb-search").click()
    expect(note).to_contain_text("1 of 10 entries match", timeout=15_000)
    expect(table.get_by_role("row").nth(1)).to_contain_text("gift cards")
    expect(console.locator("#kb-show-all")).to_have_text("Show all 10 entries, nearest first")


def test_times_say_their_time_zone_and_the_header_counts_questions(console, server):
    answered = httpx.post(f"{server.url}/api/ask", json={"question": "What are your opening hours?"}).json()
    assert answered["outcome"] == "answered", answered
    expect(console.locator("#console-header")).to_contain_text("100% of 1 question", timeout=15_000)
    console.get_by_role("tab", name="Knowledge base").click()
    hours = console.locator("#kb-table").get_by_role("row").filter(has_text="open Tuesday")
    expect(hours).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d [A-Z]{2,5}\b|[+-]\d{2}\b"), timeout=15_000)


# ---- screenshots for the docs


def screenshot(page: Page, name: str, tmp_path, full_page: bool = False) -> Path:
    """Set CONSOLE_SCREENSHOTS=docs/screenshots to refresh the committed ones."""
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def test_screenshots_of_the_queue_and_the_audit(contexts, server, tmp_path):
    page = open_console(contexts().new_page(), server.url)
    first = escalate(server, TINTING, "+1 555 123 4567")
    escalate(server, LIKE_IT[0], "+1 555 987 6543")
    escalate(server, "Can I bring my dog to my appointment?")
    expect(page.locator("#pending-table")).to_contain_text("dog", timeout=15_000)
    choose(page, first, TINTING)
    page.locator("#answer-text textarea").fill(BROWS)
    page.locator("#answer-send").click()
    expect(page.locator("#similar-send")).to_be_visible(timeout=20_000)
    expect(page.locator("#pending-table")).not_to_contain_text(TINTING, timeout=15_000)
    expect(page).to_have_title("(2) FrontDesk KB · Supervisor")
    screenshot(page, "console-pending", tmp_path, full_page=True)

    for question in ("What are your opening hours?", "Do you sell gift cards?"):
        asked = httpx.post(f"{server.url}/api/ask", json={"question": question}).json()
        assert asked["outcome"] == "answered", asked
    page.get_by_role("tab", name="Audit").click()
    expect(page.locator("#audit-right")).to_be_visible(timeout=15_000)
    screenshot(page, "console-audit", tmp_path)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#audit-right")).to_be_in_viewport()
    assert "; ".join(page.evaluate(LAYOUT_PROBLEMS)) == ""
    screenshot(page, "console-audit-phone", tmp_path, full_page=True)
