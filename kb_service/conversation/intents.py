"""What a turn is, conversationally: a greeting, thanks, a request for a person… or None (a question).

Rules first, for what a sentence model reads poorly: very short turns ("um", "yes"), a greeting or thanks in
front of a question, and asking staff to book, cancel or move an appointment. Then the turn's own vector (the
one the ask pipeline computed for matching: no forward pass here) against the curated phrasings' vectors,
embedded once at start-up; the nearest phrasing names the intent when it is close enough."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from kb_service.conversation.phrasings import (
    FILLER,
    GOODBYE,
    GREETING,
    HANDOFF,
    IDENTITY,
    NO,
    PHRASINGS,
    REPEAT,
    THANKS,
    YES,
)
from kb_service.embedding import Embedder

# Nearest-phrasing cosine at which a turn counts as conversational. On CLINC150's 5,500 test questions 90 reach
# it, nearly all of its own greeting/thanks/goodbye/yes/no/repeat/bot intents; 3 of HWU64's 1,076 (quality.md).
NEAR = 0.75

_FILLER_WORDS = {
    "um", "umm", "uh", "uhh", "uhm", "hmm", "hm", "hmmm", "er", "erm", "ah", "ahh", "eh", "mm", "mmm", "huh",
    "oh", "so", "well", "like", "anyway", "anyways",
}  # fmt: skip
_OPENERS = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|morning|yes|yeah|ok(?:ay)?|oh|"
    r"great|perfect|lovely|cool|awesome|right|so|um+|uh+|thanks|thank you(?: so much| very much)?|cheers)"
    r"(?: there)?[\s,.!]+)+"
)
_GREETING_OPENER = re.compile(r"^(?:hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|morning)\b")
_THANKS_OPENER = re.compile(r"^(?:thanks|thank you|cheers)\b")
# Asking staff to act on an appointment: a request (not "how do I book?" or "can I book online?", questions for
# the knowledge base) to book, cancel or move something, or one that names when.
_ACTION = r"(?:book|schedule|cancel|reschedule|move|change|make|set up|push back|bring forward|rebook|arrange)"
_THING = (
    r"(?:appointments?|bookings?|reservations?|slot|session|visit|consultation|haircut|cut|trim|colou?r|"
    r"highlights|balayage|blow ?dry|table|me in|us in|in for)"
)
_WHEN = (
    r"(?:today|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|next week|"
    r"this week|morning|afternoon|evening|at \d|\d ?(?:am|pm)|o'clock|noon)"
)
_WANT = (
    r"(?:i(?:'d| would)? (?:like|want|need|wanna)|i'm (?:calling|trying|looking|hoping) to|i have to|please|"
    r"can you|could you|would you|can someone|could someone|i'd love to)"
)
_STAFF_ACTION = re.compile(
    rf"\b{_WANT}\s+(?:to\s+)?(?:please\s+)?{_ACTION}\b[^.?!]{{0,40}}?\b(?:{_THING}|{_WHEN})\b|"
    rf"\b(?:can|could|may) (?:i|we)\s+(?:please\s+)?{_ACTION}\b[^.?!]{{0,40}}?\b{_WHEN}\b|"
    r"\b(?:book|schedule|pencil|fit|squeeze) (?:me|us) (?:in|for|on|at)\b|"
    r"\b(?:cancel|move|change|reschedule|push back) (?:my|our) (?:appointment|booking|reservation|slot)\b|"
    r"\bi(?:'d| would)? (?:like|want|need|wish) to (?:make |file |lodge |register )?(?:a )?complain|"
    r"\bi have a complaint\b"
)
# Asking for a person by name of role, in any wording: "then I'd rather speak to a human".
_A_PERSON = re.compile(
    r"\b(?:speak|talk|chat|get through|put me through|be put through|transfer me|connect me)\s+(?:to|with)\s+(?:a |an |the |some |your )?"
    r"(?:real |actual |live )?(?:human|person|someone|somebody|anyone|anybody|manager|owner|staff|"
    r"representative|receptionist|operator|people)\b"
)
# "Am I speaking to a bot?", "is this a real person?": who the caller is talking to.
_WHO = re.compile(
    r"\b(?:are you|am i (?:talking|speaking|chatting) (?:to|with)|is (?:this|that|it)) (?:just )?(?:a |an )?"
    r"(?:real |actual |live )?(?:robot|bot|machine|computer|human|person|ai|recording|automated|answering machine)\b"
)
_AGAIN = re.compile(
    r"\b(?:say (?:that|it|this) again|repeat (?:that|it|this|the answer|yourself)|what did you (?:just )?say|"
    r"(?:didn't|did not|couldn't|could not) (?:quite )?(?:catch|hear|get) (?:that|it|you|what you said)|"
    r"missed (?:that|it|what you said)|come again|one more time)\b"
)
# A short answer to a yes-or-no question, said in a few words: "yeah, that's right", "no, not that one". Every
# word is one of these, and a no-word decides it ("not exactly" is a no); the words say nothing else.
_YES_WORDS = {
    "yes", "yeah", "yep", "yup", "yea", "ya", "ok", "okay", "right", "correct", "exactly", "absolutely",
    "definitely", "indeed", "precisely", "totally", "perfect", "alright",
}  # fmt: skip
_NO_WORDS = {"no", "nope", "nah", "not", "wrong", "incorrect", "don't", "isn't", "wasn't", "never"}
_ANSWER_GLUE = {
    "that's", "that", "thats", "it", "it's", "is", "was", "the", "one", "what", "i", "i'm", "am", "asked", "asking",
    "meant", "mean", "quite", "at", "all", "please", "um", "uh", "oh", "well", "think", "something", "else",
    "you", "got", "sir", "ma'am",
}  # fmt: skip
ANSWER_WORDS = 7
_CLOSING = re.compile(r"\b(?:bye|goodbye|bye bye|see ya|see you)\W*$")
_QUESTION_OPENER = re.compile(r"^(?:how do|how can|can i|is it possible|do i|do you|what|when|where|is there)\b")
# Asking how or what ("how do I book an appointment?", "what is your cancellation policy?"): a question for the
# knowledge base, never a hand-off by its likeness to "I want to book an appointment" alone.
_ASKS_HOW = re.compile(r"^(?:how do|how can|how would|do i|what|when|where|is there)\b")


@dataclass(frozen=True)
class Reading:
    intent: str | None  # None: a question for the knowledge base
    score: float  # cosine to the nearest phrasing of that intent (1.0 for a rule)
    question: str  # the turn without a greeting or thanks in front (the whole turn otherwise)
    opener: str | None = None  # GREETING or THANKS said before the question, if any


def normalized(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w'\s,.!?]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def words(text: str) -> list[str]:
    return re.findall(r"[\w']+", normalized(text))


class IntentReader:
    def __init__(self, embedder: Embedder):
        self.intents: list[str] = []
        texts: list[str] = []
        for intent, phrasings in PHRASINGS.items():
            self.intents.extend([intent] * len(phrasings))
            texts.extend(phrasings)
        self.vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
        self.exact = {_bare(text): intent for intent, text in zip(self.intents, texts, strict=True)}

    def read(self, text: str, vector: np.ndarray) -> Reading:
        said = normalized(text)
        tokens = words(said)
        if not tokens or all(t in _FILLER_WORDS for t in tokens):
            return Reading(FILLER, 1.0, text)
        if (intent := self.exact.get(_bare(said))) is not None:
            return Reading(intent, 1.0, text)
        if _AGAIN.search(said) and len(tokens) <= 10:
            return Reading(REPEAT, 1.0, text)
        if _WHO.search(said):
            return Reading(IDENTITY, 1.0, text)
        if (_STAFF_ACTION.search(said) and not _QUESTION_OPENER.match(said)) or _A_PERSON.search(said):
            return Reading(HANDOFF, 1.0, text)
        if _CLOSING.search(said) and "?" not in said and len(tokens) <= 6:  # "ok, never mind, goodbye"
            return Reading(GOODBYE, 1.0, text)
        if (answer := _yes_or_no(said, tokens)) is not None:
            return Reading(answer, 1.0, text)
        opener = _opener(said)
        rest = _OPENERS.sub("", said + " ").strip() if opener else said
        if opener and rest != said:
            rest_tokens = words(rest)
            if (intent := self.exact.get(_bare(rest))) is not None:
                # "thanks, bye" is a goodbye; "hi, yes" is still a greeting
                return Reading(intent if intent not in (YES, NO, FILLER) else opener, 1.0, text)
            if len(rest_tokens) >= 2:  # "hi, do you take walk-ins?": the question is what to answer
                intent, score = self._nearest(vector, rest)
                if score >= NEAR:  # "hi there, how are you?"
                    return Reading(intent, score, text, opener)
                return Reading(None, score, _tail(text, len(rest_tokens)), opener)
        intent, score = self._nearest(vector, said)
        if score >= NEAR:
            return Reading(intent, score, text)
        if intent == GOODBYE and score >= NEAR - 0.1 and re.search(r"\b(?:bye|goodbye)\b", said):
            return Reading(GOODBYE, score, text)
        return Reading(None, score, text)

    def _nearest(self, vector: np.ndarray, said: str) -> tuple[str, float]:
        """The nearest conversational intent and its cosine; a hand-off only when `said` does not ask how or
        what (the 0.0 then keeps it below NEAR)."""
        similarities = self.vectors @ np.asarray(vector, dtype=np.float32)
        best = int(similarities.argmax())
        if self.intents[best] == HANDOFF and _ASKS_HOW.match(said):
            return HANDOFF, 0.0
        return self.intents[best], float(similarities[best])


def _bare(text: str) -> str:
    return " ".join(words(text))


def _opener(said: str) -> str | None:
    if _GREETING_OPENER.match(said):
        return GREETING
    if _THANKS_OPENER.match(said):
        return THANKS
    return GREETING if _OPENERS.match(said + " ") else None


def _tail(text: str, count: int) -> str:
    """The last `count` words of the caller's own text, as they wrote it."""
    spans = list(re.finditer(r"[\w'’]+", text))
    start = spans[-count].start() if count <= len(spans) else 0
    return text[start:].strip()


def _yes_or_no(said: str, tokens: list[str]) -> str | None:
    """YES or NO for a few words that only say yes or no ("yeah, that's right", "nope, not that"), else None."""
    if "?" in said or len(tokens) > ANSWER_WORDS or any(t not in _YES_WORDS | _NO_WORDS | _ANSWER_GLUE for t in tokens):
        return None
    if any(t in _NO_WORDS for t in tokens):
        return NO
    return YES if any(t in _YES_WORDS for t in tokens) else None
