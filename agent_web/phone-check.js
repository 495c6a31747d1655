// Proving the phone number before anything is texted to it: "Text me a code", then type the code back.
// Self-contained: it needs only the call's session (window.FrontDeskCall.ensureSession, from call.js).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const phone = $("caller-phone"), send = $("phone-send-code"), code = $("phone-code");
  const verify = $("phone-verify"), status = $("phone-check-status");
  if (!phone || !send || !code || !verify || !status) return;

  const say = (text) => { status.textContent = text; };
  const detail = (body, status) => (body && typeof body.detail === "string" ? body.detail : `error ${status}`);

  async function post(path, body) {
    const sessionId = await window.FrontDeskCall.ensureSession(false);
    const response = await fetch(`api/sessions/${encodeURIComponent(sessionId)}/${path}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    return { response, body: await response.json().catch(() => null) };
  }

  send.addEventListener("click", async () => {
    const number = phone.value.trim();
    if (!number) { say("Enter your phone number first."); phone.focus(); return; }
    send.disabled = true;
    try {
      const { response, body } = await post("phone", { phone: number });
      if (response.status === 422) { say("Please check your phone number."); return; }
      if (!response.ok) { say(`No code sent: ${detail(body, response.status)}.`); return; }
      say(body.message);
      code.hidden = false; verify.hidden = false; code.value = ""; code.focus();
    } catch (err) {
      say("No code sent: the front desk could not be reached.");
    } finally {
      send.disabled = false;
    }
  });

  async function check() {
    const typed = code.value.trim();
    if (!/^[0-9]{4,12}$/.test(typed)) { say("Type the code from the text (digits only)."); code.focus(); return; }
    verify.disabled = true;
    try {
      const { response, body } = await post("phone/verify", { code: typed });
      if (!response.ok) { say(`${detail(body, response.status)}.`); return; }
      say(body.message);
      code.hidden = true; verify.hidden = true; send.hidden = true;
    } catch (err) {
      say("Not checked: the front desk could not be reached.");
    } finally {
      verify.disabled = false;
    }
  }

  verify.addEventListener("click", check);
  code.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); check(); } });
  phone.addEventListener("input", () => { send.hidden = false; }); // a new number needs its own code
})();
