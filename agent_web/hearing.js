// Hearing the caller. KB_SPEECH=server: our own microphone capture (mic.js) finds each sentence and
// POST /api/transcribe hears it; KB_SPEECH=browser: the browser's Web Speech recogniser. Either way a finished
// sentence goes to onHeard(text), never the agent's own voice heard back, and the caller talking over the agent
// stops it (barge-in).
import { Microphone, TURN_TAKING, supported, unsupportedReason } from "./mic.js";
import { problem, ui } from "./state.js";
import { yesOrNo } from "./words.js";

export class Hearing {
  constructor(state, voice, onHeard) {
    this.state = state;
    this.voice = voice;
    this.onHeard = onHeard;
    this.recognition = null;  // the browser's recogniser (KB_SPEECH=browser)
    this.mic = null;          // our own capture, heard on the server (KB_SPEECH=server)
    this.holding = false;     // Hold to talk is pressed
  }

  get available() { return Boolean(this.recognition || this.mic); }

  setUp(speech) {
    if (speech === "server") this.setUpServerSpeech();
    else if (speech === "browser") this.setUpRecognition();
    else {
      ui.talk.disabled = true;
      ui.voiceNote.textContent = "Voice input is off here: type your question instead.";
    }
  }

  // A reply to "Just to check — are you asking …?" is short and may repeat the agent's words: never our echo.
  isCallers(text) {
    if (!text) return false;
    return (this.state.confirming !== null && yesOrNo(text) !== null) || !this.voice.isEcho(text);
  }

  // Talk: the microphone on or off (and the agent stops speaking).
  toggle() {
    if (!this.available) return;
    this.voice.stop();
    this.state.wantListening = !this.state.wantListening;
    if (this.state.wantListening) this.listen(); else this.stop();
    this.state.changed();
  }

  listen() {
    if (this.mic) this.openMic(); else this.resumeRecognition();
  }

  stop() {
    if (this.mic) this.closeMic(); else this.pauseRecognition();
  }

  // ---- the browser's recogniser (KB_SPEECH=browser)

  setUpRecognition() {
    const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition || null;
    if (!Recognition) {
      ui.talk.disabled = true;
      ui.voiceNote.textContent = "Voice input isn't available in this browser: type your question instead.";
      return;
    }
    const state = this.state;
    const recognition = new Recognition();
    this.recognition = recognition;
    recognition.lang = document.documentElement.lang || "en";
    recognition.continuous = true;
    recognition.interimResults = true;
    recognition.onstart = () => { state.recognizing = true; state.changed(); };
    recognition.onend = () => {
      state.recognizing = false;
      ui.heard.textContent = "";
      state.changed();
      if (state.wantListening) setTimeout(() => this.resumeRecognition(), 250); // browsers stop after silences
    };
    recognition.onerror = (event) => {
      if (event.error === "no-speech" || event.error === "aborted") return;
      state.wantListening = false;
      ui.voiceNote.textContent = event.error === "not-allowed" || event.error === "service-not-allowed"
        ? "The microphone is blocked: allow it in the browser, or type your question."
        : "Voice input stopped working: type your question instead.";
      state.changed();
    };
    recognition.onresult = (event) => {
      let interim = "";
      for (let i = event.resultIndex; i < event.results.length; i++) {
        const result = event.results[i];
        const text = result[0].transcript.trim();
        if (!this.isCallers(text)) continue;
        if (this.voice.speaking) this.voice.stop(); // the caller talks over the agent: let them
        if (result.isFinal) {
          ui.heard.textContent = "";
          this.onHeard(text);
        } else {
          interim += text + " ";
        }
      }
      ui.heard.textContent = interim ? `Heard: ${interim.trim()}…` : "";
    };
  }

  resumeRecognition() {
    if (!this.recognition || !this.state.wantListening || this.state.recognizing) return;
    try { this.recognition.start(); } catch (err) { /* already starting */ }
  }

  pauseRecognition() {
    if (this.recognition && this.state.recognizing) {
      try { this.recognition.abort(); } catch (err) { /* not running */ }
    }
  }

  // ---- our own server (KB_SPEECH=server): mic.js finds each sentence, /api/transcribe hears it

  setUpServerSpeech() {
    if (!supported()) {
      ui.talk.disabled = true;
      ui.voiceNote.textContent = unsupportedReason();
      return;
    }
    // Speech synthesis plays outside the browser's echo canceller, so a sound while the agent talks may be the
    // agent itself: its first second is heard early, and only words that are not the agent's stop it.
    this.mic = new Microphone({
      onSpeechStart: () => this.voice.speaking,
      onProbe: async (wav) => {
        const text = await this.transcribe(wav);
        if (text && this.voice.speaking && !this.voice.isEcho(text)) this.voice.stop(); // barge-in
      },
      transcribe: (wav, signal) => this.transcribe(wav, signal),
      onSentence: (text) => { this.hear(text); },
      turn: turnTaking(),
    });
    ui.hold.hidden = false;
    const press = (event) => { event.preventDefault(); this.holdToTalk(true); };
    const release = () => this.holdToTalk(false);
    ui.hold.addEventListener("pointerdown", press);
    ui.hold.addEventListener("pointerup", release);
    ui.hold.addEventListener("pointerleave", release);
    ui.hold.addEventListener("pointercancel", release);
    ui.hold.addEventListener("keydown", (event) => {
      if ((event.key === " " || event.key === "Enter") && !event.repeat) press(event);
    });
    ui.hold.addEventListener("keyup", (event) => { if (event.key === " " || event.key === "Enter") release(); });
  }

  async openMic() {
    const state = this.state;
    try {
      await this.mic.start();
      state.recognizing = true;
      ui.voiceNote.textContent = "";
    } catch (err) {
      state.wantListening = false;
      state.recognizing = false;
      ui.voiceNote.textContent = err.message;
    }
    if (!state.wantListening && !this.holding) this.closeMic(); // turned off while it was opening
    state.changed();
  }

  closeMic() {
    this.mic.stop();
    this.state.recognizing = false;
    this.state.changed();
  }

  async holdToTalk(down) {
    if (!this.mic || down === this.holding) return;
    this.holding = down;
    ui.hold.setAttribute("aria-pressed", String(down));
    if (down) {
      this.voice.stop();
      await this.openMic();
      if (this.holding && this.mic.open) this.mic.hold(true);
    } else {
      this.mic.hold(false);
      if (!this.state.wantListening) this.closeMic();
    }
  }

  // The text of one recording as the server heard it; null (and a note for the caller) when it could not. A guess
  // (mic.js: sent with an AbortSignal, dropped if the caller goes on) fails quietly: its sentence is sent again.
  async transcribe(wav, signal = undefined) {
    const state = this.state;
    try {
      const send = async (renew) => fetch(
        `api/transcribe?session_id=${encodeURIComponent(await state.ensureSession(renew))}`,
        { method: "POST", headers: { "content-type": "audio/wav" }, body: wav, signal });
      let response = await send(false);
      if (response.status === 403) response = await send(true); // the session expired, or another tab took over
      const body = await response.json().catch(() => null);
      if (response.ok && body && typeof body.text === "string") return body.text.trim();
      if (signal) return null;
      ui.voiceNote.textContent =
        `Sorry, I couldn't hear that (${problem(body, response.status)}). Please say it again, or type it.`;
    } catch (err) {
      if (signal) return null;
      ui.voiceNote.textContent = "Sorry, I couldn't reach the front desk to hear that. Please try again, or type it.";
    }
    return null;
  }

  // A finished sentence (a Promise of its text): shows what was heard, then hands it on; never the agent's echo.
  async hear(heard) {
    ui.heard.textContent = "Heard: …";
    this.state.thinking += 1;
    this.state.changed();
    const text = await heard;
    this.state.thinking -= 1;
    this.state.changed();
    if (!this.isCallers(text)) {
      ui.heard.textContent = "";
      return;
    }
    ui.heard.textContent = `Heard: ${text}`;
    this.onHeard(text);
  }
}

// How the caller's turn ends (mic.js): "early" unless the page's address says `?turn=guess` or `?turn=silence`
// (`make bench-voice --turns` compares them).
function turnTaking() {
  const asked = new URLSearchParams(window.location.search).get("turn");
  return TURN_TAKING.includes(asked) ? asked : "early";
}
