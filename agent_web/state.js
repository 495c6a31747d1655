// What one call on this page knows, shared by the page's modules. What outlives a reload of this tab is kept in
// sessionStorage (gone when the tab closes): the server-issued session (its token stays in an HttpOnly cookie),
// the transcript, the caller's details and what the call waits for. What the page is doing now (speaking,
// thinking, listening) is not kept. A module that changes it calls changed(); the page redraws on "change".
const SAVED = "frontdesk-call";

const $ = (id) => document.getElementById(id);

// The page's elements, found once.
export const ui = {
  business: $("business-name"), status: $("agent-status"), transcript: $("transcript"), heard: $("heard"),
  form: $("ask-form"), question: $("question"), name: $("caller-name"), phone: $("caller-phone"),
  call: $("call"), talk: $("talk"), hold: $("hold"), hush: $("hush"),
  voiceNote: $("voice-note"), livekitStatus: $("livekit-status"), waitingNote: $("waiting-note"),
  confirm: $("confirm"), confirmYes: $("confirm-yes"), confirmNo: $("confirm-no"), phoneError: $("phone-error"),
  callBack: $("callback"), callBackButton: $("callback-button"), callBackNote: $("callback-note"),
  resume: $("resume"), resumeNote: $("resume-note"), resumeButton: $("resume-button"), resumeDismiss: $("resume-dismiss"),
};

function restore() {
  try { return JSON.parse(sessionStorage.getItem(SAVED)) || {}; } catch (err) { return {}; }
}

// Events: "change" (anything the status shows), "session" (a new server session: the old one's stream is void).
export class CallState extends EventTarget {
  constructor() {
    super();
    const saved = restore();
    this.session = saved.session || null;               // {id, expiresAt}
    this.lastEventId = saved.lastEventId || 0;
    this.seenEvents = new Set(saved.seenEvents || []);  // SSE ids already shown: a reconnect never repeats one
    this.waiting = new Set(saved.waiting || []);        // references this call is waiting on
    this.calledBack = new Set(saved.calledBack || []);  // references the caller asked to be called back about
    this.lines = [];                                    // the transcript, as saved
    this.savedLines = saved.lines || [];                // to show again after a reload
    this.confirming = saved.confirming || null;         // the confirmation id the agent waits on
    this.savedName = saved.name || "";
    this.savedPhone = saved.phone || "";
    this.ended = Boolean(saved.ended);                  // the agent ended the call (after a goodbye)
    this.turns = 0;               // the caller's turns on this page: a closing line ends the call unless another came
    this.callActive = false;      // the caller pressed Start call
    this.greeted = false;         // greeting spoken aloud (browsers refuse speech before the first user gesture)
    this.wantListening = false;   // the caller turned the microphone on
    this.recognizing = false;     // the microphone is open
    this.speaking = false;
    this.thinking = 0;            // asks and transcriptions in flight
    this.issuing = null;          // the session request in flight: two callers of ensureSession share it
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  save() {
    const state = {
      session: this.session, lastEventId: this.lastEventId, seenEvents: [...this.seenEvents],
      waiting: [...this.waiting], calledBack: [...this.calledBack], lines: this.lines,
      name: ui.name.value, phone: ui.phone.value, confirming: this.confirming, ended: this.ended,
    };
    try { sessionStorage.setItem(SAVED, JSON.stringify(state)); } catch (err) { /* private mode: no restore */ }
  }

  // Forgets this call's session, transcript and what it waited for: the next ask opens a new session.
  reset() {
    this.session = null;
    this.lastEventId = 0;
    this.seenEvents.clear();
    this.waiting.clear();
    this.calledBack.clear();
    this.lines = [];
    this.confirming = null;
    this.ended = false;
    this.dispatchEvent(new Event("session"));
    this.save();
  }

  // A server-issued session for this call: asks name it, and its follow-ups stream to this page only.
  ensureSession(renew) {
    const session = this.session;
    if (!renew && session && Date.parse(session.expiresAt) > Date.now() + 60000) return Promise.resolve(session.id);
    if (!this.issuing) this.issuing = this.issueSession().finally(() => { this.issuing = null; });
    return this.issuing;
  }

  async issueSession() {
    const response = await fetch("api/sessions", { method: "POST" });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body || typeof body.session_id !== "string") throw new Error(problem(body, response.status));
    this.adopt({ id: body.session_id, expiresAt: body.expires_at }, 0);
    return this.session.id;
  }

  // Makes `session` this call's, its follow-up stream to resume after event `lastEventId`.
  adopt(session, lastEventId) {
    this.session = session;
    this.lastEventId = lastEventId;
    this.seenEvents.clear();
    this.dispatchEvent(new Event("session"));
    this.save();
  }
}

// What went wrong, in the service's words when it said.
export function problem(body, status) {
  if (body && typeof body.message === "string") return body.message;
  if (body && typeof body.detail === "string") return body.detail;
  return `the service answered ${status}`;
}
