"""A caller speaks into the call page and hears the answer: real audio (espeak-ng) played as Chromium's microphone,
recorded by the page, heard by the server's Whisper (KB_SPEECH=server), answered by the real service."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.speech_support import join, normalise, speak
from tests.support import AUTH, wait_for
from tests.voice_support import NO_WEB_SPEECH, SHORT_SPEECH, lines

HOURS = "We're open Tuesday to Friday"
WALK_INS = "we take walk-ins whenever a stylist is free"
PARKING_ANSWER = "free parking behind the building"

pytestmark = pytest.mark.slow

# window.__heard: the text of each transcription the page got back.
KEEP_HEARD = """
window.__heard = [];
const pageFetch = window.fetch.bind(window);
window.fetch = async (url, options) => {
  const response = await pageFetch(url, options);
  if (String(url).includes("api/transcribe") && response.ok) {
    response.clone().json().then((body) => window.__heard.push(body.text), () => {});
  }
  return response;
};
"""


def test_a_caller_without_web_speech_speaks_interrupts_and_hears_the_answer(server, microphone, tmp_path):
    page = microphone(speak("Do you take walk-ins?", tmp_path / "walk-ins.wav"), server.url, NO_WEB_SPEECH)
    assert page.evaluate("typeof window.SpeechRecognition + typeof window.webkitSpeechRecognition") == (
        "undefinedundefined"
    )

    page.get_by_test_id("call-button").click()
    expect(page.get_by_test_id("agent-status")).to_have_attribute("data-state", "speaking")  # the greeting

    expect(page.get_by_test_id("heard")).to_have_text(re.compile(r"Heard: .*walk.?ins", re.I), timeout=30_000)
    expect(lines(page, "caller").last).to_contain_text(re.compile("walk.?ins", re.I))
    expect(lines(page, "agent").last).to_contain_text(WALK_INS)
    assert page.evaluate("window.__cancelled") >= 1  # the caller spoke over the greeting: it stopped
    wait_for(lambda: WALK_INS in page.evaluate("window.__spoken")[-1], what="the answer to be spoken")
    assert page.errors == []


def test_the_agents_own_voice_heard_back_neither_stops_it_nor_is_asked(server, microphone, tmp_path):
    # The speakers' sound reaching the microphone: speech synthesis plays outside the browser's echo canceller.
    greeting = (
        "Hi, thanks for calling Bella Hair Studio. I'm the automated assistant: I can answer questions"
        " or have a person call you back, so how can I help?"
    )
    page = microphone(speak(greeting, tmp_path / "echo.wav"), server.url, NO_WEB_SPEECH + KEEP_HEARD)
    page.get_by_test_id("call-button").click()
    expect(page.get_by_test_id("agent-status")).to_have_attribute("data-state", "speaking")

    def first_sentence_heard() -> list[str] | None:
        heard = page.evaluate("window.__heard")
        return heard if len(heard) >= 2 and any("thanks for calling" in normalise(t) for t in heard) else None

    heard = wait_for(first_sentence_heard, timeout=30, what="the first second, then the first sentence")
    # Whisper tiny mishears a word or two of the long greeting ("a person call you back" as "am I person called
    # you Mac"): what is heard is still mostly the agent's own words, as the page's echo check counts them.
    own = set(normalise(greeting).split())
    assert all(
        sum(word in own for word in normalise(text).split()) >= 0.8 * len(normalise(text).split()) for text in heard
    ), heard
    # Never stopped: stopping cancels the synthesiser. (Whether it still speaks now depends on the page's watchdog
    # for a voice that never says it ended, which a busy machine can outrun.)
    assert page.evaluate("window.__cancelled") == 0
    expect(lines(page, "caller")).to_have_count(0)
    assert page.errors == []


def test_with_the_browsers_own_speech_apis_the_server_still_hears(server, microphone, tmp_path):
    page = microphone(speak("Where are you located?", tmp_path / "where.wav", voice="en-gb", speed=140), server.url)
    page.get_by_test_id("call-button").click()
    expect(page.get_by_test_id("heard")).to_have_text(re.compile(r"Heard: .*located", re.I), timeout=30_000)
    expect(lines(page, "agent").last).to_contain_text("42 Maple Street")
    assert page.errors == []


def test_a_spoken_yes_answers_the_confirmation(server, microphone, tmp_path):
    # "Do you have parking" lands between the confirmation and the answering threshold on the demo salon.
    question = speak("Do you have parking?", tmp_path / "parking.wav", after=5.0)  # time for the agent to ask back
    audio = join([question, speak("Yes.", tmp_path / "yes.wav")], tmp_path / "parking-yes.wav")
    page = microphone(audio, server.url, NO_WEB_SPEECH)
    page.get_by_test_id("call-button").click()

    expect(page.get_by_test_id("confirm")).to_be_visible(timeout=30_000)
    expect(lines(page, "agent").last).to_contain_text("Just to check")
    expect(lines(page, "caller").last).to_have_text(re.compile(r"^yes\W*$", re.I), timeout=30_000)
    expect(lines(page, "agent").last).to_contain_text(PARKING_ANSWER)
    expect(page.get_by_test_id("confirm")).to_be_hidden()
    assert page.errors == []


def test_push_to_talk_sends_what_was_said_while_held(server, microphone, tmp_path):
    # 4 s of silence after the question: the fake microphone loops the file, and the 4 s hold must end before
    # the question comes round again, even when the machine is slow to send the release.
    spoken = speak("What are your opening hours?", tmp_path / "hours.wav", after=4.0)
    page = microphone(spoken, server.url, NO_WEB_SPEECH)
    hold = page.get_by_test_id("push-to-talk-button")
    expect(hold).to_be_visible()
    hold.scroll_into_view_if_needed()  # below the fold of a 720 px window, under the caller's details
    box = hold.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    expect(hold).to_have_attribute("aria-pressed", "true")
    time.sleep(4.0)  # the caller holds the button while the question (0.5 s in, about 1.5 s long) is spoken
    page.mouse.up()

    expect(page.get_by_test_id("heard")).to_have_text(re.compile(r"Heard: .*opening hours", re.I), timeout=30_000)
    # Heard word for word, it is answered; heard a little off through the browser's audio processing ("what's up,
    # you're opening hours?"), the agent checks first. Either way it is about the question that was held.
    agent = lines(page, "agent").last
    checking = 'Just to check — are you asking: "What are your opening hours?"'
    expect(agent).to_contain_text(re.compile(f"{re.escape(HOURS)}|{re.escape(checking)}"))
    if checking in agent.text_content():
        page.get_by_test_id("confirm-yes").click()
    expect(agent).to_contain_text(HOURS)
    expect(page.get_by_test_id("agent-status")).not_to_have_attribute("data-state", "listening")  # mic off again
    assert page.errors == []


def test_a_blocked_microphone_is_said_plainly_and_typing_works(server, microphone, tmp_path):
    page = microphone(speak("Do you take walk-ins?", tmp_path / "walk-ins.wav"), server.url, allowed=False)
    page.get_by_test_id("call-button").click()
    expect(page.get_by_test_id("voice-note")).to_have_text(
        "The microphone is blocked: allow it in the browser, or type your question.", timeout=15_000
    )
    expect(page.get_by_test_id("agent-status")).not_to_have_attribute("data-state", "listening")
    page.get_by_test_id("question-input").fill("What are your opening hours?")
    page.get_by_test_id("question-input").press("Enter")
    expect(lines(page, "agent").last).to_contain_text(HOURS)
    assert page.errors == []


def test_without_a_microphone_the_page_says_so_and_typing_works(server, browser):
    page = browser.new_page()  # the shared headless Chromium has no microphone at all
    try:
        page.goto(server.url + "/")
        expect(page.get_by_test_id("transcript")).to_contain_text("how can I help?")
        page.get_by_test_id("call-button").click()
        expect(page.get_by_test_id("voice-note")).to_contain_text(
            re.compile(r"microphone is blocked|No working microphone"), timeout=15_000
        )
        expect(page.get_by_test_id("talk-button")).to_have_attribute("aria-pressed", "false")
        page.get_by_test_id("question-input").fill("What are your opening hours?")
        page.get_by_test_id("question-input").press("Enter")
        expect(lines(page, "agent").last).to_contain_text(HOURS)
    finally:
        page.close()


def test_with_speech_off_the_page_offers_typing_only(serve, browser):
    live = serve(KB_SPEECH="off")
    page = browser.new_page()
    try:
        page.goto(live.url + "/")
        expect(page.get_by_test_id("voice-note")).to_contain_text("Voice input is off")
        expect(page.get_by_test_id("talk-button")).to_be_disabled()
        expect(page.get_by_test_id("push-to-talk-button")).to_be_hidden()
        page.get_by_test_id("question-input").fill("What are your opening hours?")
        page.get_by_test_id("question-input").press("Enter")
        expect(lines(page, "agent").last).to_contain_text(HOURS)
    finally:
        page.close()


def test_a_spoken_call_greets_answers_a_follow_up_and_ends_on_goodbye(server, microphone, tmp_path):
    # Each turn, then time for it to be heard, asked and answered before the next one starts.
    # Worded so Whisper tiny hears espeak-ng's voice right ("what about Saturday?" came out "welcome out Saturday").
    turns = ["What time do you open?", "And on Saturdays?", "Thanks, bye."]
    audio = join(
        [speak(text, tmp_path / f"turn-{i}.wav", after=6.0) for i, text in enumerate(turns)], tmp_path / "call.wav"
    )
    page = microphone(audio, server.url, SHORT_SPEECH)
    expect(lines(page, "agent").first).to_contain_text("automated assistant")
    page.get_by_test_id("call-button").click()

    expect(lines(page, "caller")).to_have_count(3, timeout=60_000)
    heard = [normalise(text) for text in lines(page, "caller").all_text_contents()]
    assert "open" in heard[0] and "saturday" in heard[1] and "bye" in heard[2], heard
    agent = lines(page, "agent")
    expect(agent).to_have_count(4)  # the greeting, two answers and the closing line
    expect(agent.nth(1)).to_contain_text(HOURS)
    expect(agent.nth(2)).to_contain_text("Saturday")  # read in the light of the question before it

    expect(page.get_by_test_id("transcript").locator("li.ended")).to_have_count(1)
    expect(page.get_by_test_id("agent-status")).to_have_attribute("data-state", "ended")
    expect(page.get_by_test_id("call-button")).to_have_text("Start a new call")
    expect(page.get_by_test_id("talk-button")).to_have_attribute("aria-pressed", "false")
    closing = agent.last.text_content()
    assert page.evaluate("window.__spoken")[-1] == closing  # said aloud before the call ended
    requests = httpx.get(f"{server.url}/api/help-requests", headers=AUTH).json()
    assert requests["total"] == 0  # nothing here was a question for the supervisor
    assert page.errors == []

    page.get_by_test_id("call-button").click()  # a new call: a blank transcript and the greeting again
    expect(lines(page, "caller")).to_have_count(0)
    expect(lines(page, "agent")).to_have_count(1)
    expect(page.get_by_test_id("call-button")).to_have_text("End call")
