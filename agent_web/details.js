// The caller's name and phone, sent with each ask; the phone must be something a text can go to.
import { ui } from "./state.js";

export function phoneProblem() {
  const phone = ui.phone.value.trim();
  if (!phone) return "";
  const digits = phone.replace(/[^0-9]/g, "").length;
  if (digits < 3 || /[^0-9+\-(). ]/.test(phone)) {
    return "Please enter a phone number with digits only (and + - ( ) .), or leave it empty.";
  }
  return "";
}

// Said next to the field (empty text clears it), which takes the focus so the caller can fix it.
export function showPhoneProblem(text) {
  ui.phoneError.textContent = text;
  ui.phone.setAttribute("aria-invalid", text ? "true" : "false");
  if (text) ui.phone.focus();
}

export function callerDetails() {
  const caller = {};
  const name = ui.name.value.trim();
  const phone = ui.phone.value.trim();
  if (name) caller.name = name;
  if (phone) caller.phone = phone;
  return caller;
}
