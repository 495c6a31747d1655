"""The caller's call page in a real headless Chromium, against the real service, model and demo knowledge base."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect

from kb_service.api.app import create_app
from kb_service.desk.help_requests import CHECKING_MESSAGE
from tests.support import AUTH, LiveServer, free_port, make_settings, wait_for

KNOWN = "What are your opening hours?"
HOURS = "We're open Tuesday to Friday"
UNKNOWN = "Do you do eyelash tinting?"
XSS = "<img src=x onerror=alert(1)>"
NO_SPEECH = """
for (const name of ["speechSynthesis", "SpeechSynthesisUtterance", "SpeechRecognition", "webkitSpeechRecognition"]) {
  try { delete window[name]; } catch (e) {}
  try { Object.defineProperty(window, name, {value: undefined, configurable: true}); } catch (e) {}
}
"""

# Stand-ins for the browser's speech engines (the outside world): speech never ends by itself, and the test
# decides what the microphone hears.
FAKE_SPEECH = """
window.__spoken = []; window.__cancelled = 0; window.__current = null;
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
Object.defineProperty(window, "speechSynthesis", {configurable: true, value: {
  speak(u) { window.__spoken.push(u.text); window.__current = u; },
  cancel() { window.__cancelled += 1; window.__current = null; },
}});
window.SpeechRecognition = class {
  constructor() { window.__recognition = this; this.running = false; }
  start() { this.running = true; setTimeout(() => this.onstart && this.onstart({}), 0); }
  stop() { if (!this.running) return; this.running = false; setTimeout(() => this.onend && this.onend({}), 0); }
  abort() { this.stop(); }
};
window.__hear = (text, isFinal) => {
  const result = [{transcript: text}]; result.isFinal = isFinal;
  window.__recognition.onresult({resultIndex: 0, results: [result]});
};
"""


class Call:
    """One browser page on the call page, recording page errors, console errors and every request."""

    def __init__(self, browser, url: str, init_script: str | None = None, **context_args):
        self.context = browser.new_context(**context_args)
        if init_script:
            self.context.add_init_script(init_script)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(url + "/")
        expect(self.transcript).to_contain_text("how can I help?")

    @property
    def transcript(self):
        return self.page.get_by_test_id("transcript")

    def ask(self, question: str) -> None:
        self.page.get_by_test_id("question-input").fill(question)
        self.page.get_by_test_id("question-input").press("Enter")

    def lines(self, kind: str):
        return self.transcript.locator(f"li.{kind} .text")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_call(browser):
    calls = []

    def _open(url: str, **kwargs) -> Call:
        call = Call(browser, url, **kwargs)
        calls.append(call)
        return call

    yield _open
    for call in calls:
        call.close()


def pending_request(server: LiveServer, question: str) -> dict:
    def find():
        items = httpx.get(f"{server.url}/api/help-requests", params={"status": "pending"}, headers=AUTH).json()
        return next((r for r in items["items"] if r["question"] == question), None)

    return wait_for(find, what=f"a pending help request for {question!r}")


def resolve(server: LiveServer, help_request_id: int, answer: str) -> None:
    response = httpx.post(
        f"{server.url}/api/help-requests/{help_request_id}/resolve", headers=AUTH, json={"answer": answer}
    )
    assert response.status_code == 200, response.text


def test_greets_by_business_name_and_answers_a_known_question(serve, open_call):
    server = serve(KB_BUSINESS_NAME="Maple Street Cuts")
    call = open_call(server.url)
    expect(call.lines("agent").first).to_have_text(
        "Hi, thanks for calling Maple Street Cuts. I'm the automated assistant: I can answer questions"
        " or have a person call you back, so how can I help?"
    )
    expect(call.page.get_by_test_id("business-name")).to_have_text("Maple Street Cuts")

    call.ask(KNOWN)

    expect(call.lines("caller").last).to_have_text(KNOWN)
    expect(call.lines("agent").last).to_contain_text(HOURS)
    expect(call.page.get_by_test_id("question-input")).to_have_value("")
    expect(call.page.get_by_test_id("agent-status")).not_to_have_attribute("data-state", "thinking")
    assert call.errors == []


def test_ask_button_sends_too_and_blank_input_sends_nothing(serve, open_call):
    call = open_call(serve().url)
    call.page.get_by_test_id("ask-button").click()
    call.page.get_by_test_id("question-input").fill("   ")
    call.page.get_by_test_id("question-input").press("Enter")
    call.page.get_by_test_id("question-input").fill("Where are you located?")
    call.page.get_by_test_id("ask-button").click()

    expect(call.lines("agent").last).to_contain_text("42 Maple Street")
    expect(call.lines("caller")).to_have_count(1)


def test_unknown_question_waits_for_the_supervisor_and_the_follow_up_arrives_live(serve, open_call):
    server = serve()
    call = open_call(server.url)
    call.page.get_by_test_id("caller-name").fill("Dana")
    call.page.get_by_test_id("caller-phone").fill("+1 555 0100")

    call.ask(UNKNOWN)
    expect(call.lines("agent").last).to_have_text(CHECKING_MESSAGE)
    expect(call.page.get_by_test_id("waiting-note")).to_contain_text("Waiting for the supervisor on 1 question")
    status = call.page.get_by_test_id("agent-status")
    expect(status).to_have_attribute("data-state", "waiting")  # not "Idle" while the supervisor is asked
    expect(status).to_have_text("Waiting on staff")
    request = pending_request(server, UNKNOWN)
    assert request["caller_name"] == "Dana"
    assert request["caller_phone"] == "+1 555 0100"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", request["session_id"])

    call.ask(KNOWN)  # the caller carries on meanwhile
    expect(call.lines("agent").last).to_contain_text(HOURS)

    resolve(server, request["id"], "Yes, eyelash tinting is $15.")

    followup = call.lines("followup")
    expect(followup).to_have_count(1, timeout=5000)
    expect(followup.first).to_have_text(
        'Hi Dana, this is Bella Hair Studio following up on "Do you do eyelash tinting?": Yes, eyelash tinting is $15.'
    )
    expect(call.page.get_by_test_id("waiting-note")).to_have_text("")
    expect(status).to_have_attribute("data-state", "idle")
    assert call.errors == []


def test_a_dropped_connection_neither_misses_nor_repeats_a_follow_up(embedder, tmp_path, open_call):
    port = free_port()
    settings = make_settings(tmp_path / "data")

    def start() -> LiveServer:
        return LiveServer(create_app(settings, embedder), port).__enter__()  # the port the page reconnects to

    server = start()
    call = open_call(server.url)
    call.ask(UNKNOWN)
    resolve(server, pending_request(server, UNKNOWN)["id"], "Yes, tinting is $15.")
    expect(call.lines("followup")).to_have_count(1, timeout=5000)
    call.ask("Do you sell shampoo?")
    second = pending_request(server, "Do you sell shampoo?")

    server.__exit__(None, None, None)  # the line drops while the caller waits
    server = start()
    try:
        resolve(server, second["id"], "Yes, we sell our own shampoo.")
        # A list asserts the count too: a repeat of the first follow-up would make three lines.
        expect(call.lines("followup")).to_have_text(
            [re.compile("Yes, tinting is \\$15\\.$"), re.compile("Yes, we sell our own shampoo\\.$")], timeout=15000
        )
        # A repeat could still be on its way. The stream delivers in order, so once a third, later follow-up
        # is shown, anything resent before it would be on the page too.
        call.ask("Can I bring my dog to my appointment?")
        resolve(server, pending_request(server, "Can I bring my dog to my appointment?")["id"], "Only small dogs.")
        expect(call.lines("followup")).to_have_text(
            [
                re.compile("Yes, tinting is \\$15\\.$"),
                re.compile("Yes, we sell our own shampoo\\.$"),
                re.compile("Only small dogs\\.$"),
            ],
            timeout=15000,
        )
        # The drop itself shows as a failed load in the console; the page's own code never threw.
        assert [e for e in call.errors if e.startswith("pageerror")] == []
    finally:
        server.__exit__(None, None, None)


def test_a_request_that_times_out_gets_the_apology(serve, open_call):
    server = serve(KB_REQUEST_TIMEOUT_SECONDS=1)
    call = open_call(server.url)

    call.ask(UNKNOWN)
    expect(call.lines("agent").last).to_have_text(CHECKING_MESSAGE)

    expect(call.lines("apology").first).to_have_text(
        'Hi, this is Bella Hair Studio. Sorry, we could not get you an answer to "Do you do eyelash tinting?" '
        "in time. Someone will call you back as soon as possible.",
        timeout=15000,
    )
    expect(call.lines("followup")).to_have_count(0)  # an apology is not styled as an answer
    assert call.errors == []


def test_html_in_questions_answers_and_names_shows_literally(serve, open_call):
    server = serve(KB_BUSINESS_NAME="<b>Bold</b> Salon")
    call = open_call(server.url)
    expect(call.lines("agent").first).to_have_text(
        "Hi, thanks for calling <b>Bold</b> Salon. I'm the automated assistant: I can answer questions"
        " or have a person call you back, so how can I help?"
    )
    call.page.get_by_test_id("caller-name").fill(XSS)

    call.ask(XSS)
    expect(call.lines("caller").last).to_have_text(XSS)
    expect(call.lines("agent").last).to_have_text(CHECKING_MESSAGE)
    resolve(server, pending_request(server, XSS)["id"], "<script>alert(2)</script><img src=y onerror=alert(3)>")

    expect(call.lines("followup").first).to_contain_text(
        "<script>alert(2)</script><img src=y onerror=alert(3)>", timeout=5000
    )
    expect(call.lines("followup").first).to_contain_text(f"Hi {XSS}, this is <b>Bold</b> Salon")
    assert call.page.locator("img, b, main script").count() == 0
    assert call.dialogs == []
    assert call.errors == []


def test_a_bad_phone_gets_a_plain_message_by_the_field_and_the_question_is_kept(serve, open_call):
    call = open_call(serve().url)
    call.page.get_by_test_id("caller-phone").fill("call me maybe")
    call.ask(KNOWN)
    expect(call.page.get_by_test_id("phone-error")).to_contain_text("Please enter a phone number")
    expect(call.page.get_by_test_id("question-input")).to_have_value(KNOWN)  # nothing lost
    expect(call.lines("error")).to_have_count(0)  # no raw validation text in the conversation
    expect(call.lines("caller")).to_have_count(0)

    call.page.get_by_test_id("caller-phone").fill("+1 555 0100")
    call.page.get_by_test_id("ask-button").click()  # straight from the fixed field: leaving it moves nothing
    expect(call.lines("agent").last).to_contain_text(HOURS)
    expect(call.page.get_by_test_id("phone-error")).to_have_text("")
    expect(call.page.get_by_test_id("agent-status")).to_have_attribute("data-state", "idle")


def test_without_speech_apis_the_page_degrades_to_typing_without_errors(serve, open_call):
    call = open_call(serve(KB_SPEECH="browser").url, init_script=NO_SPEECH)
    assert call.page.evaluate("typeof window.speechSynthesis === 'undefined' && !window.webkitSpeechRecognition")
    expect(call.page.get_by_test_id("talk-button")).to_be_disabled()
    expect(call.page.get_by_test_id("voice-note")).to_contain_text("type your question")
    expect(call.page.get_by_test_id("livekit-status")).to_have_text("")  # nothing a caller can act on

    call.page.get_by_test_id("call-button").click()
    call.ask(KNOWN)
    expect(call.lines("agent").last).to_contain_text(HOURS)
    call.ask(UNKNOWN)
    expect(call.lines("agent").last).to_have_text(CHECKING_MESSAGE)
    call.page.get_by_test_id("call-button").click()
    expect(call.page.get_by_test_id("agent-status")).to_have_attribute("data-state", "waiting")  # its answer comes

    assert not any(urlsplit(url).path == "/vendor/livekit-client.umd.js" for url in call.requests)
    assert call.errors == []


def test_keyboard_alone_reaches_the_question_and_sends_it(serve, open_call):
    call = open_call(serve().url)
    page = call.page
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.testid") == "question-input":
            break
    assert page.evaluate("document.activeElement.dataset.testid") == "question-input"
    page.keyboard.type(KNOWN)
    page.keyboard.press("Enter")
    expect(call.lines("agent").last).to_contain_text(HOURS)


def test_the_transcript_scrolls_inside_a_fixed_height(serve, open_call):
    call = open_call(serve().url, viewport={"width": 390, "height": 844})
    box = call.transcript.bounding_box()
    form = call.page.get_by_test_id("ask-button").bounding_box()
    for _ in range(4):
        call.ask(KNOWN)
    expect(call.lines("agent")).to_have_count(5)
    assert call.transcript.bounding_box() == box
    assert call.page.get_by_test_id("ask-button").bounding_box() == form
    assert call.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_livekit_client_loads_from_the_local_file(serve, open_call):
    livekit_port = free_port()  # nothing listens here: joining fails, the call goes on
    server = serve(
        LIVEKIT_URL=f"ws://127.0.0.1:{livekit_port}",
        LIVEKIT_API_KEY="devkey",
        LIVEKIT_API_SECRET="a-test-secret-that-is-long-enough-for-hs256",
    )
    call = open_call(server.url)

    wait_for(
        lambda: call.page.evaluate("typeof window.LivekitClient === 'object' && !!window.LivekitClient.Room"),
        what="window.LivekitClient",
    )
    expect(call.page.get_by_test_id("livekit-status")).to_contain_text("LiveKit is on")
    assert f"{server.url}/vendor/livekit-client.umd.js" in call.requests
    scripts = call.page.evaluate("Array.from(document.scripts, s => s.src)")
    assert f"{server.url}/vendor/livekit-client.umd.js" in scripts

    call.page.get_by_test_id("call-button").click()
    wait_for(lambda: f"{server.url}/api/livekit/token" in call.requests, what="the token request")
    expect(call.page.get_by_test_id("livekit-status")).to_contain_text("couldn't join", timeout=30000)
    call.ask(KNOWN)
    expect(call.lines("agent").last).to_contain_text(HOURS)

    for url in call.requests:
        parts = urlsplit(url)
        assert parts.scheme == "data" or parts.hostname == "127.0.0.1", f"request left the machine: {url}"


@pytest.mark.parametrize(
    "name,viewport", [("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})]
)
def test_screenshots(serve, open_call, tmp_path, name, viewport):
    """Set CALL_PAGE_SCREENSHOTS=docs/screenshots to refresh the committed screenshots."""
    server = serve()
    call = open_call(server.url, viewport=viewport)
    call.page.get_by_test_id("caller-name").fill("Dana")
    call.ask(KNOWN)
    expect(call.lines("agent").last).to_contain_text(HOURS)
    call.ask(UNKNOWN)
    expect(call.lines("agent").last).to_have_text(CHECKING_MESSAGE)
    resolve(server, pending_request(server, UNKNOWN)["id"], "Yes, eyelash tinting is $15 and takes 15 minutes.")
    expect(call.lines("followup")).to_have_count(1, timeout=5000)
    call.page.get_by_test_id("question-input").focus()
    folder = Path(os.environ.get("CALL_PAGE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"call-page-{name}.png"
    call.page.screenshot(path=str(path))

    # What a viewer sees: a picture of the whole viewport, with the conversation drawn in it.
    shot = Image.open(path).convert("L")
    assert shot.size == (viewport["width"], viewport["height"])
    box = call.transcript.bounding_box()
    assert box["width"] > 200 and box["height"] > 100 and box["y"] < viewport["height"]
    visible_bottom = min(box["y"] + box["height"], viewport["height"])
    transcript = shot.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(visible_bottom)))
    low, high = transcript.getextrema()
    assert high - low > 100, "the transcript area is blank"  # dark text on a light page, or the reverse
    assert len(transcript.getcolors(transcript.width * transcript.height)) > 20  # anti-aliased text, not a fill
    blank = Image.new("L", shot.size, shot.getpixel((0, 0)))
    assert ImageChops.difference(shot, blank).getbbox() is not None


def test_starting_and_ending_a_call_with_the_browsers_speech_apis_has_no_errors(serve, open_call):
    call = open_call(serve(KB_SPEECH="browser").url)
    status = call.page.get_by_test_id("agent-status")

    call.page.get_by_test_id("call-button").click()
    expect(call.page.get_by_test_id("call-button")).to_have_text("End call")
    call.ask(KNOWN)
    expect(call.lines("agent").last).to_contain_text(HOURS)
    expect(status).not_to_have_attribute("data-state", re.compile("thinking|speaking"), timeout=20000)
    call.page.get_by_test_id("call-button").click()

    expect(call.page.get_by_test_id("call-button")).to_have_text("Start call")
    expect(status).to_have_attribute("data-state", "idle")
    expect(call.page.get_by_test_id("talk-button")).to_have_attribute("aria-pressed", "false")
    assert call.errors == []


def test_voice_greets_ignores_its_own_echo_and_lets_the_caller_interrupt(serve, open_call):
    call = open_call(serve(KB_SPEECH="browser").url, init_script=FAKE_SPEECH)
    page, status = call.page, call.page.get_by_test_id("agent-status")
    greeting = (
        "Hi, thanks for calling Bella Hair Studio. I'm the automated assistant: I can answer questions"
        " or have a person call you back, so how can I help?"
    )

    page.get_by_test_id("call-button").click()
    expect(status).to_have_attribute("data-state", "speaking")
    assert page.evaluate("window.__spoken") == [greeting]
    wait_for(lambda: page.evaluate("window.__recognition.running"), what="the microphone to open")

    page.evaluate("window.__hear('thanks for calling Bella', false)")  # its own voice, heard back
    page.evaluate("window.__hear('hi thanks for calling Bella hair studio how can I help', true)")
    expect(call.page.get_by_test_id("heard")).to_have_text("")
    expect(call.lines("caller")).to_have_count(0)
    assert page.evaluate("window.__cancelled") == 0
    expect(status).to_have_attribute("data-state", "speaking")

    page.evaluate("window.__hear('what are your', false)")  # the caller talks over it
    expect(call.page.get_by_test_id("heard")).to_have_text("Heard: what are your…")
    assert page.evaluate("window.__cancelled") >= 1
    expect(status).to_have_attribute("data-state", "listening")

    page.evaluate("window.__hear('what are your opening hours', true)")
    expect(call.lines("caller").last).to_have_text("what are your opening hours")
    expect(call.lines("agent").last).to_contain_text(HOURS)
    wait_for(lambda: HOURS in (page.evaluate("window.__spoken")[-1]), what="the answer to be spoken")

    page.get_by_test_id("question-input").type("and")  # typing interrupts too
    assert page.evaluate("window.__cancelled") >= 2
    expect(status).to_have_attribute("data-state", "listening")
    assert call.errors == []


@pytest.mark.parametrize(
    "name,viewport", [("desktop", {"width": 1366, "height": 850}), ("phone", {"width": 390, "height": 844})]
)
def test_the_microphone_buttons_are_explained_on_the_page_and_in_the_readme(serve, open_call, name, viewport):
    call = open_call(serve().url, viewport=viewport)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### The call page") : readme.index("### Who hears the caller")]
    for testid in ["call-button", "talk-button", "push-to-talk-button"]:
        button = call.page.get_by_test_id(testid)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (testid, box)
        assert button.get_attribute("title"), testid  # what it does, on hover and to screen readers
        assert f"| **{button.text_content()}** |" in section, f"the README does not explain {button.text_content()!r}"
    assert call.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert call.errors == []


# FAKE_SPEECH, but each utterance ends a moment after it starts, as a real voice would.
QUICK_SPEECH = FAKE_SPEECH.replace(
    "speak(u) { window.__spoken.push(u.text); window.__current = u; }",
    "speak(u) { window.__spoken.push(u.text); setTimeout(() => u.onend && u.onend({}), 50); }",
)


def test_a_typed_call_is_greeted_handed_to_a_person_and_ends_on_goodbye(serve, open_call):
    server = serve()
    call = open_call(server.url, init_script=QUICK_SPEECH)
    page, agent = call.page, call.lines("agent")
    expect(agent.first).to_contain_text("automated assistant")

    call.ask("hi there")
    expect(agent).to_have_count(2)  # handled by the agent itself ("replied"), shown and spoken like an answer
    wait_for(lambda: page.evaluate("window.__spoken").count(agent.last.text_content()) == 1, what="the reply spoken")

    call.ask("can I talk to a real person?")
    expect(agent).to_have_count(3)  # "handoff": someone will call back; with no number yet, it asks for one
    wait_for(lambda: agent.last.text_content() in page.evaluate("window.__spoken"), what="the hand-off spoken")
    call.ask("it's 415 555 0177")
    expect(agent).to_have_count(4)
    callbacks = lambda: httpx.get(f"{server.url}/api/callbacks", headers=AUTH).json()["items"]  # noqa: E731
    wait_for(lambda: any("0177" in item["phone"] for item in callbacks()), what="the hand-off's call-back")

    call.ask("thanks, bye")
    expect(call.transcript.locator("li.ended")).to_have_count(1)  # once the closing line is spoken
    assert agent.last.text_content() in page.evaluate("window.__spoken")
    expect(page.get_by_test_id("agent-status")).to_have_attribute("data-state", "ended")
    expect(page.get_by_test_id("call-button")).to_have_text("Start a new call")
    assert httpx.get(f"{server.url}/api/help-requests", headers=AUTH).json()["total"] == 0
    assert call.errors == []
