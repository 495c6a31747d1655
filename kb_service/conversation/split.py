"""Two questions in one turn: "how much is a cut and do you take cards?", "Where are you? When do you open?".

Found from the words alone, before the model runs, so the two parts are embedded in the ask's own batch (and
a turn with no second question costs nothing)."""

from __future__ import annotations

import re

from kb_service.conversation.intents import words

_ASKS = (
    r"(?:do|does|can|could|would|will|is|are|have|has|what|what's|whats|how|when|where|which|who|why|should|"
    r"may|any)"
)
_JOINED = re.compile(
    rf"^(?P<first>.+?)(?:,\s*|\s+)(?:and|also|plus|oh and)\s+(?:also\s+)?(?P<second>{_ASKS}\b.+)$", re.I
)
_ASKED = re.compile(rf"^\W*(?:(?:hi|hello|hey|thanks|ok|okay|so|um|and)\W+)*{_ASKS}\b", re.I)
MIN_WORDS = 3


def two_questions(text: str) -> tuple[str, str] | None:
    """The turn's two questions, or None if it asks one (or more than two: those go to the supervisor whole)."""
    marks = [m.end() for m in re.finditer(r"\?+", text.strip())]
    if len(marks) == 2 and marks[1] == len(text.strip()):
        first, second = text.strip()[: marks[0]], text.strip()[marks[0] :]
        return _both(first, second)
    if len(marks) > 1:
        return None
    match = _JOINED.match(text.strip())
    if match is None or not _ASKED.match(match["first"]):
        return None
    return _both(match["first"] + "?", match["second"])


def _both(first: str, second: str) -> tuple[str, str] | None:
    first, second = first.strip(" ,"), second.strip(" ,")
    if len(words(first)) < MIN_WORDS or len(words(second)) < MIN_WORDS:
        return None
    return first, second
