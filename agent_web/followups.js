// Follow-ups: the supervisor's answers (or the apology when a request times out) stream to this page over
// GET /api/sessions/{id}/events, are shown and spoken, and are never repeated after a reconnect. While the call
// waits, "Call me back instead" leaves a phone number so the caller can hang up.
import { callerDetails, phoneProblem, showPhoneProblem } from "./details.js";
import { ui } from "./state.js";
import { say } from "./transcript.js";

export class FollowUps {
  constructor(state, voice) {
    this.state = state;
    this.voice = voice;
    this.events = null; // the one EventSource of this page
    state.addEventListener("session", () => this.close()); // a new session: the old stream is void
    ui.callBackButton.addEventListener("click", () => this.askForCallBack());
  }

  // Listens for this session's follow-ups (once; a closed stream is opened again).
  subscribe() {
    const state = this.state;
    if (this.events || !state.session) return;
    const after = state.lastEventId ? `?after=${state.lastEventId}` : "";
    const events = new EventSource(`api/sessions/${encodeURIComponent(state.session.id)}/events${after}`);
    this.events = events;
    events.addEventListener("followup", (event) => this.onFollowUp(event));
    events.onerror = () => {
      // EventSource reconnects by itself with Last-Event-ID; only a closed source needs a new one.
      if (this.events === events && events.readyState === EventSource.CLOSED) {
        this.events = null;
        setTimeout(() => this.subscribe(), 2000);
      }
    };
  }

  close() {
    if (this.events) { this.events.close(); this.events = null; }
  }

  // The call now waits on `reference` (null: nothing new), and hears about it here.
  wait(reference) {
    if (reference != null) this.state.waiting.add(reference);
    this.refresh();
    this.subscribe();
  }

  onFollowUp(event) {
    const state = this.state;
    if (event.lastEventId) {
      if (state.seenEvents.has(event.lastEventId)) return;
      state.seenEvents.add(event.lastEventId);
      state.lastEventId = Math.max(state.lastEventId, Number(event.lastEventId) || 0);
      state.save();
    }
    let data;
    try { data = JSON.parse(event.data); } catch (err) { return; }
    if (!data || typeof data.message !== "string") return;
    state.waiting.delete(data.reference);
    this.refresh();
    if (data.status === "resolved") say(state, "followup", "Follow-up", data.message);
    else say(state, "apology", "Follow-up: no answer yet", data.message); // not an answer: shown apart from them
    this.voice.speak(data.message);
  }

  // The waiting note and the call-back offer, after `waiting` changed.
  refresh() {
    const state = this.state;
    state.save();
    const n = state.waiting.size;
    ui.waitingNote.textContent = n === 0 ? "" :
      `Waiting for the supervisor on ${n} question${n === 1 ? "" : "s"}. Stay on this page to hear the answer.`;
    const open = [...state.waiting].some((reference) => !state.calledBack.has(reference));
    ui.callBackButton.hidden = !open;
    ui.callBack.hidden = !open && !ui.callBackNote.textContent;
    state.changed(); // the status shows the wait
  }

  async askForCallBack() {
    const state = this.state;
    const bad = ui.phone.value.trim() ? phoneProblem() : "Enter your phone number so we can call you back.";
    showPhoneProblem(bad);
    if (bad) return;
    let said = "";
    for (const reference of [...state.waiting].filter((r) => !state.calledBack.has(r))) {
      try {
        const response = await fetch(`api/sessions/${encodeURIComponent(state.session.id)}/callbacks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ reference, phone: ui.phone.value.trim(), name: callerDetails().name || null }),
        });
        const body = await response.json().catch(() => null);
        if (response.ok && body && typeof body.message === "string") {
          state.calledBack.add(reference);
          said = body.message;
        } else if (response.status === 409) {
          state.calledBack.add(reference); // answered meanwhile: the answer is on its way here
        } else if (response.status === 422) {
          showPhoneProblem("Please check your phone number: it should be digits (and + - ( ) .).");
          return;
        } else {
          said = "Sorry, that didn't go through. Please try again in a moment.";
        }
      } catch (err) {
        said = "Sorry, I couldn't reach the front desk. Please try again in a moment.";
      }
    }
    ui.callBackNote.textContent = said;
    this.refresh();
  }
}
