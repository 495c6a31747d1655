// The agent's voice: the browser's speech synthesis, one text after another, stopped at once when the caller
// talks, types or presses Stop voice. It also remembers what it said, so the microphone hearing it back (speech
// synthesis plays outside the browser's echo canceller) is never taken for the caller.
import { words } from "./words.js";

const ECHO_MS = 4000; // the echo of a sentence can still arrive this long after it was spoken

export class Voice {
  constructor(state) {
    this.state = state;
    this.synth = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window ? window.speechSynthesis : null;
    this.queue = [];          // {text, done}: waiting to be spoken, in order
    this.current = null;      // {text, done, watchdog}
    this.recentlySpoken = []; // {words, until}
  }

  get available() { return this.synth !== null; }

  get speaking() { return this.current !== null; }

  // Resolves once `text` is over: "spoken", "stopped" (interrupted), "refused" (no speech before a user gesture),
  // "failed", or "unavailable" (no speech synthesis here).
  speak(text) {
    if (!this.synth) return Promise.resolve("unavailable");
    return new Promise((done) => {
      this.queue.push({ text, done });
      if (!this.current) this.next();
    });
  }

  next() {
    const item = this.queue.shift();
    if (item === undefined) {
      this.current = null;
      this.state.speaking = false;
      this.state.changed();
      return;
    }
    const utterance = new SpeechSynthesisUtterance(item.text);
    const current = { ...item, watchdog: 0 };
    const finished = (how) => {
      if (this.current !== current) return;
      clearTimeout(current.watchdog);
      this.remember(item.text);
      item.done(how);
      this.next();
    };
    utterance.onend = () => finished("spoken");
    utterance.onerror = (event) => finished(event.error === "not-allowed" ? "refused" : "failed");
    // Some systems have no voice and never fire onend; don't stay "speaking" forever.
    current.watchdog = setTimeout(() => finished("spoken"), 2000 + 120 * item.text.length);
    this.current = current;
    this.state.speaking = true;
    this.state.changed();
    try {
      this.synth.speak(utterance);
    } catch (err) {
      finished("failed");
    }
  }

  stop() {
    const queued = this.queue;
    this.queue = [];
    for (const item of queued) item.done("stopped");
    const current = this.current;
    if (!current) return;
    clearTimeout(current.watchdog);
    this.remember(current.text);
    this.current = null;
    this.state.speaking = false;
    if (this.synth) this.synth.cancel();
    current.done("stopped");
    this.state.changed();
  }

  remember(text) {
    this.recentlySpoken = this.recentlySpoken.filter((r) => r.until > Date.now());
    this.recentlySpoken.push({ words: new Set(words(text)), until: Date.now() + ECHO_MS });
  }

  // True when `text` is (mostly) words the agent is saying or just said.
  isEcho(text) {
    const own = [];
    if (this.current) own.push(new Set(words(this.current.text)));
    for (const r of this.recentlySpoken) if (r.until > Date.now()) own.push(r.words);
    if (own.length === 0) return false;
    const heard = words(text);
    const foreign = heard.filter((w) => !own.some((set) => set.has(w)));
    return foreign.length < Math.max(2, Math.ceil(heard.length * 0.3));
  }
}
