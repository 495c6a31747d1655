"""The caller's gap: from the end of their words to the first word of the agent's reply, on the real call page.

Each question is played once by Chromium's fake microphone (`--use-file-for-fake-audio-capture=<wav>%noloop`, with
seconds of silence after the words, as the fake device would loop it otherwise) into the call page of a running
service (KB_SPEECH=server). The page finds the end of the sentence, sends it to POST /api/transcribe, asks what was
heard and speaks the reply. An init script wraps `speechSynthesis.speak` (the reply's first word is when the page
calls it; the stand-in ends each utterance at once, so the greeting is over before the caller speaks) and watches
the microphone's level: the words' onset on the page's clock plus their length in the WAV (known from the file
built) gives the moment they end. Browsers without the Web Speech API are stood for, so the server hears every
sentence."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import sync_playwright

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS
from tests.speech_support import LOUD, Clip
from tests.support import wait_for

TIMING = """
for (const name of ["SpeechRecognition", "webkitSpeechRecognition"]) {
  try { delete window[name]; } catch (e) {}
  try { Object.defineProperty(window, name, {value: undefined, configurable: true}); } catch (e) {}
}
window.__spoken = [];
window.__onset = null;
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
Object.defineProperty(window, "speechSynthesis", {configurable: true, value: {
  speak(u) { window.__spoken.push([performance.now(), u.text]); setTimeout(() => u.onend && u.onend(), 0); },
  cancel() {},
}});
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await getUserMedia(constraints);
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 256;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const watch = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    if (samples.some((x) => Math.abs(x) > %(level)s)) {
      window.__onset = performance.now();
      clearInterval(watch);
    }
  }, 2);
  return stream;
};
"""
ONSET_LEVEL = LOUD / 32768  # as speech_support.speech_bounds finds the words in the WAV


@dataclass(frozen=True)
class Gap:
    clip: Clip
    seconds: float
    heard: str
    reply: str


def measure(url: str, clips: list[Clip], timeout: float = 60) -> list[Gap]:
    """The gap for each clip, one fresh Chromium each (the fake microphone's file is fixed at launch)."""
    gaps = []
    with sync_playwright() as playwright:
        for clip in clips:
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
                gaps.append(_one(browser, url, clip, timeout))
            finally:
                browser.close()
    return gaps


def _one(browser, url: str, clip: Clip, timeout: float) -> Gap:
    page = browser.new_page()
    page.add_init_script(TIMING.replace("%(level)s", f"{ONSET_LEVEL:.6f}"))
    page.goto(url + "/")
    page.get_by_test_id("transcript").filter(has_text="how can I help?").wait_for()
    page.get_by_test_id("call-button").click()
    # The page's CSP forbids page.wait_for_function's eval: poll from here (the times are taken in the page).
    onset = wait_for(lambda: page.evaluate("window.__onset"), timeout, what="the words to reach the page")
    spoken_at, reply = wait_for(
        lambda: next(((at, text) for at, text in page.evaluate("window.__spoken") if at > onset), None),
        timeout,
        what="the reply to be spoken",
    )
    heard = page.get_by_test_id("heard").text_content() or ""
    ends = onset / 1000 + (clip.speech_ends - clip.speech_starts)
    return Gap(clip, spoken_at / 1000 - ends, heard.removeprefix("Heard: "), reply)
