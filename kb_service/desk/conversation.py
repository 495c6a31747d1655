"""The turns the agent handles itself, inside the ask's transaction: a greeting, thanks, goodbye, "um", a yes or
no with nothing to confirm, "say that again", "are you a robot?" (outcome `replied`), and asking for a person or
for what only staff can do (outcome `handoff`: a call-back with the caller's words, no help request)."""

from __future__ import annotations

from dataclasses import dataclass

from kb_service.conversation import handoffs
from kb_service.conversation.intents import HANDOFF, Reading, words
from kb_service.conversation.phone import phone_in
from kb_service.conversation.replies import (
    HANDOFF_ASK_NUMBER,
    HANDOFF_CALL_BACK,
    NUMBER_TAKEN,
    STRAY_REPLY,
    ends_call,
    reply,
)
from kb_service.conversation.turns import Turn
from kb_service.matching.matcher import ANSWER, ESCALATE, Decision
from kb_service.storage.store import Tx
from models import AskOutcome, AskRequest, AskResponse

STRAY_WORDS = 2  # a turn this short that matches nothing is a stray word, not a question for the supervisor


@dataclass(frozen=True)
class Handled:
    response: AskResponse
    awaiting_number: int | None = None  # the call-back whose number the caller's next turn may give


class Conversation:
    def __init__(self, business_name: str):
        self.business_name = business_name

    def handle(
        self, tx: Tx, ask: AskRequest, reading: Reading, history: list[Turn], decision: Decision, stamp: str
    ) -> Handled | None:
        """The agent's own reply to a conversational turn; None for a question (the knowledge base's)."""
        last = history[0] if history else None
        if last is not None and last.handoff_id is not None and (phone := phone_in(ask.question)):
            handoffs.attach_phone(tx, last.handoff_id, phone)
            return Handled(self._said(NUMBER_TAKEN.format(phone=phone), decision))
        intent = reading.intent
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
