"""Alerts in the supervisor's browser: the pending count in the tab title, and a sound and a browser notification
when a new question arrives, each switched off by its tick box (remembered in localStorage).

The page learns about new questions from `#pending-signal`, a hidden line the queue's refresh writes as
"<pending count> <newest pending id>": a newer id than any seen since the page opened is a new question, whatever
was answered meanwhile. Browsers play sound and ask for notification permission only after a click on the page,
so the first click anywhere does both."""

from __future__ import annotations

import gradio as gr

TITLE = "FrontDesk KB · Supervisor"
SOUND_KEY = "frontdesk.alerts.sound"
NOTIFY_KEY = "frontdesk.alerts.notify"


def signal_text(items: list[dict]) -> str:
    return f"{len(items)} {max((int(item['id']) for item in items), default=0)}"


def build() -> gr.Markdown:
    """The two tick boxes, and the hidden signal line the queue's refresh writes to."""
    with gr.Row(elem_classes="alert-toggles"):
        gr.Checkbox(
            value=True, label="Sound for new questions", elem_id="alert-sound", container=False, interactive=True
        )
        gr.Checkbox(value=True, label="Browser notification", elem_id="alert-notify", container=False, interactive=True)
    return gr.Markdown(elem_id="pending-signal", elem_classes="machine-only")


# Run by Gradio once the page has loaded (`js=`).
JS = (
    """
() => {
  const TITLE = "TITLE_TEXT";
  const KEYS = {sound: "SOUND_KEY", notify: "NOTIFY_KEY"};
  const enabled = (name) => localStorage.getItem(KEYS[name]) !== "off";
  let newest = null;
  let audio = null;

  function bindToggle(name) {  // the tick box shows what localStorage remembers, and remembers each change
    const input = document.querySelector(`#alert-${name} input[type=checkbox]`);
    if (!input || input.dataset.bound) return;
    if (input.checked !== enabled(name)) input.click();
    input.dataset.bound = "yes";
    input.addEventListener("change", () => {
      localStorage.setItem(KEYS[name], input.checked ? "on" : "off");
      if (name === "notify" && input.checked) askPermission();
    });
  }

  function askPermission() {
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
  }

  function beep() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    if (audio.state === "suspended") audio.resume();
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.value = 0.2;
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.3);
  }

  function notify(count) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const waiting = count === 1 ? "1 question is waiting" : `${count} questions are waiting`;
    const note = new Notification("New question for the supervisor", {body: `${waiting}.`, tag: "frontdesk"});
    note.onclick = () => { window.focus(); note.close(); };
  }

  function check() {
    bindToggle("sound");
    bindToggle("notify");
    const signal = document.querySelector("#pending-signal");
    const [count, latest] = (signal ? signal.textContent.trim() : "").split(/\\s+/).map(Number);
    if (!Number.isInteger(count) || !Number.isInteger(latest)) return;
    document.title = count ? `(${count}) ${TITLE}` : TITLE;
    if (newest !== null && latest > newest) {
      if (enabled("sound")) beep();
      if (enabled("notify")) notify(count);
    }
    newest = Math.max(newest ?? 0, latest);
  }

  document.addEventListener("pointerdown", () => {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !audio) audio = new Context();
    if (enabled("notify")) askPermission();
  }, {once: true});
  setInterval(check, 500);
}
""".replace("TITLE_TEXT", TITLE)
    .replace("SOUND_KEY", SOUND_KEY)
    .replace("NOTIFY_KEY", NOTIFY_KEY)
)
