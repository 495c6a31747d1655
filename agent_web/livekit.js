// LiveKit (optional): with it configured, Start call joins the room `call-<session_id>` with the microphone on,
// so a supervisor can listen in. The client is the local vendor/livekit-client.umd.js, loaded only when it is on.
import { problem, ui } from "./state.js";

const WAITING_NOTE = "LiveKit is on: it joins when you start the call.";

function loadClient() {
  return new Promise((resolve, reject) => {
    if (window.LivekitClient) { resolve(window.LivekitClient); return; }
    const script = document.createElement("script");
    script.src = "vendor/livekit-client.umd.js";
    script.onload = () => (window.LivekitClient ? resolve(window.LivekitClient) : reject(new Error("no client")));
    script.onerror = () => reject(new Error("could not load"));
    document.head.append(script);
  });
}

export class LiveKitRoom {
  constructor(state) {
    this.state = state;
    this.enabled = false;
    this.room = null;
  }

  // Says whether LiveKit is on, and loads its client ahead of the call.
  configure(enabled) {
    this.enabled = enabled;
    ui.livekitStatus.textContent = enabled ? WAITING_NOTE : ""; // off: nothing for a caller to act on
    if (enabled) loadClient().catch(() => {
      ui.livekitStatus.textContent = "LiveKit is on, but its client didn't load. The call still works here.";
    });
  }

  async join() {
    if (!this.enabled || this.room) return;
    ui.livekitStatus.textContent = "LiveKit: joining the call room…";
    try {
      const client = await loadClient();
      const response = await fetch("api/livekit/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ session_id: await this.state.ensureSession(false) }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok || !body) throw new Error(problem(body, response.status));
      const joining = new client.Room();
      await joining.connect(body.url, body.token);
      this.room = joining;
      joining.on(client.RoomEvent.Disconnected, () => {
        this.room = null;
        ui.livekitStatus.textContent = "LiveKit: left the call room.";
      });
      await joining.localParticipant.setMicrophoneEnabled(true);
      ui.livekitStatus.textContent = `LiveKit: in room ${body.room}, microphone on. A supervisor can listen in.`;
    } catch (err) {
      this.room = null;
      ui.livekitStatus.textContent = "LiveKit: couldn't join the call room. The call still works here.";
    }
  }

  leave() {
    if (this.room) { this.room.disconnect(); this.room = null; }
    if (this.enabled) ui.livekitStatus.textContent = WAITING_NOTE;
  }
}
