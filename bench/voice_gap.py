"""The caller's gap: from the end of their words to the first word of the agent's reply, on the real call page.

Each question is played once by Chromium's fake microphone (`--use-file-for-fake-audio-capture=<wav>%noloop`, with
seconds of silence after the words, as the fake device would loop it otherwise) into the call page of a running
service (KB_SPEECH=server). The page finds the end of the sentence, sends it to POST /api/transcribe, asks what was
heard and speaks the reply. An init script wraps `speechSynthesis.speak` (the reply's first word is when the page
calls it; the stand-in ends each utterance at once, so the greeting is over before the caller speaks) and watches
the microphone's level: the words' onset on the page's clock plus their length in the WAV (known from the file
built) gives the moment they end. Browsers without the Web Speech API are stood for, so the server hears every
sentence.

Each clip is played once per way of ending the caller's turn (agent_web/mic.js, chosen by the page's `?turn=`),
the ways taking turns clip by clip (their order rotating), so that they meet the same machine. Beside each gap, from
the page's own timing: when the sentence that was used went to POST /api/transcribe, when its text came back, when
the ask went out, and what ended the turn (the performance mark "frontdesk-turn-end")."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import sync_playwright

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS
from tests.speech_support import Clip
from tests.support import wait_for
from tests.voice_support import ONSET_WATCH

# The speech synthesiser's stand-in: each utterance ends at once; the moment `speak` is called is kept.
TIMING = """
for (const name of ["SpeechRecognition", "webkitSpeechRecognition"]) {
  try { delete window[name]; } catch (e) {}
  try { Object.defineProperty(window, name, {value: undefined, configurable: true}); } catch (e) {}
}
window.__spoken = [];
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
Object.defineProperty(window, "speechSynthesis", {configurable: true, value: {
  speak(u) { window.__spoken.push([performance.now(), u.text]); setTimeout(() => u.onend && u.onend(), 0); },
  cancel() {},
}});
"""


@dataclass(frozen=True)
class Gap:
    clip: Clip
    seconds: float  # end of the words to the reply's first word
    heard: str
    reply: str
    sent: float  # end of the words to the transcription used being sent
    transcribed: float  # ... to its text coming back
    asked: float  # ... to POST /api/ask going out
    ended_by: str  # what ended the turn: "words", "silence", ...


def measure(url: str, clips: list[Clip], turns: tuple[str, ...] = ("early",), timeout: float = 60) -> dict:
    """{turn: the gap of each clip}, one fresh Chromium each (the fake microphone's file is fixed at launch)."""
    gaps: dict[str, list[Gap]] = {turn: [] for turn in turns}
    with sync_playwright() as playwright:
        for n, clip in enumerate(clips):
            for turn in turns[n % len(turns) :] + turns[: n % len(turns)]:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=[
                        *CHROMIUM_ARGS,
                        "--use-fake-ui-for-media-stream",
                        "--use-fake-device-for-media-stream",
                        f"--use-file-for-fake-audio-capture={clip.path}%noloop",
                        "--autoplay-policy=no-user-gesture-required",
                    ],
                )
                try:
                    gaps[turn].append(_one(browser, f"{url}/?turn={turn}", clip, timeout))
                finally:
                    browser.close()
    return gaps


TIMES = """(onset) => {
  const requests = (path) => performance.getEntriesByType("resource").filter((e) => e.name.includes(path));
  const ask = requests("/api/ask").find((e) => e.startTime > onset);
  const used = requests("/api/transcribe").filter((e) => e.responseEnd <= ask.startTime + 1).pop();
  const end = performance.getEntriesByName("frontdesk-turn-end").filter((m) => m.startTime > onset).pop();
  return [used.startTime, used.responseEnd, ask.startTime, end ? end.detail.by : ""];
}"""


def _one(browser, page_url: str, clip: Clip, timeout: float) -> Gap:
    page = browser.new_page()
    page.add_init_script(TIMING + ONSET_WATCH)
    page.goto(page_url)
    page.get_by_test_id("transcript").filter(has_text="how can I help?").wait_for()
    page.get_by_test_id("call-button").click()
    # The page's CSP forbids page.wait_for_function's eval: poll from here (the times are taken in the page).
    onset = wait_for(lambda: page.evaluate("window.__onset"), timeout, what="the words to reach the page")
    spoken_at, reply = wait_for(
        lambda: next(((at, text) for at, text in page.evaluate("window.__spoken") if at > onset), None),
        timeout,
        what="the reply to be spoken",
    )
    sent, transcribed, asked, ended_by = page.evaluate(TIMES, onset)
    heard = page.get_by_test_id("heard").text_content() or ""
    ends = onset + (clip.speech_ends - clip.speech_starts) * 1000
    return Gap(
        clip,
        (spoken_at - ends) / 1000,
        heard.removeprefix("Heard: "),
        reply,
        (sent - ends) / 1000,
        (transcribed - ends) / 1000,
        (asked - ends) / 1000,
        ended_by,
    )
