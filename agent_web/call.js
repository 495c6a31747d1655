// The caller's call page: greet, listen (voice or typed), ask the service, speak the answer, and speak every
// supervisor follow-up that arrives. This module wires the parts together and draws the call's state:
// speaking.js (the agent's voice), hearing.js (the caller's), asking.js, followups.js, livekit.js.
// Caller text and answers only ever go into textContent.
import { Asking } from "./asking.js";
import { phoneProblem, showPhoneProblem } from "./details.js";
import { FollowUps } from "./followups.js";
import { Hearing } from "./hearing.js";
import { LiveKitRoom } from "./livekit.js";
import { Voice } from "./speaking.js";
import { CallState, ui } from "./state.js";
import { say, show } from "./transcript.js";

const state = new CallState();
const voice = new Voice(state);
const followUps = new FollowUps(state, voice);
const asking = new Asking(state, voice, followUps);
const hearing = new Hearing(state, voice, (text) => asking.ask(text));
const livekit = new LiveKitRoom(state);

let config = {
  business_name: "", greeting: "Hi, thanks for calling, how can I help?", livekit_enabled: false, speech: "server",
};

function refreshStatus() {
  let now = "idle";
  if (state.speaking) now = "speaking";
  else if (state.thinking > 0) now = "thinking";
  else if (state.recognizing) now = "listening";
  ui.status.dataset.state = now;
  ui.status.textContent = now.charAt(0).toUpperCase() + now.slice(1);
  ui.hush.disabled = !state.speaking;
  ui.talk.setAttribute("aria-pressed", String(state.wantListening));
  ui.talk.textContent = state.wantListening ? "Stop listening" : "Talk";
}

function greet() {
  state.greeted = true;
  voice.speak(config.greeting).then((how) => { if (how === "refused") state.greeted = false; });
}

function toggleCall() {
  state.callActive = !state.callActive;
  ui.call.dataset.active = String(state.callActive);
  ui.call.textContent = state.callActive ? "End call" : "Start call";
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
  state.ensureSession(false).catch(() => { /* made again on the first ask */ });
  // Browsers may refuse speech before a gesture; "Start call" greets aloud then.
  if (voice.available && navigator.userActivation && navigator.userActivation.hasBeenActive) greet();
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
ui.phone.addEventListener("change", () => { state.save(); showPhoneProblem(phoneProblem()); });
ui.call.addEventListener("click", toggleCall);
ui.talk.addEventListener("click", () => hearing.toggle());
ui.hush.addEventListener("click", () => voice.stop());
ui.confirmYes.addEventListener("click", () => { say(state, "caller", "You", "Yes"); asking.confirm(true); });
ui.confirmNo.addEventListener("click", () => { say(state, "caller", "You", "No"); asking.confirm(false); });
document.addEventListener("keydown", (event) => { if (event.key === "Escape") voice.stop(); });
window.addEventListener("pagehide", () => { followUps.close(); livekit.leave(); });

start();
