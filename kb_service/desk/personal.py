"""Answers meant for one caller: "Yes Jane, 3pm tomorrow with Maria is confirmed; card ending 4242".

Such an answer is not learned unless the supervisor says so, and goes only to the caller who asked, not to every
caller who joined the request. The checks are deliberately simple and err on the side of "personal":

- a name: a capitalised word right after a greeting or reply word ("Hi", "Hello", "Hey", "Dear", "Yes", "No",
  "Thanks", "Thank you", "Sure", "Okay"), or the name a waiting caller gave;
- digits of a card or phone number: a run of 4 digits or more ("4242", "555-0199" counts by its "0199");
- an appointment: a clock time ("3pm", "3:30", "10 am") in an answer that also holds a date word ("today",
  "tonight", "tomorrow", "this/next/on <weekday>", a month with a day, or "12/9")."""

from __future__ import annotations

import re
from collections.abc import Sequence

_GREETING = re.compile(r"\b(?i:hi|hello|hey|dear|yes|no|thanks|thank you|sure|okay|ok)\b[\s,!.:;-]+([A-Z][a-z]+)")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_DIGITS = re.compile(r"\d{4,}")
_TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm)\b|\b\d{1,2}:\d{2}\b", re.IGNORECASE)
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b(?:today|tonight|tomorrow|(?:this|next|on)\s+{_WEEKDAY}|{_MONTH}\s+\d{{1,2}}\b|\d{{1,2}}\s+{_MONTH}"
    r"|\d{1,2}/\d{1,2}\b)",
    re.IGNORECASE,
)
# Words a greeting may be followed by that are not names ("Yes, We open at 9" is not about a "We").
_NOT_NAMES = {"we", "you", "it", "the", "that", "this", "there", "our", "your", "i", "a", "an", "sorry", "please"}


def reasons(answer: str, caller_names: Sequence[str | None] = ()) -> list[str]:
    """Why `answer` looks personal, one plain sentence per reason; empty when it does not."""
    found = []
    names = [m.group(1) for m in _GREETING.finditer(answer) if m.group(1).lower() not in _NOT_NAMES]
    words = {w.lower(): w for w in _WORD.findall(answer)}  # caller names are compared as words, never as patterns
    for given in caller_names:
        for word in _WORD.findall(given or ""):
            if len(word) >= 2 and word.lower() not in _NOT_NAMES and word.lower() in words:
                names.append(words[word.lower()])
    if names:
        found.append(f"it names a person ({', '.join(dict.fromkeys(names))})")
    if digits := _DIGITS.findall(answer):
        found.append(f"it holds digits of a card or phone number ({', '.join(dict.fromkeys(digits))})")
    time, date = _TIME.search(answer), _DATE.search(answer)
    if time and date:
        found.append(f"it holds an appointment time ({date.group(0)}, {time.group(0)})")
    return found
