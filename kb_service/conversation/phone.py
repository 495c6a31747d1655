"""A phone number said or typed in a turn: "415-555-0123", or spoken digits ("five five five, zero one two")."""

from __future__ import annotations

import re

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "to": "2", "too": "2",
    "three": "3", "four": "4", "for": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_REPEATS = {"double": 2, "triple": 3}
MIN_DIGITS, MAX_DIGITS = 7, 15


def phone_in(text: str) -> str | None:
    """The number in the turn, as digits (with a leading + if given), or None if it holds none."""
    plus = "+" if re.search(r"(?:^|\s)\+\s*\d", text) else ""
    digits: list[str] = []
    repeat = 1
    for token in re.findall(r"\d+|[a-z]+", text.lower()):
        if token.isdigit():
            digits.append(token * repeat if len(token) == 1 else token)
        elif token in _REPEATS:
            repeat = _REPEATS[token]
            continue
        elif token in _DIGIT_WORDS and (token not in ("o", "oh", "to", "too", "for") or digits):
            digits.append(_DIGIT_WORDS[token] * repeat)
        repeat = 1
    number = "".join(digits)
    return plus + number if MIN_DIGITS <= len(number) <= MAX_DIGITS else None
