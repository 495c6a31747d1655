// The conversation as the caller sees it: one line per turn, caller text only ever as textContent.
import { ui } from "./state.js";

// Adds a line and keeps it for a reload; kind: caller, agent, followup, apology, error.
export function say(state, kind, who, text) {
  state.lines.push({ kind, who, text });
  state.save();
  return show(kind, who, text);
}

export function show(kind, who, text) {
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
