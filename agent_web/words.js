// Words of a sentence, for telling the agent's own echo from the caller and a yes from a no.

export function words(text) {
  return text.toLowerCase().replace(/[^\p{L}\p{N}' ]+/gu, " ").split(/\s+/).filter(Boolean);
}

const YES = new Set(["yes", "yeah", "yep", "yup", "correct", "right", "exactly", "sure", "indeed", "absolutely"]);
const NO = new Set(["no", "nope", "nah", "wrong", "incorrect"]);

// A spoken or typed reply to "Just to check — are you asking …?": true, false, or null (something else).
export function yesOrNo(text) {
  const heard = words(text);
  if (heard.length === 0 || heard.length > 4) return null;
  if (heard.some((w) => NO.has(w)) || heard.join(" ").startsWith("not ")) return false;
  if (heard.some((w) => YES.has(w))) return true;
  return null;
}
