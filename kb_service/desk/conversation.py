"""The turns the agent handles itself, inside the ask's transaction: a greeting, thanks, goodbye, "um", a yes or
no with nothing to confirm, "say that again", "are you a robot?" (outcome `replied`), a yes or no to the check the
agent just asked ("Just to check — are you asking …?": settled as the confirmation route would, outcome `answered`
or `escalated`), and asking for a person or for what only staff can do (outcome `handoff`: a call-back with the
caller's words, no help request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kb_service.conversation import handoffs
from kb_service.conversation.intents import HANDOFF, NO, YES, Reading, words
from kb_service.conversation.phone import phone_in
from kb_service.conversation.replies import (
    FILLER_REPLY,
    HANDOFF_ASK_NUMBER,
    HANDOFF_CALL_BACK,
    NUMBER_TAKEN,
    STRAY_REPLY,
    ends_call,
    reply,
)
from kb_service.conversation.turns import Turn
from kb_service.desk import phones
from kb_service.desk.confirmations import Confirmations
from kb_service.matching.matcher import ANSWER, ESCALATE, Decision
from kb_service.storage.store import Tx, iso
from models import AskOutcome, AskRequest, AskResponse

STRAY_WORDS = 2  # a turn this short that matches nothing is a stray word, not a question for the supervisor


@dataclass(frozen=True)
class Handled:
    response: AskResponse
    awaiting_number: int | None = None  # the call-back whose number the caller's next turn may give
    # A yes or no that settled a check: the ask log counts it as a conversational turn, and the question's own
    # row carries the outcome (as when the check is answered through POST /api/confirmations/{id}).
    settled_check: bool = False


class Conversation:
    def __init__(self, business_name: str, confirmations: Confirmations):
        self.business_name = business_name
        self.confirmations = confirmations

    def handle(
        self, tx: Tx, ask: AskRequest, reading: Reading, history: list[Turn], decision: Decision, at: datetime
    ) -> Handled | None:
        """The agent's own reply to a conversational turn; None for a question (the knowledge base's)."""
        stamp = iso(at)
        last = history[0] if history else None
        if last is not None and last.handoff_id is not None and (phone := phone_in(ask.question)):
            handoffs.attach_phone(tx, last.handoff_id, phone)
            return Handled(self._said(NUMBER_TAKEN.format(phone=phone), decision))
        intent = reading.intent
        # Only a sure yes or no (a rule's reading, 1.0) answers a check: a sentence model puts "that's not it"
        # next to "that's it".
        sure = reading.score >= 1.0
        if intent in (YES, NO) and sure and ask.session_id and (check := open_check(history)) is not None:
            settled = self.confirmations.settle_said(tx, ask.session_id, check.question, intent == YES, at)
            if settled is not None:
                return Handled(settled, settled_check=True)
        if intent is None:
            if decision.outcome == ESCALATE and len(words(ask.question)) <= STRAY_WORDS and "?" not in ask.question:
                return Handled(self._said(STRAY_REPLY.format(words=ask.question.strip()), decision))
            return None
        if intent == HANDOFF:
            return self._hand_off(tx, ask, decision, stamp)
        if decision.outcome == ANSWER and decision.score > reading.score:  # the knowledge base knows it better
            return None
        first_turn = ask.session_id is not None and not history
        message = reply(intent, self.business_name, first_turn, last.message if last else None)
        return Handled(self._said(message, decision, ends_call(intent)))

    def _hand_off(self, tx: Tx, ask: AskRequest, decision: Decision, stamp: str) -> Handled:
        phone = ask.caller.phone
        if not phone and ask.session_id:  # the number this call already gave: never asked for twice
            phone = phones.verified_phone(tx, ask.session_id) or handoffs.number_given(tx, ask.session_id)
        callback_id = handoffs.open_callback(tx, ask.question, ask.caller.name, phone, ask.session_id, stamp)
        message = HANDOFF_CALL_BACK.format(phone=phone) if phone else HANDOFF_ASK_NUMBER
        response = self._said(message, decision)
        response.outcome = AskOutcome.handoff
        return Handled(response, None if phone else callback_id)

    @staticmethod
    def _said(message: str, decision: Decision, end_call: bool = False) -> AskResponse:
        return AskResponse(
            outcome=AskOutcome.replied,
            answer=None,
            knowledge_id=None,
            score=decision.score,
            reference=None,
            message=message,
            end_call=end_call,
        )


def open_check(history: list[Turn]) -> Turn | None:
    """The turn that asked "Just to check — are you asking …?", when that check is what the agent said last (or
    said again on "say that again"; "take your time" after an "um" aside). A yes or no after anything else is not
    an answer to it: the caller moved on."""
    said = [turn for turn in history if turn.message != FILLER_REPLY]
    asked = next((turn for turn in said if turn.outcome == "confirm"), None)
    return asked if asked is not None and said[0].message == asked.message else None
