"""A turn as the receptionist reads it before writing anything: its conversational reading, the call's last
turns, the knowledge base's decision, and a follow-up's second reading in the light of the question before it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from kb_service.conversation.intents import Reading, words
from kb_service.conversation.turns import Turn, last_question
from kb_service.matching.matcher import ANSWER, CONFIRM, Decision, Matcher
from models import AskRequest

FOLLOW_UP_WORDS = 6  # longer turns say what they are about
CONTEXT_WEIGHT = 0.8  # the earlier question's share of a follow-up's vector (1.0: as much as the turn's own)
# A follow-up read with the earlier question is a guess: from this confidence the caller is asked to confirm it
# ("Just to check — are you asking …?"), below the answering threshold. See docs/quality.md.
FOLLOW_UP_CONFIRM = 0.75
_CUE = re.compile(
    r"^(?:and|also|or|what about|how about|same|plus)\b|\b(?:those|that|them|it|they|these|this one|ones|there)\b"
)
_RANK = {ANSWER: 2, CONFIRM: 1}


@dataclass(eq=False)
class Part:
    """One of two questions asked in one turn, embedded in the turn's batch."""

    question: str
    vector: np.ndarray
    decision: Decision | None = None


@dataclass(eq=False)
class Heard:
    ask: AskRequest
    vector: np.ndarray
    reading: Reading
    history: list[Turn]  # the call's last turns, the newest first
    decision: Decision
    parts: list[Part] = field(default_factory=list)
    context: str | None = None  # the earlier question this turn was read with, when it looks like a follow-up
    context_vector: np.ndarray | None = None  # the turn's vector with that context: what a next follow-up builds on


def looks_like_follow_up(text: str) -> bool:
    said = " ".join(words(text))
    return len(said.split()) <= FOLLOW_UP_WORDS and (len(said.split()) <= 3 or _CUE.search(said) is not None)


def follow_ups(matcher: Matcher, heard: list[Heard]) -> None:
    """Match short or unsure turns again with the call's previous question as context; keep the better reading."""
    chosen: list[tuple[Heard, Turn, np.ndarray]] = []
    for one in heard:
        earlier = last_question(one.history)
        if one.reading.intent is not None or one.parts or earlier is None or earlier.vector is None:
            continue
        if looks_like_follow_up(one.ask.question) and one.decision.outcome != ANSWER:
            chosen.append((one, earlier, earlier.vector))
    if not chosen:
        return
    blended = np.stack([one.vector + CONTEXT_WEIGHT * context for one, _, context in chosen])
    blended /= np.linalg.norm(blended, axis=1, keepdims=True)
    texts = [f"{earlier.question} {one.ask.question}" for one, earlier, _ in chosen]
    decisions = matcher.match(blended, texts, guard_all=False)
    for (one, earlier, _), vector, decision in zip(chosen, blended, decisions, strict=True):
        one.context, one.context_vector = earlier.question, vector
        if decision.outcome != ANSWER and decision.best is not None and decision.guard is None:
            if decision.confidence >= FOLLOW_UP_CONFIRM:
                decision = Decision(CONFIRM, decision.best, decision.runner_up)
        if _RANK.get(decision.outcome, 0) > _RANK.get(one.decision.outcome, 0):
            one.decision = decision
