"""The call page with a fake microphone, for the voice tests: stand-ins for the browser's speech synthesiser (and
for a browser without the Web Speech API), a clip with a pause mid-sentence, and a watch on the microphone's level
that gives the moment the words reach the page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import Page

from tests.speech_support import LOUD, join, speak

# Stands for a browser without the Web Speech API (Firefox, or Chromium without its cloud speech service), with a
# recording stand-in for the speech synthesiser: it speaks until cancelled, so barge-in can be seen.
NO_WEB_SPEECH = """
for (const name of ["SpeechRecognition", "webkitSpeechRecognition"]) {
  try { delete window[name]; } catch (e) {}
  try { Object.defineProperty(window, name, {value: undefined, configurable: true}); } catch (e) {}
}
window.__spoken = []; window.__cancelled = 0;
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
Object.defineProperty(window, "speechSynthesis", {configurable: true, value: {
  speak(u) { window.__spoken.push(u.text); }, cancel() { window.__cancelled += 1; },
}});
"""

# The browser's speech synthesiser stand-in, as above, but each utterance ends a moment after it starts: the
# caller speaks after the agent, not over it.
SHORT_SPEECH = NO_WEB_SPEECH.replace(
    "speak(u) { window.__spoken.push(u.text); }",
    "speak(u) { window.__spoken.push(u.text); setTimeout(() => u.onend && u.onend({}), 50); }",
)

# window.__onset: the page's clock (performance.now()) when the microphone first hears the words, as loud as
# speech_support.speech_bounds finds them in the WAV. With their length in the WAV, it gives when they end.
ONSET_WATCH = """
window.__onset = null;
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
""".replace("%(level)s", f"{LOUD / 32768:.6f}")


def lines(page: Page, kind: str):
    return page.get_by_test_id("transcript").locator(f"li.{kind} .text")


def with_pause(first: str, second: str, pause: float, folder: Path) -> Path:
    """`first`, exactly `pause` seconds of silence, then `second`: espeak-ng's own silence around each is cut."""
    a = speak(first, folder / "first.wav", before=1.0, after=0)
    b = speak(second, folder / "second.wav", before=0, after=0)
    sox = shutil.which("sox")
    assert sox, "sox is missing: run scripts/install-audio (make test does)"
    cut_a, cut_b = folder / "first-cut.wav", folder / "second-cut.wav"
    trim_end = ["reverse", "silence", "1", "0.02", "0.5%", "reverse"]
    subprocess.run([sox, str(a), str(cut_a), *trim_end, "pad", "0", str(pause)], check=True)
    subprocess.run([sox, str(b), str(cut_b), "silence", "1", "0.02", "0.5%", *trim_end, "pad", "0", "2"], check=True)
    return join([cut_a, cut_b], folder / "paused.wav")
