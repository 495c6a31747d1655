// Words of a sentence, for telling the agent's own echo from the caller and a yes from a no.

export function words(text) {
  return text.toLowerCase().replace(/[^\p{L}\p{N}' ]+/gu, " ").split(/\s+/).filter(Boolean);
}

// A short answer to a yes-or-no question, by the rule the service reads spoken turns with
// (kb_service/conversation/intents.py): at most 7 words, no "?", every word a yes-word, a no-word or glue ("that's
// right", "no, not that one"), and a no-word decides it. "sure, when are you open?" is a question, not a yes.
const YES = new Set([
  "yes", "yeah", "yep", "yup", "yea", "ya", "ok", "okay", "right", "correct", "exactly", "absolutely",
  "definitely", "indeed", "precisely", "totally", "perfect", "alright",
]);
const NO = new Set(["no", "nope", "nah", "not", "wrong", "incorrect", "don't", "isn't", "wasn't", "never"]);
const GLUE = new Set([
  "that's", "that", "thats", "it", "it's", "is", "was", "the", "one", "what", "i", "i'm", "am", "asked", "asking",
  "meant", "mean", "quite", "at", "all", "please", "um", "uh", "oh", "well", "think", "something", "else",
  "you", "got", "sir", "ma'am",
]);
const ANSWER_WORDS = 7;

// A spoken or typed reply to "Just to check — are you asking …?": true, false, or null (something else).
export function yesOrNo(text) {
  const heard = words(text.replace(/[’]/g, "'"));
  if (text.includes("?") || heard.length === 0 || heard.length > ANSWER_WORDS) return null;
  if (heard.some((w) => !YES.has(w) && !NO.has(w) && !GLUE.has(w))) return null;
  if (heard.some((w) => NO.has(w))) return false;
  return heard.some((w) => YES.has(w)) ? true : null;
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
