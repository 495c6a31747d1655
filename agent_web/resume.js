// A new tab of a browser that is already on a call: this tab's own state is blank (sessionStorage is per tab), but
// the browser still holds the call's session cookie. GET /api/sessions/current finds that session, and the
// caller may resume it here: its earlier turns come back, and its follow-ups (replayed from the start of its
// event stream) reach this tab too. Without resuming, the first ask opens a new session.
import { ui } from "./state.js";
import { say } from "./transcript.js";

export class Resume {
  constructor(state, followUps) {
    this.state = state;
    this.followUps = followUps;
    this.held = null;
    ui.resumeButton.addEventListener("click", () => this.resume());
    ui.resumeDismiss.addEventListener("click", () => {
      this.hide();
      state.ensureSession(true).catch(() => { /* made again on the first ask */ });
    });
    state.addEventListener("session", () => this.hide()); // resumed, or a new session replaced it
  }

  // The session this browser holds, offered when it has turns (adopted quietly when it has none); false if none.
  async offer() {
    let held = null;
    try {
      const response = await fetch("api/sessions/current");
      if (response.status === 200) held = await response.json();
    } catch (err) { /* no call to resume */ }
    if (this.state.session) return true; // the caller asked meanwhile: that opened a new session
    if (!held || typeof held.session_id !== "string") return false;
    if (held.turns.length === 0 && held.waiting.length === 0) {
      this.state.adopt({ id: held.session_id, expiresAt: held.expires_at }, 0);
      return true;
    }
    this.held = held;
    const n = held.turns.length;
    ui.resumeNote.textContent =
      `You have a call in progress in this browser (${n} question${n === 1 ? "" : "s"} so far).`;
    ui.resume.hidden = false;
    return true;
  }

  resume() {
    const held = this.held;
    if (!held) return;
    const state = this.state;
    state.adopt({ id: held.session_id, expiresAt: held.expires_at }, 0);
    for (const turn of held.turns) {
      say(state, "caller", "You", turn.question);
      if (typeof turn.answer === "string") say(state, "agent", "Agent", turn.answer);
    }
    for (const reference of held.waiting) state.waiting.add(reference);
    this.followUps.refresh();
    this.followUps.subscribe(); // replays this call's follow-ups, then waits for more
    ui.question.focus();
  }

  hide() {
    this.held = null;
    ui.resume.hidden = true;
  }
}
