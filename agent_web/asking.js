// Asking: a typed or heard question goes to POST /api/ask (a yes or no to "Just to check — are you asking …?"
// goes to POST /api/confirmations/{id}), and the agent's reply is shown and spoken: an answer, a check, a hand-off
// to a person, a turn it handled itself ("replied": hello, thanks, "say that again"…) or a wait for the
// supervisor. A reply with `end_call` (after a goodbye) ends the call once it is spoken.
import { callerDetails, phoneProblem, showPhoneProblem } from "./details.js";
import { ui } from "./state.js";
import { say } from "./transcript.js";
import { yesOrNo } from "./words.js";

export class Asking {
  // onEnd(spoken, turn): the agent said its closing line (`spoken` resolves once it is over) after turn `turn`.
  constructor(state, voice, followUps, onEnd) {
    this.state = state;
    this.voice = voice;
    this.followUps = followUps;
    this.onEnd = onEnd;
  }

  // The confirmation the agent waits on (null: none), with its Yes / No buttons.
  showConfirm(id) {
    this.state.confirming = id;
    ui.confirm.hidden = id === null;
    this.state.save();
  }

  async ask(question) {
    const state = this.state;
    question = question.trim();
    if (!question) return;
    state.turns += 1;
    if (state.ended) { state.ended = false; state.changed(); } // the caller carries on after the goodbye
    if (state.confirming !== null && yesOrNo(question) !== null) {
      say(state, "caller", "You", question);
      await this.confirm(yesOrNo(question));
      return;
    }
    const bad = phoneProblem();
    showPhoneProblem(bad);
    if (bad) { ui.question.value = question; return; } // kept for the caller to send once the number is fixed
    this.showConfirm(null); // a new question instead of a yes or no: the old one goes to the supervisor in time
    say(state, "caller", "You", question);
    await this.reply(async () => {
      const send = async (renew) => fetch("api/ask", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question, session_id: await state.ensureSession(renew), caller: callerDetails() }),
      });
      const response = await send(false);
      return response.status === 403 ? send(true) : response; // the session expired, or another tab took over
    }, "Sorry, I couldn't take that question");
  }

  async confirm(confirmed) {
    const id = this.state.confirming;
    if (id === null) return;
    this.showConfirm(null);
    await this.reply(() => fetch(`api/confirmations/${encodeURIComponent(id)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ confirmed }),
    }), "Sorry, that didn't go through");
  }

  // Shows and speaks the agent's reply to an ask or a confirmation (`request` makes the fetch).
  async reply(request, apology) {
    const state = this.state;
    this.voice.stop();
    state.thinking += 1;
    state.changed();
    try {
      const response = await request();
      const body = await response.json().catch(() => null);
      if (!response.ok || !body || typeof body.message !== "string") {
        if (response.status === 422 && JSON.stringify(body).includes("phone")) {
          showPhoneProblem("Please check your phone number: it should be digits (and + - ( ) .), or left empty.");
        } else {
          say(state, "error", "Problem", `${apology}. Please try again in a moment.`);
        }
        return;
      }
      // An unanswered confirmation reaches the supervisor in time, and its answer comes here too.
      if (body.outcome === "escalated" || body.outcome === "confirm") this.followUps.wait(body.reference);
      say(state, "agent", "Agent", body.message);
      const spoken = this.voice.speak(body.message);
      if (body.outcome === "confirm") this.showConfirm(body.confirmation_id);
      if (body.end_call === true) this.onEnd(spoken, state.turns);
    } catch (err) {
      say(state, "error", "Problem", "Sorry, I couldn't reach the front desk. Please try again in a moment.");
    } finally {
      state.thinking -= 1;
      state.changed();
    }
  }
}
