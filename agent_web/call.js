// The caller's call page: greet, listen (voice or typed), ask the service, speak the answer, and speak every
// supervisor follow-up that arrives over SSE. Caller text and answers only ever go into textContent.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const ui = {
    business: $("business-name"), status: $("agent-status"), transcript: $("transcript"), heard: $("heard"),
    form: $("ask-form"), question: $("question"), name: $("caller-name"), phone: $("caller-phone"),
    call: $("call"), talk: $("talk"), hold: $("hold"), hush: $("hush"),
    voiceNote: $("voice-note"), livekitStatus: $("livekit-status"), waitingNote: $("waiting-note"),
    confirm: $("confirm"), confirmYes: $("confirm-yes"), confirmNo: $("confirm-no"), phoneError: $("phone-error"),
  };

  // The call survives a reload of this tab (sessionStorage: gone when the tab closes): its server-issued session
  // (the token itself stays in an HttpOnly cookie), the transcript, the caller's details and what it waits for.
  const SAVED = "frontdesk-call";
  const saved = restore();
  let session = saved.session || null; // {id, expiresAt}
  const synth = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window ? window.speechSynthesis : null;
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition || null;

  let config = {
    business_name: "", greeting: "Hi, thanks for calling, how can I help?", livekit_enabled: false, speech: "server",
  };
  let greeted = false;          // greeting spoken aloud (browsers refuse speech before the first user gesture)
  let callActive = false;
  let wantListening = false;    // the caller turned the microphone on
  let recognition = null;       // the browser's Web Speech recogniser (KB_SPEECH=browser)
  let mic = null;               // our own microphone capture, heard on the server (KB_SPEECH=server; mic.js)
  let recognizing = false;
  let thinking = 0;             // asks in flight
  let speakQueue = [];          // texts waiting to be spoken, in order
  let speaking = null;          // {text, utterance, watchdog}
  let events = null;            // the one EventSource of this page
  let lastEventId = saved.lastEventId || 0;
  const seenEvents = new Set(saved.seenEvents || []); // SSE ids already shown: a reconnect never repeats one
  const waiting = new Set(saved.waiting || []);         // help request references this call is waiting on
  const calledBack = new Set(saved.calledBack || []);   // references the caller asked to be called back about
  const lines = [];                                     // the transcript, as saved
  let room = null;              // LiveKit room, when joined
  let confirming = null;        // the confirmation id the agent is waiting on ("Just to check — are you asking …?")

  function restore() {
    try { return JSON.parse(sessionStorage.getItem(SAVED)) || {}; } catch (err) { return {}; }
  }

  function save() {
    const state = {
      session, lastEventId, seenEvents: [...seenEvents], waiting: [...waiting], calledBack: [...calledBack], lines,
      name: ui.name.value, phone: ui.phone.value, confirming,
    };
    try { sessionStorage.setItem(SAVED, JSON.stringify(state)); } catch (err) { /* private mode: no restore */ }
  }

  // A server-issued session for this call: asks name it, and its follow-ups stream to this page only.
  let issuing = null; // the session request in flight: two callers of ensureSession share it
  function ensureSession(renew) {
    if (!renew && session && Date.parse(session.expiresAt) > Date.now() + 60000) return Promise.resolve(session.id);
    if (!issuing) issuing = issueSession().finally(() => { issuing = null; });
    return issuing;
  }

  window.FrontDeskCall = { ensureSession }; // for phone-check.js

  async function issueSession() {
    const response = await fetch("api/sessions", { method: "POST" });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body || typeof body.session_id !== "string") throw new Error(problem(body, response.status));
    session = { id: body.session_id, expiresAt: body.expires_at };
    lastEventId = 0;
    seenEvents.clear();
    if (events) { events.close(); events = null; }
    save();
    return session.id;
  }

  // ---- state and transcript

  function refreshStatus() {
    let state = "idle";
    if (speaking) state = "speaking";
    else if (thinking > 0) state = "thinking";
    else if (recognizing) state = "listening";
    ui.status.dataset.state = state;
    ui.status.textContent = state.charAt(0).toUpperCase() + state.slice(1);
    ui.hush.disabled = !speaking;
    ui.talk.setAttribute("aria-pressed", String(wantListening));
    ui.talk.textContent = wantListening ? "Stop listening" : "Talk";
  }

  function say(kind, who, text) {
    lines.push({ kind, who, text });
    save();
    return show(kind, who, text);
  }

  function show(kind, who, text) {
    const item = document.createElement("li");
    item.className = kind;
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.append(label, body);
    ui.transcript.append(item);
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
    return item;
  }

  function refreshWaiting() {
    save();
    const n = waiting.size;
    ui.waitingNote.textContent = n === 0 ? "" :
      `Waiting for the supervisor on ${n} question${n === 1 ? "" : "s"}. Stay on this page to hear the answer.`;
    refreshCallBack();
  }

  // ---- speaking

  function speak(text) {
    if (!synth) return;
    speakQueue.push(text);
    if (!speaking) speakNext();
  }

  function speakNext() {
    const text = speakQueue.shift();
    if (text === undefined) {
      speaking = null;
      refreshStatus();
      return;
    }
    const utterance = new SpeechSynthesisUtterance(text);
    const current = { text, utterance, watchdog: 0 };
    const finished = () => {
      if (speaking !== current) return;
      clearTimeout(current.watchdog);
      rememberSpoken(text);
      speakNext();
    };
    utterance.onend = finished;
    utterance.onerror = (event) => {
      if (event.error === "not-allowed" && text === config.greeting) greeted = false;
      finished();
    };
    // Some systems have no voice and never fire onend; don't stay "speaking" forever.
    current.watchdog = setTimeout(finished, 2000 + 120 * text.length);
    speaking = current;
    refreshStatus();
    try {
      synth.speak(utterance);
    } catch (err) {
      finished();
    }
  }

  function stopSpeaking() {
    speakQueue = [];
    if (!speaking) return;
    clearTimeout(speaking.watchdog);
    rememberSpoken(speaking.text);
    speaking = null;
    if (synth) synth.cancel();
    refreshStatus();
  }

  // ---- listening

  // The microphone stays open while the agent speaks so the caller can interrupt, but what it hears of the
  // agent's own words (the echo, also a moment after it stops) is never taken as the caller's.
  let recentlySpoken = [];      // {words, until}

  function words(text) {
    return text.toLowerCase().replace(/[^\p{L}\p{N}' ]+/gu, " ").split(/\s+/).filter(Boolean);
  }

  function rememberSpoken(text) {
    recentlySpoken = recentlySpoken.filter((r) => r.until > Date.now());
    recentlySpoken.push({ words: new Set(words(text)), until: Date.now() + 4000 });
  }

  function isEcho(text) {
    const own = [];
    if (speaking) own.push(new Set(words(speaking.text)));
    for (const r of recentlySpoken) if (r.until > Date.now()) own.push(r.words);
    if (own.length === 0) return false;
    const heard = words(text);
    const foreign = heard.filter((w) => !own.some((set) => set.has(w)));
    return foreign.length < Math.max(2, Math.ceil(heard.length * 0.3));
  }

  function setUpRecognition() {
    if (!Recognition) {
      ui.talk.disabled = true;
      ui.voiceNote.textContent = "Voice input isn't available in this browser: type your question instead.";
      return;
    }
    recognition = new Recognition();
    recognition.lang = document.documentElement.lang || "en";
    recognition.continuous = true;
    recognition.interimResults = true;
    recognition.onstart = () => { recognizing = true; refreshStatus(); };
    recognition.onend = () => {
      recognizing = false;
      ui.heard.textContent = "";
      refreshStatus();
      if (wantListening) setTimeout(resumeListening, 250); // browsers stop after silences
    };
    recognition.onerror = (event) => {
      if (event.error === "no-speech" || event.error === "aborted") return;
      wantListening = false;
      ui.voiceNote.textContent = event.error === "not-allowed" || event.error === "service-not-allowed"
        ? "The microphone is blocked: allow it in the browser, or type your question."
        : "Voice input stopped working: type your question instead.";
      refreshStatus();
    };
    recognition.onresult = (event) => {
      let interim = "";
      for (let i = event.resultIndex; i < event.results.length; i++) {
        const result = event.results[i];
        const text = result[0].transcript.trim();
        const reply = confirming !== null && yesOrNo(text) !== null; // a short yes or no is never our echo
        if (!text || (!reply && isEcho(text))) continue;
        if (speaking) stopSpeaking(); // the caller talks over the agent: let them
        if (result.isFinal) {
          ui.heard.textContent = "";
          ask(text);
        } else {
          interim += text + " ";
        }
      }
      ui.heard.textContent = interim ? `Heard: ${interim.trim()}…` : "";
    };
  }

  function resumeListening() {
    if (!recognition || !wantListening || recognizing) return;
    try { recognition.start(); } catch (err) { /* already starting */ }
  }

  function pauseListening() {
    if (recognition && recognizing) {
      try { recognition.abort(); } catch (err) { /* not running */ }
    }
  }

  function toggleListening() {
    if (!recognition && !mic) return;
    stopSpeaking(); // pressing Talk interrupts the agent
    wantListening = !wantListening;
    if (wantListening) listen(); else stopListening();
    refreshStatus();
  }

  function listen() {
    if (mic) openMic(); else resumeListening();
  }

  function stopListening() {
    if (mic) closeMic(); else pauseListening();
  }

  // ---- hearing on our own server (KB_SPEECH=server): mic.js finds each sentence, /api/transcribe hears it

  function setUpServerSpeech() {
    if (!window.FrontDeskMic || !FrontDeskMic.supported()) {
      ui.talk.disabled = true;
      ui.voiceNote.textContent = window.FrontDeskMic ? FrontDeskMic.unsupportedReason()
        : "Voice input isn't available here: type your question instead.";
      return;
    }
    // Speech synthesis plays outside the browser's echo canceller, so a sound while the agent talks may be the
    // agent itself: its first second is heard first, and only words of the caller's own stop the agent.
    mic = new FrontDeskMic.Microphone({
      onSpeechStart: () => Boolean(speaking),
      onProbe: async (wav) => {
        const text = await transcribe(wav);
        if (text && speaking && !isEcho(text)) stopSpeaking(); // the caller talks over the agent: let them
      },
      onSentence: (wav) => { hear(wav); },
    });
    ui.hold.hidden = false;
    const press = (event) => { event.preventDefault(); holdToTalk(true); };
    const release = () => holdToTalk(false);
    ui.hold.addEventListener("pointerdown", press);
    ui.hold.addEventListener("pointerup", release);
    ui.hold.addEventListener("pointerleave", release);
    ui.hold.addEventListener("pointercancel", release);
    ui.hold.addEventListener("keydown", (event) => {
      if ((event.key === " " || event.key === "Enter") && !event.repeat) press(event);
    });
    ui.hold.addEventListener("keyup", (event) => { if (event.key === " " || event.key === "Enter") release(); });
  }

  async function openMic() {
    try {
      await mic.start();
      recognizing = true;
      ui.voiceNote.textContent = "";
    } catch (err) {
      wantListening = false;
      recognizing = false;
      ui.voiceNote.textContent = err.message;
    }
    if (!wantListening && !holding) closeMic(); // turned off while it was opening
    refreshStatus();
  }

  function closeMic() {
    mic.stop();
    recognizing = false;
    refreshStatus();
  }

  let holding = false;
  async function holdToTalk(down) {
    if (!mic || down === holding) return;
    holding = down;
    ui.hold.setAttribute("aria-pressed", String(down));
    if (down) {
      stopSpeaking();
      await openMic();
      if (holding && mic.open) mic.hold(true);
    } else {
      mic.hold(false);
      if (!wantListening) closeMic();
    }
  }

  // The text of one recording as the server heard it; null (and a note for the caller) when it could not.
  async function transcribe(wav) {
    try {
      const send = async (renew) => fetch(`api/transcribe?session_id=${encodeURIComponent(await ensureSession(renew))}`,
        { method: "POST", headers: { "content-type": "audio/wav" }, body: wav });
      let response = await send(false);
      if (response.status === 403) response = await send(true); // the session expired, or another tab took over
      const body = await response.json().catch(() => null);
      if (response.ok && body && typeof body.text === "string") return body.text.trim();
      ui.voiceNote.textContent = `Sorry, I couldn't hear that (${problem(body, response.status)}). Please say it again, or type it.`;
    } catch (err) {
      ui.voiceNote.textContent = "Sorry, I couldn't reach the front desk to hear that. Please try again, or type it.";
    }
    return null;
  }

  // A finished sentence: shows what was heard, then asks it (or answers a confirmation); never the agent's echo.
  async function hear(wav) {
    ui.heard.textContent = "Heard: …";
    thinking += 1;
    refreshStatus();
    const text = await transcribe(wav);
    thinking -= 1;
    refreshStatus();
    const reply = text && confirming !== null && yesOrNo(text) !== null; // a short yes or no is never our echo
    if (!text || (!reply && isEcho(text))) {
      ui.heard.textContent = "";
      return;
    }
    ui.heard.textContent = `Heard: ${text}`;
    ask(text);
  }

  // ---- asking

  // The phone must be something a text can go to; say so next to the field, and keep the question.
  function phoneProblem() {
    const phone = ui.phone.value.trim();
    if (!phone) return "";
    const digits = phone.replace(/[^0-9]/g, "").length;
    if (digits < 3 || /[^0-9+\-(). ]/.test(phone)) return "Please enter a phone number with digits only (and + - ( ) .), or leave it empty.";
    return "";
  }

  function showPhoneProblem(text) {
    ui.phoneError.textContent = text;
    ui.phone.setAttribute("aria-invalid", text ? "true" : "false");
    if (text) ui.phone.focus();
  }

  function callerDetails() {
    const caller = {};
    const name = ui.name.value.trim();
    const phone = ui.phone.value.trim();
    if (name) caller.name = name;
    if (phone) caller.phone = phone;
    return caller;
  }

  function problem(body, status) {
    if (body && typeof body.message === "string") return body.message;
    if (body && typeof body.detail === "string") return body.detail;
    return `the service answered ${status}`;
  }

  // A spoken or typed reply to "Just to check — are you asking …?": true, false, or null (something else).
  const YES = new Set(["yes", "yeah", "yep", "yup", "correct", "right", "exactly", "sure", "indeed", "absolutely"]);
  const NO = new Set(["no", "nope", "nah", "wrong", "incorrect"]);
  function yesOrNo(text) {
    const heard = words(text);
    if (heard.length === 0 || heard.length > 4) return null;
    if (heard.some((w) => NO.has(w)) || heard.join(" ").startsWith("not ")) return false;
    if (heard.some((w) => YES.has(w))) return true;
    return null;
  }

  function showConfirm(id) {
    confirming = id;
    ui.confirm.hidden = id === null;
    save();
  }

  async function ask(question) {
    question = question.trim();
    if (!question) return;
    if (confirming !== null && yesOrNo(question) !== null) {
      say("caller", "You", question);
      await confirm(yesOrNo(question));
      return;
    }
    const bad = phoneProblem();
    showPhoneProblem(bad);
    if (bad) { ui.question.value = question; return; } // kept for the caller to send once the number is fixed
    showConfirm(null); // a new question instead of a yes or no: the old one goes to the supervisor in time
    say("caller", "You", question);
    await reply(async () => {
      const send = async (renew) => fetch("api/ask", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question, session_id: await ensureSession(renew), caller: callerDetails() }),
      });
      const response = await send(false);
      return response.status === 403 ? send(true) : response; // the session expired, or another tab took over
    }, "Sorry, I couldn't take that question");
  }

  async function confirm(confirmed) {
    const id = confirming;
    if (id === null) return;
    showConfirm(null);
    await reply(() => fetch(`api/confirmations/${encodeURIComponent(id)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ confirmed }),
    }), "Sorry, that didn't go through");
  }

  // Shows and speaks the agent's reply to an ask or a confirmation (`request` makes the fetch).
  async function reply(request, apology) {
    stopSpeaking();
    thinking += 1;
    refreshStatus();
    try {
      const response = await request();
      const body = await response.json().catch(() => null);
      if (!response.ok || !body || typeof body.message !== "string") {
        if (response.status === 422 && JSON.stringify(body).includes("phone")) {
          showPhoneProblem("Please check your phone number: it should be digits (and + - ( ) .), or left empty.");
        } else {
          say("error", "Problem", `${apology}. Please try again in a moment.`);
        }
        return;
      }
      if (body.outcome === "escalated" || body.outcome === "confirm") {
        if (body.reference != null) waiting.add(body.reference);
        refreshWaiting();
        subscribe(); // an unanswered confirmation reaches the supervisor, and its answer comes here
      }
      say("agent", "Agent", body.message);
      speak(body.message);
      if (body.outcome === "confirm") showConfirm(body.confirmation_id);
    } catch (err) {
      say("error", "Problem", "Sorry, I couldn't reach the front desk. Please try again in a moment.");
    } finally {
      thinking -= 1;
      refreshStatus();
    }
  }

  // ---- follow-ups

  function subscribe() {
    if (events || !session) return;
    const url = `api/sessions/${encodeURIComponent(session.id)}/events` + (lastEventId ? `?after=${lastEventId}` : "");
    events = new EventSource(url);
    events.addEventListener("followup", onFollowUp);
    events.onerror = () => {
      // EventSource reconnects by itself with Last-Event-ID; only a closed source needs a new one.
      if (events && events.readyState === EventSource.CLOSED) {
        events = null;
        setTimeout(subscribe, 2000);
      }
    };
  }

  function onFollowUp(event) {
    if (event.lastEventId) {
      if (seenEvents.has(event.lastEventId)) return;
      seenEvents.add(event.lastEventId);
      lastEventId = Math.max(lastEventId, Number(event.lastEventId) || 0);
      save();
    }
    let data;
    try { data = JSON.parse(event.data); } catch (err) { return; }
    if (!data || typeof data.message !== "string") return;
    waiting.delete(data.reference);
    refreshWaiting();
    if (data.status === "resolved") say("followup", "Follow-up", data.message);
    else say("apology", "Follow-up: no answer yet", data.message); // not an answer: shown apart from them
    speak(data.message);
  }

  // ---- call me back instead: a waiting caller leaves a phone number and can hang up

  const callBack = { box: $("callback"), button: $("callback-button"), note: $("callback-note") };

  function refreshCallBack() {
    const open = [...waiting].some((reference) => !calledBack.has(reference));
    callBack.button.hidden = !open;
    callBack.box.hidden = !open && !callBack.note.textContent;
  }

  async function askForCallBack() {
    const bad = ui.phone.value.trim() ? phoneProblem() : "Enter your phone number so we can call you back.";
    showPhoneProblem(bad);
    if (bad) return;
    let said = "";
    for (const reference of [...waiting].filter((r) => !calledBack.has(r))) {
      try {
        const response = await fetch(`api/sessions/${encodeURIComponent(session.id)}/callbacks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ reference, phone: ui.phone.value.trim(), name: ui.name.value.trim() || null }),
        });
        const body = await response.json().catch(() => null);
        if (response.ok && body && typeof body.message === "string") {
          calledBack.add(reference);
          said = body.message;
        } else if (response.status === 409) {
          calledBack.add(reference); // answered meanwhile: the answer is on its way here
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
    callBack.note.textContent = said;
    save();
    refreshCallBack();
  }

  callBack.button.addEventListener("click", askForCallBack);

  // ---- LiveKit (optional)

  function loadLivekit() {
    return new Promise((resolve, reject) => {
      if (window.LivekitClient) { resolve(window.LivekitClient); return; }
      const script = document.createElement("script");
      script.src = "vendor/livekit-client.umd.js";
      script.onload = () => (window.LivekitClient ? resolve(window.LivekitClient) : reject(new Error("no client")));
      script.onerror = () => reject(new Error("could not load"));
      document.head.append(script);
    });
  }

  async function joinRoom() {
    if (!config.livekit_enabled || room) return;
    ui.livekitStatus.textContent = "LiveKit: joining the call room…";
    try {
      const client = await loadLivekit();
      const response = await fetch("api/livekit/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ session_id: await ensureSession(false) }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok || !body) throw new Error(problem(body, response.status));
      const joining = new client.Room();
      await joining.connect(body.url, body.token);
      room = joining;
      room.on(client.RoomEvent.Disconnected, () => {
        room = null;
        ui.livekitStatus.textContent = "LiveKit: left the call room.";
      });
      await room.localParticipant.setMicrophoneEnabled(true);
      ui.livekitStatus.textContent = `LiveKit: in room ${body.room}, microphone on. A supervisor can listen in.`;
    } catch (err) {
      room = null;
      ui.livekitStatus.textContent = "LiveKit: couldn't join the call room. The call still works here.";
    }
  }

  function leaveRoom() {
    if (room) { room.disconnect(); room = null; }
    if (config.livekit_enabled) ui.livekitStatus.textContent = "LiveKit is on: it joins when you start the call.";
  }

  // ---- the call

  function toggleCall() {
    callActive = !callActive;
    ui.call.dataset.active = String(callActive);
    ui.call.textContent = callActive ? "End call" : "Start call";
    if (callActive) {
      if (!greeted) { greeted = true; speak(config.greeting); }
      if ((recognition || mic) && !wantListening) { wantListening = true; listen(); }
      joinRoom();
    } else {
      wantListening = false;
      stopListening();
      stopSpeaking();
      leaveRoom();
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
    ui.livekitStatus.textContent = config.livekit_enabled
      ? "LiveKit is on: it joins when you start the call."
      : ""; // nothing for a caller to act on
    if (config.livekit_enabled) loadLivekit().catch(() => {
      ui.livekitStatus.textContent = "LiveKit is on, but its client didn't load. The call still works here.";
    });
  }

  function setUpVoice() {
    if (config.speech === "server") setUpServerSpeech();
    else if (config.speech === "browser") setUpRecognition();
    else {
      ui.talk.disabled = true;
      ui.voiceNote.textContent = "Voice input is off here: type your question instead.";
    }
    if (!synth) {
      ui.voiceNote.textContent = (ui.voiceNote.textContent + " Spoken answers aren't available here: read them below.").trim();
    }
    refreshStatus();
  }

  async function start() {
    refreshStatus();
    await loadConfig();
    setUpVoice();
    ui.name.value = saved.name || "";
    ui.phone.value = saved.phone || "";
    for (const line of saved.lines || []) { lines.push(line); show(line.kind, line.who, line.text); }
    if (lines.length === 0) say("agent", "Agent", config.greeting);
    if (saved.confirming) showConfirm(saved.confirming);
    refreshWaiting();
    if (waiting.size > 0 || confirming !== null) subscribe(); // a reload must not lose an awaited follow-up
    ensureSession(false).catch(() => { /* made again on the first ask */ });
    // Browsers may refuse speech before a gesture; "Start call" greets aloud then.
    if (synth && navigator.userActivation && navigator.userActivation.hasBeenActive) {
      greeted = true;
      speak(config.greeting);
    }
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.question.value;
    ui.question.value = "";
    ask(text);
    ui.question.focus();
  });
  ui.question.addEventListener("input", () => { if (speaking) stopSpeaking(); }); // typing interrupts
  ui.name.addEventListener("change", save);
  ui.phone.addEventListener("change", () => { save(); showPhoneProblem(phoneProblem()); });
  ui.call.addEventListener("click", toggleCall);
  ui.talk.addEventListener("click", toggleListening);
  ui.hush.addEventListener("click", stopSpeaking);
  ui.confirmYes.addEventListener("click", () => { say("caller", "You", "Yes"); confirm(true); });
  ui.confirmNo.addEventListener("click", () => { say("caller", "You", "No"); confirm(false); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") stopSpeaking(); });
  window.addEventListener("pagehide", () => { if (events) events.close(); leaveRoom(); });

  start();
})();
