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

// Last words after which a caller is still going ("I'd like to know…", "and, um"): joining words, fillers,
// articles, prepositions, and verbs or question words that want more. Whisper marks a trailing off with "…" too.
const GOING_ON = new Set([
  "and", "or", "but", "so", "because", "cause", "then", "than", "also", "just", "if", "whether",
  "um", "uh", "er", "erm", "hmm", "mm", "ah", "well",
  "the", "a", "an", "my", "your", "our", "their", "his", "her", "some", "any", "this", "these", "those",
  "to", "of", "for", "about", "with", "in", "on", "at", "from", "by", "into", "as",
  "know", "wondering", "want", "wanted", "need", "like", "is", "are", "was", "were", "be", "can", "could", "would",
  "will", "should", "do", "does", "did", "have", "has", "get", "i", "i'm", "we", "you", "it's", "there's",
  "what", "when", "where", "which", "who", "how", "why",
]);

// True when heard words end mid-thought: the caller is likely to go on.
export function trailsOff(text) {
  const trimmed = text.trim();
  if (/(\.\.\.|…|[,;:\-–—])$/u.test(trimmed)) return true;
  const heard = words(trimmed);
  return heard.length > 0 && GOING_ON.has(heard[heard.length - 1]);
}
