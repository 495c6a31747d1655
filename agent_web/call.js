// The caller's call page: greet, listen (voice or typed), ask the service, speak the answer, and speak every
// supervisor follow-up that arrives. This module wires the parts together and draws the call's state:
// speaking.js (the agent's voice), hearing.js (the caller's), asking.js, followups.js, livekit.js.
// Caller text and answers only ever go into textContent.
import { Asking } from "./asking.js";
import { phoneProblem, showPhoneProblem } from "./details.js";
import { FollowUps } from "./followups.js";
import { Hearing } from "./hearing.js";
import { LiveKitRoom } from "./livekit.js";
import { Resume } from "./resume.js";
import { Voice } from "./speaking.js";
import { CallState, ui } from "./state.js";
import { say, show } from "./transcript.js";

const state = new CallState();
window.FrontDeskCall = { ensureSession: (renew) => state.ensureSession(renew) }; // for phone-check.js
const voice = new Voice(state);
const followUps = new FollowUps(state, voice);
const asking = new Asking(state, voice, followUps, (spoken, turn) => endCall(spoken, turn));
const hearing = new Hearing(state, voice, (text) => asking.ask(text));
const livekit = new LiveKitRoom(state);
const resume = new Resume(state, followUps);

let config = {
  business_name: "", livekit_enabled: false, speech: "server",
  greeting: "Hi, thanks for calling. I'm the automated assistant: how can I help?",
};

function refreshStatus() {
  let now = state.ended ? "ended" : "idle";
  if (state.speaking) now = "speaking";
  else if (state.thinking > 0) now = "thinking";
  else if (state.recognizing) now = "listening";
  else if (!state.ended && state.waiting.size > 0) now = "waiting"; // on the supervisor: the call is not idle
  ui.status.dataset.state = now;
  ui.status.textContent = now === "waiting" ? "Waiting on staff" : now.charAt(0).toUpperCase() + now.slice(1);
  ui.hush.disabled = !state.speaking;
  ui.talk.setAttribute("aria-pressed", String(state.wantListening));
  ui.talk.textContent = state.wantListening ? "Stop listening" : "Talk";
  showCallButton();
}

function greet() {
  state.greeted = true;
  voice.speak(config.greeting).then((how) => { if (how === "refused") state.greeted = false; });
}

function showCallButton() {
  ui.call.dataset.active = String(state.callActive);
  ui.call.textContent = state.callActive ? "End call" : state.ended ? "Start a new call" : "Start call";
}

function toggleCall() {
  if (!state.callActive && state.ended) newCall();
  state.callActive = !state.callActive;
  if (state.callActive) {
    if (!state.greeted) greet();
    if (hearing.available && !state.wantListening) { state.wantListening = true; hearing.listen(); }
    livekit.join();
  } else {
    state.wantListening = false;
    hearing.stop();
    voice.stop();
    livekit.leave();
  }
  refreshStatus();
}

// The agent said goodbye: once the closing line is spoken, and unless the caller said something after it, the
// call is over: the microphone and LiveKit are off, and the call button offers a new call. Follow-ups still come.
async function endCall(spoken, turn) {
  await spoken;
  if (state.turns !== turn) return;
  if (state.callActive) toggleCall();
  else if (state.wantListening) hearing.toggle();
  state.ended = true;
  say(state, "ended", "Call ended", "The call has ended. Thanks for calling.");
  refreshStatus();
}

// "Start a new call" after a call ended: a blank transcript, a new session, and the greeting again.
function newCall() {
  voice.stop();
  state.reset();
  ui.transcript.replaceChildren();
  ui.callBackNote.textContent = "";
  followUps.refresh();
  asking.showConfirm(null);
  state.greeted = false;
  say(state, "agent", "Agent", config.greeting);
  state.ensureSession(false).catch(() => { /* made again on the first ask */ });
}

async function loadConfig() {
  try {
    const response = await fetch("api/call-config");
    if (response.ok) config = Object.assign(config, await response.json());
  } catch (err) { /* keep the neutral greeting */ }
  if (config.business_name) {
    ui.business.textContent = config.business_name;
    document.title = `Call ${config.business_name}`;
  }
  livekit.configure(Boolean(config.livekit_enabled));
}

function setUpVoice() {
  hearing.setUp(config.speech);
  if (!voice.available) {
    ui.voiceNote.textContent = (ui.voiceNote.textContent + " Spoken answers aren't available here: read them below.").trim();
  }
  refreshStatus();
}

async function start() {
  refreshStatus();
  await loadConfig();
  setUpVoice();
  ui.name.value = state.savedName;
  ui.phone.value = state.savedPhone;
  for (const line of state.savedLines) { state.lines.push(line); show(line.kind, line.who, line.text); }
  if (state.lines.length === 0) say(state, "agent", "Agent", config.greeting);
  if (state.confirming) asking.showConfirm(state.confirming);
  followUps.refresh();
  if (state.waiting.size > 0 || state.confirming !== null) followUps.subscribe(); // never lose an awaited follow-up
  // Browsers may refuse speech before a gesture; "Start call" greets aloud then.
  if (voice.available && navigator.userActivation && navigator.userActivation.hasBeenActive) greet();
  // A new tab of a browser already on a call may resume it; otherwise the call gets its session now.
  if (state.session || !(await resume.offer())) {
    state.ensureSession(false).catch(() => { /* made again on the first ask */ });
  }
}

state.addEventListener("change", refreshStatus);
ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.question.value;
  ui.question.value = "";
  asking.ask(text);
  ui.question.focus();
});
ui.question.addEventListener("input", () => { if (voice.speaking) voice.stop(); }); // typing interrupts
ui.name.addEventListener("change", () => state.save());
// Leaving the phone field changes nothing on screen: it is left by the mousedown of a click elsewhere, and a message
// line coming or going then moved the button under the pointer, so the mouseup missed it and the click was lost.
// A fixed number clears its message as it is typed; a problem is said when the number is used (ask, call-back).
ui.phone.addEventListener("input", () => { if (!phoneProblem()) showPhoneProblem(""); });
ui.phone.addEventListener("change", () => state.save());
ui.call.addEventListener("click", toggleCall);
ui.talk.addEventListener("click", () => hearing.toggle());
ui.hush.addEventListener("click", () => voice.stop());
ui.confirmYes.addEventListener("click", () => { say(state, "caller", "You", "Yes"); asking.confirm(true); });
ui.confirmNo.addEventListener("click", () => { say(state, "caller", "You", "No"); asking.confirm(false); });
document.addEventListener("keydown", (event) => { if (event.key === "Escape") voice.stop(); });
window.addEventListener("pagehide", () => { followUps.close(); livekit.leave(); });

start();
