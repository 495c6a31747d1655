"""What the agent says to the turns it handles itself."""

from __future__ import annotations

from kb_service.conversation.phrasings import FILLER, GOODBYE, GREETING, IDENTITY, NO, REPEAT, THANKS, YES

FIRST_GREETING = "Hello! Thanks for calling {business}. What can I help you with today?"
GREETING_AGAIN = "Hi! How can I help?"
THANKS_REPLY = "You're welcome! Is there anything else I can help with?"
GOODBYE_REPLY = "Thanks for calling {business}. Goodbye!"
FILLER_REPLY = "Take your time. Go ahead whenever you're ready: what would you like to know?"
STRAY_REPLY = 'Sorry, I only caught "{words}". Could you tell me a bit more about what you need?'
YES_REPLY = "Okay. What would you like to know?"
NO_REPLY = "No problem. Is there something else I can help you with?"
NO_AFTER_ANYTHING_ELSE = "Alright. Thanks for calling {business}, and have a lovely day!"
NOTHING_TO_REPEAT = "I haven't said anything yet apart from hello. How can I help?"
IDENTITY_REPLY = (
    "I'm {business}'s automated assistant, not a person. I can answer questions about {business}, or have"
    " someone from the team call you back: just say so."
)
HANDOFF_CALL_BACK = "Of course. I'll ask someone from the team to call you back at {phone} as soon as they can."
HANDOFF_ASK_NUMBER = (
    "Of course. I'll ask someone from the team to call you back. What's the best number to reach you on?"
)
NUMBER_TAKEN = "Thanks. Someone from the team will call you back at {phone} as soon as they can."
CHECKING_THE_OTHER = '{answer} As for "{other}", let me check that with someone, one moment.'


def reply(intent: str, business: str, first_turn: bool, last_message: str | None) -> str:
    """The line for a conversational intent (hand-offs and repeats of earlier turns are the desk's)."""
    if intent == GREETING:
        return FIRST_GREETING.format(business=business) if first_turn else GREETING_AGAIN
    if intent == THANKS:
        return THANKS_REPLY
    if intent == GOODBYE:
        return GOODBYE_REPLY.format(business=business)
    if intent == YES:
        return YES_REPLY
    if intent == NO:
        # "Anything else?" "No.": the call is over
        return NO_AFTER_ANYTHING_ELSE.format(business=business) if last_message == THANKS_REPLY else NO_REPLY
    if intent == REPEAT:
        return last_message or NOTHING_TO_REPEAT
    if intent == IDENTITY:
        return IDENTITY_REPLY.format(business=business)
    assert intent == FILLER, intent
    return FILLER_REPLY


def ends_call(intent: str) -> bool:
    """Only a goodbye ends the call: after "anything else?" a "no" may still be followed by a question."""
    return intent == GOODBYE
